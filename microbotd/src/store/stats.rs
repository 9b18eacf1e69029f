//! What `microbotctl stats` reads: deliveries grouped by account, template,
//! UTC day and state over a window of slots, the lateness of sent ones, and
//! the flood-wait log kept on each delivery (migration 0005).

use super::states::DeliveryState;
use super::{Store, StoreError, on_pool};

/// Deliveries of one (account, template, UTC day, state); a row standing
/// for many missed slots (migration 0009) counts each of them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StateCount {
    pub account_id: i64,
    /// Empty when the account was removed.
    pub account: String,
    pub template_id: i64,
    /// Empty when the template was deleted.
    pub template: String,
    /// What the template sends now: text | photo | video | document |
    /// album (`text` once it was deleted).
    pub kind: String,
    /// Days since the Unix epoch (UTC) of the slot.
    pub day: i64,
    pub state: DeliveryState,
    pub deliveries: i64,
    pub flood_waits: i64,
    pub flood_wait_seconds: i64,
}

/// One sent delivery's lateness: `sent_at - slot`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Lateness {
    pub account_id: i64,
    pub template_id: i64,
    pub day: i64,
    pub late_ms: i64,
}

impl Store {
    /// Deliveries with a slot at or after `since_ms`, counted by account,
    /// template, day and state; only `account` when given.
    pub async fn stats_counts(
        &self,
        since_ms: i64,
        account: Option<&str>,
    ) -> Result<Vec<StateCount>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, StateCount>(
            "SELECT d.account_id, COALESCE(a.name, '') AS account,
                    d.template_id, COALESCE(t.name, '') AS template,
                    COALESCE((SELECT CASE WHEN COUNT(*) > 1 THEN 'album' ELSE MIN(m.kind) END
                              FROM template_media m WHERE m.template_id = d.template_id),
                             'text') AS kind,
                    d.slot / 86400000 AS day, d.state,
                    CAST(SUM(d.slots) AS BIGINT) AS deliveries,
                    CAST(COALESCE(SUM(d.flood_waits), 0) AS BIGINT) AS flood_waits,
                    CAST(COALESCE(SUM(d.flood_wait_seconds), 0) AS BIGINT) AS flood_wait_seconds
             FROM deliveries d
             LEFT JOIN accounts a ON a.id = d.account_id
             LEFT JOIN templates t ON t.id = d.template_id
             WHERE d.slot >= $1 AND ($2 IS NULL OR a.name = $2)
             GROUP BY d.account_id, a.name, d.template_id, t.name, d.slot / 86400000, d.state"
        )
        .bind(since_ms)
        .bind(account)
        .fetch_all(p).await)?)
    }

    /// `sent_at - slot` of every sent delivery in the same window.
    pub async fn stats_lateness(
        &self,
        since_ms: i64,
        account: Option<&str>,
    ) -> Result<Vec<Lateness>, StoreError> {
        let sql = format!(
            "SELECT d.account_id, d.template_id, d.slot / 86400000 AS day, d.sent_at - d.slot AS late_ms
             FROM deliveries d
             LEFT JOIN accounts a ON a.id = d.account_id
             WHERE d.slot >= $1 AND d.state = {} AND d.sent_at IS NOT NULL
               AND ($2 IS NULL OR a.name = $2)",
            DeliveryState::Sent.sql()
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, Lateness>(sqlx::AssertSqlSafe(sql))
        .bind(since_ms)
        .bind(account)
        .fetch_all(p).await)?,
        )
    }

    /// Notes a FLOOD_WAIT of `seconds` on the delivery sent with
    /// `random_id`; false when no delivery has it (a send outside the outbox).
    pub async fn record_flood_wait(
        &self,
        account_id: i64,
        random_id: i64,
        seconds: u32,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => sqlx::query(
            "UPDATE deliveries SET flood_waits = flood_waits + 1,
                    flood_wait_seconds = flood_wait_seconds + $3
             WHERE account_id = $1 AND random_id = $2"
        )
        .bind(account_id)
        .bind(random_id)
        .bind(i64::from(seconds))
        .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(done > 0)
    }
}
