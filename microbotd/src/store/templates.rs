//! Templates and their ordered target lists.
//!
//! What the dispatcher relies on: `schedule_kind` is `cron` or `every`;
//! `schedule_expr` the cron text or the canonical interval (`1h30m`);
//! `timezone` an IANA name; `anchor_at` the origin of `every` schedules;
//! `next_slot` the durable next fire (NULL when none). Writes go through a
//! [`Tx`] so a template and its targets change together.

use std::collections::HashMap;

use super::deliveries::Unclaim;
use super::states::{DeliveryState, Misfire, ScheduleKind};
use super::tx::{Tx, on_tx};
use super::{Store, StoreError, on_pool};
use crate::telegram::Attachment;

/// One `templates` row with its account's name and its chats in order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TemplateRow {
    pub id: i64,
    pub account_id: i64,
    pub account: String,
    pub name: String,
    pub text: String,
    pub parse_mode: String,
    pub schedule_kind: ScheduleKind,
    pub schedule_expr: String,
    pub timezone: String,
    pub anchor_at: i64,
    pub active: bool,
    pub misfire: Misfire,
    pub next_slot: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The send options' stored form ([`crate::templates::SendOptions`]).
    pub send_options: String,
    /// Canonical chat specs by position (from `template_targets`).
    #[sqlx(skip)]
    pub chats: Vec<String>,
    /// Files sent with the text, in order (from `template_media`).
    #[sqlx(skip)]
    pub attachments: Vec<Attachment>,
}

/// Everything a create or update writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateData {
    pub name: String,
    pub text: String,
    pub parse_mode: String,
    pub schedule_kind: ScheduleKind,
    pub schedule_expr: String,
    pub timezone: String,
    pub anchor_at: i64,
    pub active: bool,
    pub misfire: Misfire,
    pub next_slot: Option<i64>,
    pub chats: Vec<String>,
    pub send_options: String,
    /// In order; each file's bytes are already stored ([`Tx::media_put`]).
    pub attachments: Vec<Attachment>,
}

const SELECT: &str = "SELECT t.id, t.account_id, a.name AS account, t.name, t.text, t.parse_mode, \
     t.schedule_kind, t.schedule_expr, t.timezone, t.anchor_at, t.active, t.misfire, \
     t.next_slot, t.created_at, t.updated_at, t.send_options \
     FROM templates t JOIN accounts a ON a.id = t.account_id";

/// The filter both list queries share: optional account, optional active.
const FILTER: &str = "($1 IS NULL OR t.account_id = $1) AND ($2 = FALSE OR t.active = TRUE)";

fn name_taken(name: &str, e: sqlx::Error) -> StoreError {
    if e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
    {
        StoreError::Conflict(format!(
            "a template named {name:?} already exists for this account"
        ))
    } else {
        StoreError::Query(e)
    }
}

impl Store {
    /// One template with its chats.
    pub async fn template_get(&self, id: i64) -> Result<TemplateRow, StoreError> {
        let sql = format!("{SELECT} WHERE t.id = $1");
        let mut row =
            on_pool!(self, p => sqlx::query_as::<_, TemplateRow>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?
            .ok_or_else(|| StoreError::NotFound(format!("template {id}")))?;
        row.chats = on_pool!(self, p => sqlx::query_scalar::<_, String>(
            "SELECT g.spec FROM template_targets tt JOIN targets g ON g.id = tt.target_id
             WHERE tt.template_id = $1 ORDER BY tt.position"
        ).bind(id).fetch_all(p).await)?;
        row.attachments = self.template_attachments(id).await?;
        Ok(row)
    }

    /// Templates by account name then template name, each with its chats.
    pub async fn template_list(
        &self,
        account_id: Option<i64>,
        active_only: bool,
    ) -> Result<Vec<TemplateRow>, StoreError> {
        let sql = format!("{SELECT} WHERE {FILTER} ORDER BY a.name, t.name");
        let mut rows = on_pool!(self, p => sqlx::query_as::<_, TemplateRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id).bind(active_only).fetch_all(p).await)?;
        let sql = format!(
            "SELECT tt.template_id, g.spec FROM template_targets tt
             JOIN targets g ON g.id = tt.target_id JOIN templates t ON t.id = tt.template_id
             WHERE {FILTER} ORDER BY tt.template_id, tt.position"
        );
        let pairs: Vec<(i64, String)> = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(account_id).bind(active_only).fetch_all(p).await)?;
        let mut chats: HashMap<i64, Vec<String>> = HashMap::new();
        for (id, spec) in pairs {
            chats.entry(id).or_default().push(spec);
        }
        let mut attachments = self.attachments_all().await?;
        for r in &mut rows {
            r.chats = chats.remove(&r.id).unwrap_or_default();
            r.attachments = attachments.remove(&r.id).unwrap_or_default();
        }
        Ok(rows)
    }

    /// Enables (with a fresh next slot) or disables a template; disabling
    /// leaves `next_slot` as it was.
    pub async fn template_set_active(
        &self,
        id: i64,
        active: bool,
        next_slot: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let n = if active {
            on_tx!(&mut tx, c => sqlx::query(
                "UPDATE templates SET active = TRUE, next_slot = $2, updated_at = $3 WHERE id = $1"
            ).bind(id).bind(next_slot).bind(now_ms).execute(&mut *c).await?.rows_affected())
        } else {
            let n = on_tx!(&mut tx, c => sqlx::query(
                "UPDATE templates SET active = FALSE, updated_at = $2 WHERE id = $1"
            ).bind(id).bind(now_ms).execute(&mut *c).await?.rows_affected());
            tx.deliveries_unclaim(
                Unclaim::Template(id),
                now_ms,
                "cancelled: the template was disabled before this slot",
                true,
            )
            .await?;
            n
        };
        if n == 0 {
            return Err(StoreError::NotFound(format!("template {id}")));
        }
        tx.commit().await
    }
}

impl Tx {
    /// One template with its chats, read inside the transaction; on
    /// PostgreSQL the row stays locked until the transaction ends (open it
    /// with [`Store::begin_write`]).
    pub async fn template_get(&mut self, id: i64) -> Result<TemplateRow, StoreError> {
        let mut row = match self {
            Tx::Sqlite(t) => {
                sqlx::query_as::<_, TemplateRow>(sqlx::AssertSqlSafe(format!(
                    "{SELECT} WHERE t.id = $1"
                )))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
            }
            Tx::Postgres(t) => {
                sqlx::query_as::<_, TemplateRow>(sqlx::AssertSqlSafe(format!(
                    "{SELECT} WHERE t.id = $1 FOR UPDATE OF t"
                )))
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
            }
        }
        .ok_or_else(|| StoreError::NotFound(format!("template {id}")))?;
        row.chats = on_tx!(self, c => sqlx::query_scalar::<_, String>(
            "SELECT g.spec FROM template_targets tt JOIN targets g ON g.id = tt.target_id
             WHERE tt.template_id = $1 ORDER BY tt.position"
        ).bind(id).fetch_all(&mut *c).await)?;
        row.attachments = self.template_attachments(id).await?;
        Ok(row)
    }

    /// Inserts a template and its targets; a taken (account, name) is a conflict.
    pub async fn template_insert(
        &mut self,
        account_id: i64,
        t: &TemplateData,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        let id: Option<i64> = on_tx!(self, c => sqlx::query_scalar(
            "INSERT INTO templates (account_id, name, text, parse_mode, schedule_kind,
                 schedule_expr, timezone, anchor_at, active, misfire, next_slot, created_at, updated_at,
                 send_options)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)
             ON CONFLICT (account_id, name) DO NOTHING RETURNING id"
        )
        .bind(account_id).bind(&t.name).bind(&t.text).bind(&t.parse_mode)
        .bind(t.schedule_kind).bind(&t.schedule_expr).bind(&t.timezone).bind(t.anchor_at)
        .bind(t.active).bind(t.misfire).bind(t.next_slot).bind(now_ms).bind(&t.send_options)
        .fetch_optional(&mut *c).await)?;
        let id = id.ok_or_else(|| {
            StoreError::Conflict(format!(
                "a template named {:?} already exists for this account",
                t.name
            ))
        })?;
        self.template_set_targets(id, account_id, &t.chats).await?;
        if !t.attachments.is_empty() {
            self.template_set_attachments(id, &t.attachments).await?;
        }
        Ok(id)
    }

    /// Overwrites a template's fields and target list. Rows claimed ahead
    /// of their slot are cancelled (they hold the old text, chats or
    /// schedule); when the schedule stays the same, `next_slot` moves back
    /// to the earliest of them, so those slots are claimed again — with
    /// their original `random_id` — under the new content.
    pub async fn template_update(
        &mut self,
        id: i64,
        account_id: i64,
        t: &TemplateData,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.template_write(id, account_id, t, None, now_ms).await
    }

    /// [`Tx::template_update`], except that `next_slot` is written only
    /// while it still holds `read_next_slot`, the value the new one was
    /// computed from: a slot the dispatcher claimed meanwhile is never
    /// handed out again.
    pub async fn template_update_from(
        &mut self,
        id: i64,
        account_id: i64,
        t: &TemplateData,
        read_next_slot: Option<i64>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.template_write(id, account_id, t, Some(read_next_slot), now_ms)
            .await
    }

    async fn template_write(
        &mut self,
        id: i64,
        account_id: i64,
        t: &TemplateData,
        guard: Option<Option<i64>>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let before: Option<(String, String, String, i64, bool)> = on_tx!(self, c => sqlx::query_as(
            "SELECT schedule_kind, schedule_expr, timezone, anchor_at, active
             FROM templates WHERE id = $1"
        ).bind(id).fetch_optional(&mut *c).await)?;
        let Some(before) = before else {
            return Err(StoreError::NotFound(format!("template {id}")));
        };
        let same_schedule = before
            == (
                t.schedule_kind.as_str().to_owned(),
                t.schedule_expr.clone(),
                t.timezone.clone(),
                t.anchor_at,
                t.active,
            );
        let n = on_tx!(self, c => sqlx::query(
            "UPDATE templates SET name = $2, text = $3, parse_mode = $4, schedule_kind = $5,
                 schedule_expr = $6, timezone = $7, anchor_at = $8, active = $9, misfire = $10,
                 next_slot = CASE WHEN $13 = FALSE OR next_slot IS NOT DISTINCT FROM $14
                                  THEN $11 ELSE next_slot END,
                 updated_at = $12, send_options = $15
             WHERE id = $1"
        )
        .bind(id).bind(&t.name).bind(&t.text).bind(&t.parse_mode)
        .bind(t.schedule_kind).bind(&t.schedule_expr).bind(&t.timezone).bind(t.anchor_at)
        .bind(t.active).bind(t.misfire).bind(t.next_slot).bind(now_ms)
        .bind(guard.is_some()).bind(guard.flatten()).bind(&t.send_options)
        .execute(&mut *c).await.map(|r| r.rows_affected()))
        .map_err(|e| name_taken(&t.name, e))?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("template {id}")));
        }
        // Rows claimed ahead hold the old text, chats or schedule: they are
        // cancelled; with the same schedule their slots are planned again
        // (next_slot moves back to the earliest), keeping their random_id.
        self.deliveries_unclaim(
            Unclaim::Template(id),
            now_ms,
            "cancelled: the template was edited before this slot",
            same_schedule,
        )
        .await?;
        self.template_set_targets(id, account_id, &t.chats).await?;
        if self.template_attachments(id).await? != t.attachments {
            self.template_set_attachments(id, &t.attachments).await?;
        }
        Ok(())
    }

    /// Replaces the target list with `chats`, in order: three set-based
    /// statements whatever the number of chats (a statement per chat made
    /// a large template hold the database for seconds).
    async fn template_set_targets(
        &mut self,
        id: i64,
        account_id: i64,
        chats: &[String],
    ) -> Result<(), StoreError> {
        on_tx!(self, c => sqlx::query("DELETE FROM template_targets WHERE template_id = $1")
            .bind(id).execute(&mut *c).await.map(drop))?;
        match self {
            Tx::Sqlite(t) => {
                // SQLite has no arrays: the chats travel as one JSON array.
                let list = serde_json::to_string(chats)
                    .map_err(|e| StoreError::Setup(format!("chat list: {e}")))?;
                sqlx::query(
                    "INSERT INTO targets (account_id, spec)
                     SELECT $1, value FROM json_each($2) WHERE TRUE
                     ON CONFLICT (account_id, spec) DO NOTHING",
                )
                .bind(account_id)
                .bind(&list)
                .execute(&mut **t)
                .await?;
                sqlx::query(
                    "INSERT INTO template_targets (template_id, target_id, position)
                     SELECT $1, g.id, j.key FROM json_each($2) j
                     JOIN targets g ON g.account_id = $3 AND g.spec = j.value",
                )
                .bind(id)
                .bind(&list)
                .bind(account_id)
                .execute(&mut **t)
                .await?;
            }
            Tx::Postgres(t) => {
                sqlx::query(
                    "INSERT INTO targets (account_id, spec)
                     SELECT $1, s FROM UNNEST($2::text[]) AS s
                     ON CONFLICT (account_id, spec) DO NOTHING",
                )
                .bind(account_id)
                .bind(chats)
                .execute(&mut **t)
                .await?;
                sqlx::query(
                    "INSERT INTO template_targets (template_id, target_id, position)
                     SELECT $1, g.id, u.pos - 1
                     FROM UNNEST($2::text[]) WITH ORDINALITY AS u(spec, pos)
                     JOIN targets g ON g.account_id = $3 AND g.spec = u.spec",
                )
                .bind(id)
                .bind(chats)
                .bind(account_id)
                .execute(&mut **t)
                .await?;
            }
        }
        Ok(())
    }

    /// Deletes a template: its pending deliveries become `cancelled` (the
    /// rows stay, as the message log), then its targets and the template go.
    /// Returns how many deliveries were cancelled.
    pub async fn template_delete(&mut self, id: i64, now_ms: i64) -> Result<u64, StoreError> {
        let (cancelled, n) = on_tx!(self, c => {
            let cancel = format!(
                "UPDATE deliveries SET state = {}, updated_at = $2,
                        last_error = 'cancelled: the template was deleted before this was sent'
                 WHERE template_id = $1 AND state = {}",
                DeliveryState::Cancelled.sql(),
                DeliveryState::Pending.sql()
            );
            let cancelled = sqlx::query(sqlx::AssertSqlSafe(cancel))
                .bind(id).bind(now_ms).execute(&mut *c).await?.rows_affected();
            sqlx::query("DELETE FROM template_targets WHERE template_id = $1")
                .bind(id).execute(&mut *c).await?;
            sqlx::query("DELETE FROM template_media WHERE template_id = $1")
                .bind(id).execute(&mut *c).await?;
            let n = sqlx::query("DELETE FROM templates WHERE id = $1")
                .bind(id).execute(&mut *c).await?.rows_affected();
            (cancelled, n)
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("template {id}")));
        }
        Ok(cancelled)
    }
}

#[cfg(test)]
mod tests;
