//! Operator reads and writes around the dispatcher: per-account scheduler
//! status and start/stop, the delivery log and retrying a delivery.

use super::deliveries::Unclaim;
use super::states::{AccountState, DeliveryState};
use super::tx::on_tx;
use super::{Store, StoreError, on_pool};

/// One account's scheduler, as `scheduler status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SchedulerRow {
    pub id: i64,
    pub name: String,
    pub state: AccountState,
    pub scheduler_enabled: bool,
    pub flood_wait_until: Option<i64>,
    pub last_error: Option<String>,
    pub queued: i64,
    pub next_send: Option<i64>,
}

/// One delivery with its account, template and chat names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryView {
    pub id: i64,
    pub account: String,
    pub template_id: i64,
    pub template: Option<String>,
    pub chat: String,
    pub slot: i64,
    pub state: DeliveryState,
    pub attempts: i64,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
    pub message_id: Option<i64>,
    /// Slots the row stands for (more than 1: a long outage's range row).
    pub slots: i64,
    /// text | photo | video | document | album (`kind_sql!`).
    pub kind: String,
}

/// What a delivery `d` sends, for `deliveries list`: `album` when it was
/// sent as one (its other ids are stored), else what its template attaches
/// now (`text` without attachments or once the template is gone).
macro_rules! kind_sql {
    () => {
        "CASE WHEN d.album_ids IS NOT NULL THEN 'album' ELSE COALESCE(
            (SELECT CASE WHEN COUNT(*) > 1 THEN 'album' ELSE MIN(m.kind) END
             FROM template_media m WHERE m.template_id = d.template_id), 'text') END"
    };
}

const VIEW: &str = concat!(
    "SELECT d.id, a.name AS account, d.template_id, t.name AS template, g.spec AS chat,
        d.slot, d.state, d.attempts, d.sent_at, d.last_error, d.message_id, d.slots, ",
    kind_sql!(),
    " AS kind
     FROM deliveries d
     JOIN accounts a ON a.id = d.account_id
     JOIN targets g ON g.id = d.target_id
     LEFT JOIN templates t ON t.id = d.template_id"
);

impl Store {
    /// Every account's scheduler (or one, by name), by name.
    pub async fn scheduler_status(
        &self,
        account: Option<&str>,
    ) -> Result<Vec<SchedulerRow>, StoreError> {
        let sql = format!(
            "SELECT a.id, a.name, a.state, a.scheduler_enabled, a.flood_wait_until, a.last_error,
                    (SELECT COUNT(*) FROM deliveries d
                      WHERE d.account_id = a.id AND d.state IN {}) AS queued,
                    (SELECT MIN(t.next_slot) FROM templates t
                      WHERE t.account_id = a.id AND t.active = TRUE) AS next_send
             FROM accounts a WHERE (CAST($1 AS TEXT) IS NULL OR a.name = $1) ORDER BY a.name",
            DeliveryState::sql_list(DeliveryState::OPEN)
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SchedulerRow>(sqlx::AssertSqlSafe(sql))
            .bind(account).fetch_all(p).await)?,
        )
    }

    /// Starts or stops the schedulers of one account (by name) or all;
    /// returns the ids changed. An unknown account is `NotFound`.
    pub async fn scheduler_set_enabled(
        &self,
        account: Option<&str>,
        enabled: bool,
        now_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin().await?;
        let ids: Vec<i64> = on_tx!(&mut tx, c => sqlx::query_scalar(
            "UPDATE accounts SET scheduler_enabled = $1, updated_at = $2
             WHERE CAST($3 AS TEXT) IS NULL OR name = $3 RETURNING id"
        ).bind(enabled).bind(now_ms).bind(account).fetch_all(&mut *c).await)?;
        if let Some(name) = account.filter(|_| ids.is_empty()) {
            return Err(StoreError::NotFound(format!("account {name:?}")));
        }
        if !enabled {
            // Slots claimed ahead are planned again (as missed or sent, by
            // the misfire policy) when the scheduler starts.
            for id in &ids {
                tx.deliveries_unclaim(
                    Unclaim::Account(*id),
                    now_ms,
                    "cancelled: the account's scheduler was stopped before this slot",
                    true,
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// The delivery log, newest slot first, filtered.
    pub async fn deliveries_list(
        &self,
        account: Option<&str>,
        state: Option<DeliveryState>,
        since_ms: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, StoreError> {
        let sql = format!(
            "{VIEW} WHERE (CAST($1 AS TEXT) IS NULL OR a.name = $1)
               AND (CAST($2 AS TEXT) IS NULL OR d.state = $2)
               AND (CAST($3 AS BIGINT) IS NULL OR d.slot >= $3)
             ORDER BY d.slot DESC, d.id DESC LIMIT $4"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, DeliveryView>(sqlx::AssertSqlSafe(sql))
            .bind(account).bind(state).bind(since_ms).bind(limit).fetch_all(p).await)?,
        )
    }

    pub async fn delivery_by_id(&self, id: i64) -> Result<DeliveryView, StoreError> {
        let sql = format!("{VIEW} WHERE d.id = $1");
        on_pool!(self, p => sqlx::query_as::<_, DeliveryView>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?
        .ok_or_else(|| StoreError::NotFound(format!("delivery {id}")))
    }

    /// `failed`/`missed` → `pending` with a fresh attempt count and the SAME
    /// random_id (Telegram may have received it). Returns the account id,
    /// or `None` when the row is in another state or stands for many
    /// missed slots (one message cannot make up for them).
    pub async fn delivery_retry(&self, id: i64, now_ms: i64) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "UPDATE deliveries SET state = {}, attempts = 0, not_before = NULL,
                    last_error = NULL, updated_at = $2
             WHERE id = $1 AND state IN {} AND slots = 1
             RETURNING account_id",
            DeliveryState::Pending.sql(),
            DeliveryState::sql_list(&[DeliveryState::Failed, DeliveryState::Missed])
        );
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
            .bind(id).bind(now_ms).fetch_optional(p).await)?,
        )
    }
}
