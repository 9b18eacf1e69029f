//! The gRPC control API on the Unix socket: one file per service, one
//! interceptor ([`guard`]) admitting callers by the credentials [`peer`]
//! reads from each connection (SO_PEERCRED, SO_PEERGROUPS) and checking the
//! protocol version, one error mapping ([`error`]), a slow-call log
//! ([`slow`]), plus `grpc.health.v1` and server reflection for stock clients.

pub mod account_login;
pub mod account_manage;
pub mod accounts;
pub mod audit;
pub mod backup;
pub mod caller;
pub mod cron;
pub mod deliveries;
pub mod error;
pub mod guard;
pub mod login_limit;
pub mod maintenance;
pub(crate) mod peer;
pub mod scheduler;
pub mod slow;
pub mod system;
pub mod template_apply;
pub mod templates;

use std::future::Future;

use microbot_proto::v1::accounts_server::AccountsServer;
use microbot_proto::v1::backup_server::BackupServer;
use microbot_proto::v1::deliveries_server::DeliveriesServer;
use microbot_proto::v1::maintenance_server::MaintenanceServer;
use microbot_proto::v1::scheduler_server::SchedulerServer;
use microbot_proto::v1::schedules_server::SchedulesServer;
use microbot_proto::v1::system_server::SystemServer;
use microbot_proto::v1::templates_server::TemplatesServer;
use tonic::service::InterceptorLayer;
use tonic::transport::Server;

use crate::context::Context;

use self::caller::AccessPolicy;
use self::guard::Guard;
use self::slow::SlowCallLayer;

/// Largest request message most services accept: names, ids, one upload
/// chunk (256 KiB). Bigger is refused with OUT_OF_RANGE before it is read.
const REQUEST_LIMIT: usize = 1 << 20;
/// `Templates` takes a whole template file in `template apply` (the CLI
/// reads at most 16 MiB of it).
const TEMPLATES_REQUEST_LIMIT: usize = 17 << 20;

/// Serves every control service on `listener` until `shutdown` resolves,
/// then finishes in-flight calls and returns.
pub async fn serve(
    ctx: Context,
    listener: tokio::net::UnixListener,
    policy: AccessPolicy,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<SystemServer<system::SystemService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(microbot_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("embedded descriptor sets are valid");
    let guard = Guard::new(policy, ctx.clone());
    Server::builder()
        .layer(SlowCallLayer {
            live: ctx.live.clone(),
        })
        .layer(InterceptorLayer::new(move |req| guard.check(req)))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(
            SystemServer::new(system::SystemService::new(ctx.clone()))
                .max_decoding_message_size(REQUEST_LIMIT),
        )
        .add_service(
            AccountsServer::new(accounts::AccountsService::new(ctx.clone()))
                .max_decoding_message_size(REQUEST_LIMIT),
        )
        .add_service(
            TemplatesServer::new(templates::TemplatesService::new(ctx.clone()))
                .max_decoding_message_size(TEMPLATES_REQUEST_LIMIT),
        )
        .add_service(
            SchedulesServer::new(cron::SchedulesService::new(ctx.clone()))
                .max_decoding_message_size(REQUEST_LIMIT),
        )
        .add_service(
            SchedulerServer::new(scheduler::SchedulerService::new(ctx.clone()))
                .max_decoding_message_size(REQUEST_LIMIT),
        )
        .add_service(
            DeliveriesServer::new(deliveries::DeliveriesService::new(ctx.clone()))
                .max_decoding_message_size(REQUEST_LIMIT),
        )
        .add_service(
            MaintenanceServer::new(maintenance::MaintenanceService::new(ctx.clone()))
                .max_decoding_message_size(REQUEST_LIMIT),
        )
        .add_service(
            BackupServer::new(backup::BackupService::new(ctx.clone()))
                .max_decoding_message_size(REQUEST_LIMIT),
        )
        .serve_with_incoming_shutdown(peer::incoming(listener), shutdown)
        .await
}
