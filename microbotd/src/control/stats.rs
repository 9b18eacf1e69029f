//! The `Stats` service: the delivery log summed per UTC day, account or
//! template over a window of slots (see [`crate::stats`] for what each
//! number counts). Read-only; open to operators.

use microbot_proto::convert::timestamp;
use microbot_proto::v1::{self, stats_server::Stats};
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::stats::{By, Row, summarize};
use crate::store::to_ms;

use super::error::ApiError;

/// The window when the request names none: 30 days.
pub const DEFAULT_SINCE_SECONDS: i64 = 30 * 86_400;

pub struct StatsService {
    ctx: Context,
}

impl StatsService {
    pub fn new(ctx: Context) -> Self {
        StatsService { ctx }
    }
}

fn row_to_proto(r: Row) -> v1::StatsRow {
    let (template_id, template) = r.template.unwrap_or_default();
    v1::StatsRow {
        day: r.day.map(|d| d.to_string()).unwrap_or_default(),
        account: r.account.unwrap_or_default(),
        template_id,
        template,
        sent: r.sent,
        failed: r.failed,
        missed: r.missed,
        cancelled: r.cancelled,
        open: r.open,
        flood_waits: r.flood_waits,
        flood_wait_seconds: r.flood_wait_seconds,
        lateness_p50_ms: r.lateness_p50_ms,
        lateness_p95_ms: r.lateness_p95_ms,
        kind: r.kind.unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl Stats for StatsService {
    async fn get_stats(
        &self,
        req: Request<v1::GetStatsRequest>,
    ) -> Result<Response<v1::GetStatsResponse>, Status> {
        let r = req.into_inner();
        let by = By::parse(r.by.trim()).ok_or_else(|| {
            ApiError::invalid(
                "by",
                format!("{:?} is not one of day, account, template", r.by),
            )
        })?;
        if r.since_seconds < 0 {
            return Err(ApiError::invalid("since", "must not be negative").into());
        }
        // More than ten years is a typo, and chrono's range is finite.
        let seconds = match r.since_seconds {
            0 => DEFAULT_SINCE_SECONDS,
            s if s > 10 * 366 * 86_400 => {
                return Err(ApiError::invalid("since", "at most 10 years").into());
            }
            s => s,
        };
        let now = self.ctx.now();
        let since = now - chrono::Duration::seconds(seconds);
        let account = Some(r.account.trim()).filter(|s| !s.is_empty());
        let store = &self.ctx.store;
        let counts = store
            .stats_counts(to_ms(since), account)
            .await
            .map_err(ApiError::from)?;
        let lateness = store
            .stats_lateness(to_ms(since), account)
            .await
            .map_err(ApiError::from)?;
        let rows = summarize(by, since, now, &counts, &lateness);
        Ok(Response::new(v1::GetStatsResponse {
            rows: rows.into_iter().map(row_to_proto).collect(),
            since: Some(timestamp(since)),
        }))
    }
}
