//! The dispatcher's side of the templates table: loading the timer heap,
//! reading a template when it comes due, and claiming slots — inserting
//! their deliveries and advancing `templates.next_slot` in one transaction.
//!
//! Claims compare-and-swap `next_slot` (`WHERE next_slot = <the slot we
//! fired>`), so a stale heap entry, a second dispatcher or a concurrent edit
//! can never insert a slot twice; `UNIQUE(template_id, target_id, slot)` with
//! `ON CONFLICT DO NOTHING` is the second fence.

use std::collections::HashMap;

use super::{Store, StoreError, on_pool};

/// `1,2,3` for an `IN (…)` list. Only integers reach SQL this way, never
/// operator input, which is why building the text is safe.
fn id_list(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// What the dispatcher needs to fire one template.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FireTemplate {
    pub id: i64,
    pub account_id: i64,
    pub schedule_kind: String,
    pub schedule_expr: String,
    pub timezone: String,
    pub anchor_at: i64,
    pub misfire: String,
    pub active: bool,
    pub next_slot: Option<i64>,
    /// The account may send: state `active` and its scheduler started.
    pub dispatchable: bool,
}

/// A delivery row to create for one slot and target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDelivery {
    pub target_id: i64,
    pub slot: i64,
    /// `pending` (to send) or `missed`.
    pub state: &'static str,
    pub random_id: i64,
}

/// One template's fire: its new rows and where its schedule goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub template_id: i64,
    pub account_id: i64,
    /// The `next_slot` the dispatcher fired; the claim fails if it moved.
    pub expected_next_slot: i64,
    pub new_next_slot: Option<i64>,
    pub rows: Vec<NewDelivery>,
    /// Written to `last_error` of `missed` rows.
    pub missed_reason: String,
}

const DISPATCHABLE: &str = "a.state = 'active' AND a.scheduler_enabled = TRUE";

impl Store {
    /// (next_slot, template id) of every active template whose account may
    /// send: the dispatcher's heap, in one query.
    pub async fn dispatch_heap_load(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        let sql = format!(
            "SELECT t.next_slot, t.id FROM templates t JOIN accounts a ON a.id = t.account_id
             WHERE t.active = TRUE AND t.next_slot IS NOT NULL AND {DISPATCHABLE}"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql))
            .fetch_all(p).await)?,
        )
    }

    /// Like [`Store::dispatch_heap_load`] for one account's templates.
    pub async fn dispatch_heap_account(
        &self,
        account_id: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let sql = format!(
            "SELECT t.next_slot, t.id FROM templates t JOIN accounts a ON a.id = t.account_id
             WHERE t.account_id = $1 AND t.active = TRUE AND t.next_slot IS NOT NULL
               AND {DISPATCHABLE}"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql))
            .bind(account_id).fetch_all(p).await)?,
        )
    }

    /// Every account id (each gets a send worker).
    pub async fn dispatch_account_ids(&self) -> Result<Vec<i64>, StoreError> {
        Ok(
            on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT id FROM accounts ORDER BY id")
            .fetch_all(p).await)?,
        )
    }

    /// The template as the dispatcher fires it; `None` once deleted.
    pub async fn dispatch_template(&self, id: i64) -> Result<Option<FireTemplate>, StoreError> {
        let sql = format!(
            "SELECT t.id, t.account_id, t.schedule_kind, t.schedule_expr, t.timezone,
                    t.anchor_at, t.misfire, t.active, t.next_slot,
                    CASE WHEN {DISPATCHABLE} THEN TRUE ELSE FALSE END AS dispatchable
             FROM templates t JOIN accounts a ON a.id = t.account_id WHERE t.id = $1"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, FireTemplate>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?,
        )
    }

    /// [`Store::dispatch_template`] for many ids in one query (a burst of
    /// due templates must not cost a round trip each).
    pub async fn dispatch_templates(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, FireTemplate>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT t.id, t.account_id, t.schedule_kind, t.schedule_expr, t.timezone,
                    t.anchor_at, t.misfire, t.active, t.next_slot,
                    CASE WHEN {DISPATCHABLE} THEN TRUE ELSE FALSE END AS dispatchable
             FROM templates t JOIN accounts a ON a.id = t.account_id WHERE t.id IN ({})",
            id_list(ids)
        );
        let rows = on_pool!(self, p => sqlx::query_as::<_, FireTemplate>(sqlx::AssertSqlSafe(sql))
            .fetch_all(p).await)?;
        Ok(rows.into_iter().map(|t| (t.id, t)).collect())
    }

    /// [`Store::dispatch_targets`] for many templates in one query.
    pub async fn dispatch_targets_many(
        &self,
        template_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<i64>>, StoreError> {
        if template_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT template_id, target_id FROM template_targets
             WHERE template_id IN ({}) ORDER BY template_id, position",
            id_list(template_ids)
        );
        let rows = on_pool!(self, p => sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql))
            .fetch_all(p).await)?;
        let mut map: HashMap<i64, Vec<i64>> = HashMap::new();
        for (template_id, target_id) in rows {
            map.entry(template_id).or_default().push(target_id);
        }
        Ok(map)
    }

    /// Applies many claims in ONE transaction (a group commit: a burst of
    /// due templates costs one fsync). Returns, per claim, whether it won
    /// the compare-and-swap on `next_slot` (lost claims write nothing).
    pub async fn dispatch_claim(
        &self,
        claims: &[Claim],
        now_ms: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let mut won = Vec::with_capacity(claims.len());
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for c in claims {
                let moved = sqlx::query(
                    "UPDATE templates SET next_slot = $1 WHERE id = $2 AND next_slot = $3",
                )
                .bind(c.new_next_slot)
                .bind(c.template_id)
                .bind(c.expected_next_slot)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if moved != 1 {
                    won.push(false);
                    continue;
                }
                for r in &c.rows {
                    let error = (r.state == "missed").then_some(c.missed_reason.as_str());
                    sqlx::query(
                        "INSERT INTO deliveries (account_id, template_id, target_id, slot, state,
                                                 random_id, attempts, last_error, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $8)
                         ON CONFLICT (template_id, target_id, slot) DO NOTHING",
                    )
                    .bind(c.account_id)
                    .bind(c.template_id)
                    .bind(r.target_id)
                    .bind(r.slot)
                    .bind(r.state)
                    .bind(r.random_id)
                    .bind(error)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                }
                won.push(true);
            }
            tx.commit().await?;
        });
        Ok(won)
    }
}

/// A fresh non-zero `random_id` (Telegram treats 0 as "none").
pub fn fresh_random_id() -> i64 {
    loop {
        let id: i64 = rand::random();
        if id != 0 {
            return id;
        }
    }
}
