//! The gRPC control API on the Unix socket: one file per service, one
//! interceptor ([`guard`]) admitting callers by the credentials [`peer`]
//! reads from each connection (SO_PEERCRED, SO_PEERGROUPS) and checking the
//! protocol version, one error mapping ([`error`]), a slow-call log
//! ([`slow`]), plus `grpc.health.v1` and server reflection for stock clients.
//! The same services can also be served remotely over mutual TLS ([`remote`]).

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod caller;
pub mod cluster;
pub(crate) mod convert;
pub mod cron;
pub mod deliveries;
pub mod error;
pub mod guard;
pub mod maintenance;
pub(crate) mod peer;
pub mod reflection;
pub mod remote;
pub mod scheduler;
pub mod slow;
pub mod stats;
pub mod system;
pub mod templates;

use std::future::Future;

use microbot_proto::v1::accounts_server::AccountsServer;
use microbot_proto::v1::backup_server::BackupServer;
use microbot_proto::v1::cluster_server::ClusterServer;
use microbot_proto::v1::deliveries_server::DeliveriesServer;
use microbot_proto::v1::maintenance_server::MaintenanceServer;
use microbot_proto::v1::scheduler_server::SchedulerServer;
use microbot_proto::v1::schedules_server::SchedulesServer;
use microbot_proto::v1::stats_server::StatsServer;
use microbot_proto::v1::system_server::SystemServer;
use microbot_proto::v1::templates_server::TemplatesServer;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::InterceptorLayer;
use tonic::transport::Server;

use crate::context::Context;

use self::caller::AccessPolicy;
use self::guard::Guard;
use self::slow::SlowCallLayer;

/// Adds every control service to a server builder (with its layers).
macro_rules! with_services {
    ($builder:expr, $ctx:expr, $health:expr) => {{
        let ctx: &Context = $ctx;
        let (reflection, reflection_v1alpha) = reflection::services();
        $builder
            .add_service($health)
            .add_service(reflection)
            .add_service(reflection_v1alpha)
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
                    .max_decoding_message_size(templates_request_limit(&ctx.config)),
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
            .add_service(
                StatsServer::new(stats::StatsService::new(ctx.clone()))
                    .max_decoding_message_size(REQUEST_LIMIT),
            )
            .add_service(
                ClusterServer::new(cluster::ClusterService::new(ctx.clone()))
                    .max_decoding_message_size(REQUEST_LIMIT),
            )
    }};
}

async fn health()
-> tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<SystemServer<system::SystemService>>()
        .await;
    health_service
}

/// Largest request message most services accept: names, ids, one upload
/// chunk (256 KiB). Bigger is refused with OUT_OF_RANGE before it is read.
const REQUEST_LIMIT: usize = 1 << 20;
/// `Templates` takes a whole template file in `template apply` (the CLI
/// reads at most 16 MiB of it).
const TEMPLATES_REQUEST_LIMIT: usize = 17 << 20;

/// `Templates` also takes a create or edit carrying a whole album: ten
/// files of `templates.max_media_bytes` each, beside the text. A bigger
/// request is refused before it is read; each file is then checked
/// against the cap, with a line naming it.
fn templates_request_limit(config: &crate::config::Config) -> usize {
    let files =
        crate::templates::attachments::MAX_ATTACHMENTS as u64 * config.templates.max_media_bytes;
    TEMPLATES_REQUEST_LIMIT.saturating_add(usize::try_from(files).unwrap_or(usize::MAX))
}

/// Serves every control service on `listener` until `shutdown` resolves,
/// then finishes in-flight calls and returns.
pub async fn serve(
    ctx: Context,
    listener: tokio::net::UnixListener,
    policy: AccessPolicy,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let guard = Guard::new(policy, ctx.clone());
    let mut builder = Server::builder()
        .layer(SlowCallLayer {
            live: ctx.live.clone(),
        })
        .layer(InterceptorLayer::new(move |req| guard.check(req)));
    with_services!(builder, &ctx, health().await)
        .serve_with_incoming_shutdown(peer::incoming(listener), shutdown)
        .await
}

/// Serves the same services on the remote listener over mutual TLS
/// (`[control] tcp_listen`) until `shutdown` resolves.
pub async fn serve_remote(
    ctx: Context,
    listener: tokio::net::TcpListener,
    tls: tonic::transport::ServerTlsConfig,
    policy: AccessPolicy,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let guard = Guard::with_remote(
        policy,
        remote::RemoteRoles::new(&ctx.config.control),
        ctx.clone(),
    );
    let mut builder = Server::builder()
        .tls_config(tls)?
        .layer(SlowCallLayer {
            live: ctx.live.clone(),
        })
        .layer(InterceptorLayer::new(move |req| guard.check(req)));
    with_services!(builder, &ctx, health().await)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
