//! The `System` service: `Health` and `Status`.

use microbot_proto::PROTOCOL_VERSION;
use microbot_proto::convert::{timestamp, timestamp_ms};
use microbot_proto::v1::{self, system_server::System};
use tonic::{Request, Response, Status};

use crate::context::Context;

use super::error::ApiError;

pub struct SystemService {
    ctx: Context,
}

impl SystemService {
    pub fn new(ctx: Context) -> Self {
        SystemService { ctx }
    }
}

#[tonic::async_trait]
impl System for SystemService {
    async fn health(
        &self,
        _req: Request<v1::HealthRequest>,
    ) -> Result<Response<v1::HealthResponse>, Status> {
        let mut checks = vec![v1::HealthCheck {
            name: "daemon".into(),
            ok: true,
            detail: format!("microbotd {} up", env!("CARGO_PKG_VERSION")),
        }];
        checks.push(match crate::maintenance::db::probe(&self.ctx.store).await {
            Ok(c) => v1::HealthCheck {
                name: "database".into(),
                ok: true,
                detail: format!(
                    "{} reachable in {} ms",
                    self.ctx.store.backend().as_str(),
                    c.latency.as_millis()
                ),
            },
            Err(detail) => v1::HealthCheck {
                name: "database".into(),
                ok: false,
                detail,
            },
        });
        let healthy = checks.iter().all(|c| c.ok);
        Ok(Response::new(v1::HealthResponse { healthy, checks }))
    }

    async fn status(
        &self,
        _req: Request<v1::StatusRequest>,
    ) -> Result<Response<v1::StatusResponse>, Status> {
        let store = &self.ctx.store;
        let counts = store.counts().await.map_err(ApiError::from)?;
        let schema_version = store.schema_version().await.map_err(ApiError::from)?;
        let next = store.next_slots(5).await.map_err(ApiError::from)?;
        Ok(Response::new(v1::StatusResponse {
            version: env!("CARGO_PKG_VERSION").into(),
            protocol: PROTOCOL_VERSION,
            started_at: Some(timestamp(self.ctx.started_at)),
            uptime_seconds: self.ctx.started.elapsed().as_secs(),
            backend: store.backend().as_str().into(),
            schema_version,
            accounts: counts.accounts,
            templates: counts.templates,
            active_templates: counts.active_templates,
            pending_deliveries: counts.pending_deliveries,
            next_sends: next
                .into_iter()
                .map(|n| v1::NextSend {
                    template_id: n.template_id,
                    template_name: n.template_name,
                    account: n.account,
                    due: Some(timestamp_ms(n.due_ms)),
                })
                .collect(),
            telegram_mode: self.ctx.config.telegram.mode.as_str().into(),
            node_id: self.ctx.leases.node_id().into(),
        }))
    }
}
