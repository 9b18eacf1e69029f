//! The daily prune of the delivery log (`[retention] deliveries_days`,
//! 0 = keep forever): once shortly after start-up, then every 24 hours.
//! The last run is remembered in `daemon_state` for `doctor`.

use std::time::Duration;

use crate::context::Context;
use crate::store::{StoreError, to_ms};

/// How often the prune runs.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);
/// Rows per DELETE.
const BATCH: i64 = 1000;
/// The `daemon_state` key holding "<unix ms> <rows removed>" of the last run.
pub const LAST_RUN_KEY: &str = "retention.deliveries.last_run";

/// Prunes once: finished deliveries older than `deliveries_days`.
/// Returns how many rows went (0 when retention is off).
pub async fn prune_once(ctx: &Context) -> Result<u64, StoreError> {
    let days = ctx.config.retention.deliveries_days;
    if days == 0 {
        return Ok(0);
    }
    let now = to_ms(ctx.now());
    let cutoff = now - i64::from(days) * 86_400_000;
    let removed = ctx.store.prune_deliveries(cutoff, BATCH).await?;
    ctx.store
        .state_set(LAST_RUN_KEY, &format!("{now} {removed}"))
        .await?;
    tracing::info!(removed, days, "old finished deliveries pruned");
    Ok(removed)
}

/// The last run: (unix ms, rows removed).
pub async fn last_run(ctx: &Context) -> Result<Option<(i64, u64)>, StoreError> {
    Ok(ctx.store.state_get(LAST_RUN_KEY).await?.and_then(|v| {
        let (at, n) = v.split_once(' ')?;
        Some((at.parse().ok()?, n.parse().ok()?))
    }))
}

/// Runs forever: a prune now, then one per [`EVERY`]. A failed prune is
/// logged and tried again at the next turn.
pub async fn run(ctx: Context) {
    if ctx.config.retention.deliveries_days == 0 {
        tracing::info!("retention.deliveries_days = 0: deliveries are kept forever");
        return std::future::pending().await;
    }
    loop {
        if let Err(e) = prune_once(&ctx).await {
            tracing::warn!(error = %e, "pruning old deliveries failed; trying again in 24 h");
        }
        tokio::time::sleep(EVERY).await;
    }
}
