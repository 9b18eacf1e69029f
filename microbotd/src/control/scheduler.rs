//! The `Scheduler` service: per-account dispatcher status, and starting or
//! stopping an account's sending (persisted in `accounts.scheduler_enabled`).

use crate::store::states::AccountState;
use microbot_proto::convert::timestamp_ms;
use microbot_proto::v1::{self, scheduler_server::Scheduler};
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::events::Change;
use crate::store::scheduler_ops::SchedulerRow;
use crate::store::to_ms;

use super::audit::{audited, caller_of, require_admin};
use super::error::ApiError;

pub struct SchedulerService {
    ctx: Context,
}

impl SchedulerService {
    pub fn new(ctx: Context) -> Self {
        SchedulerService { ctx }
    }

    async fn status(&self, account: Option<&str>) -> Result<v1::SchedulerStatusResponse, ApiError> {
        let now = to_ms(self.ctx.now());
        let rows = self.ctx.store.scheduler_status(account).await?;
        if let (Some(name), true) = (account, rows.is_empty()) {
            return Err(ApiError::NotFound(format!("account {name:?} not found")));
        }
        Ok(v1::SchedulerStatusResponse {
            accounts: rows.iter().map(|r| row_to_proto(r, now)).collect(),
            last_heartbeat: self.ctx.heartbeat.last().map(timestamp_ms),
        })
    }

    async fn set(
        &self,
        req: Request<v1::SchedulerControlRequest>,
        enabled: bool,
    ) -> Result<Response<v1::SchedulerStatusResponse>, Status> {
        let caller = caller_of(&req)?;
        let verb = if enabled { "start" } else { "stop" };
        let r = req.into_inner();
        // docs/DESIGN.md: operators manage the schedulers of accounts; switching
        // every account at once (runbook 1.2, 4.3) is an admin's call.
        if r.all {
            require_admin(
                &self.ctx,
                &caller,
                &format!("scheduler.{verb}"),
                &format!("scheduler {verb} --all"),
            )
            .await?;
        }
        let target = if r.all {
            "all accounts".to_string()
        } else {
            format!("account {}", r.account)
        };
        let ctx = &self.ctx;
        audited(
            ctx,
            &caller,
            &format!("scheduler.{verb}"),
            Some(target),
            async {
                let account = match (r.all, r.account.trim()) {
                    (true, "") => None,
                    (false, "") => {
                        return Err(ApiError::invalid("account", "give --account NAME or --all"));
                    }
                    (true, _) => {
                        return Err(ApiError::invalid(
                            "account",
                            "give either --account or --all, not both",
                        ));
                    }
                    (false, name) => Some(name),
                };
                let ids = ctx
                    .store
                    .scheduler_set_enabled(account, enabled, to_ms(ctx.now()))
                    .await?;
                for id in &ids {
                    ctx.events.send(Change::Account(*id));
                }
                tracing::info!(accounts = ids.len(), enabled, "scheduler {verb}");
                Ok(Response::new(self.status(account).await?))
            },
        )
        .await
    }
}

/// The one-word state an operator reads: what stops this account sending.
pub fn scheduler_state(r: &SchedulerRow, now_ms: i64) -> String {
    if r.state != AccountState::Active {
        return r.state.as_str().to_owned();
    }
    if !r.scheduler_enabled {
        return "stopped".into();
    }
    if r.flood_wait_until.is_some_and(|u| u > now_ms) {
        return "flood_wait".into();
    }
    "running".into()
}

fn row_to_proto(r: &SchedulerRow, now_ms: i64) -> v1::AccountScheduler {
    v1::AccountScheduler {
        account: r.name.clone(),
        state: scheduler_state(r, now_ms),
        flood_wait_until: r.flood_wait_until.filter(|u| *u > now_ms).map(timestamp_ms),
        queued: r.queued,
        next_send: r.next_send.map(timestamp_ms),
        last_error: r.last_error.clone().unwrap_or_default(),
        account_state: v1::AccountState::from(r.state).into(),
    }
}

#[tonic::async_trait]
impl Scheduler for SchedulerService {
    async fn scheduler_status(
        &self,
        req: Request<v1::SchedulerStatusRequest>,
    ) -> Result<Response<v1::SchedulerStatusResponse>, Status> {
        let r = req.into_inner();
        let account = Some(r.account.trim()).filter(|s| !s.is_empty());
        Ok(Response::new(self.status(account).await?))
    }

    async fn start_scheduler(
        &self,
        req: Request<v1::SchedulerControlRequest>,
    ) -> Result<Response<v1::SchedulerStatusResponse>, Status> {
        self.set(req, true).await
    }

    async fn stop_scheduler(
        &self,
        req: Request<v1::SchedulerControlRequest>,
    ) -> Result<Response<v1::SchedulerStatusResponse>, Status> {
        self.set(req, false).await
    }
}
