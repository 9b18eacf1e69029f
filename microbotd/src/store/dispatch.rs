//! The dispatcher's side of the templates table: loading the timer heap,
//! reading the templates that come due (with their text and targets, so
//! the send workers need no read at the instant), and claiming slots —
//! inserting their deliveries and advancing `templates.next_slot` — for a
//! whole burst in ONE transaction of set-based statements ([`super::bulk`]).
//!
//! Claims compare-and-swap `next_slot` (`WHERE next_slot = <the slot we
//! fired>`), so a stale heap entry, a second dispatcher or a concurrent edit
//! can never insert a slot twice; `UNIQUE(template_id, target_id, slot)` is
//! the second fence. A slot whose row was `cancelled` (its template was
//! edited, disabled or its scheduler stopped after the claim) is claimed
//! again by reviving that row with its ORIGINAL `random_id`: if the first
//! claim's send raced the cancel and reached Telegram, the revived send is
//! de-duplicated, so a slot never yields two messages.

use std::collections::HashMap;

use super::bulk::{Col, Rows, Scalar};
use super::cluster::lease_fence;
use super::states::{AccountState, DeliveryState};
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
    pub text: String,
    pub parse_mode: String,
    /// Stored form of [`crate::templates::SendOptions`].
    pub send_options: String,
    /// The attachments' metadata ([`super::media::parse_attachments`]).
    pub attachments: Option<String>,
}

/// A target as the send worker needs it: the chat and its cached peer.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TargetInfo {
    pub target_id: i64,
    pub spec: String,
    pub peer_id: Option<i64>,
    pub peer_kind: Option<String>,
    pub access_hash: Option<i64>,
    pub title: Option<String>,
    pub slowmode_until: Option<i64>,
}

/// A delivery row a claim created (or revived), as committed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub template_id: i64,
    pub target_id: i64,
    pub slot: i64,
    pub state: DeliveryState,
    pub random_id: i64,
    pub attempts: i64,
}

/// A delivery row to create for one slot and target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDelivery {
    pub target_id: i64,
    pub slot: i64,
    /// `pending` (to send) or `missed`.
    pub state: DeliveryState,
    pub random_id: i64,
    /// Schedule slots the row stands for: 1, or the count of a long
    /// outage's older missed slots from `slot` on (one row for them all).
    pub slots: i64,
}

/// One template's fire: its new rows and where its schedule goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub template_id: i64,
    pub account_id: i64,
    /// The `next_slot` the dispatcher fired; the claim fails if it moved.
    pub expected_next_slot: i64,
    /// The lease epoch this node holds the account under; the claim fails
    /// if the lease moved on (see `cluster::lease_fence`).
    pub epoch: i64,
    pub new_next_slot: Option<i64>,
    pub rows: Vec<NewDelivery>,
    /// Written to `last_error` of `missed` rows.
    pub missed_reason: String,
    /// Written to `last_error` of the row standing for many missed slots.
    pub missed_range_reason: String,
}

impl Store {
    /// SQL true when account `a` may send: active, its scheduler started,
    /// and its session not sealed under a key this daemon lacks.
    fn dispatchable_sql(&self) -> String {
        format!(
            "a.state = {} AND a.scheduler_enabled = TRUE AND NOT {}",
            AccountState::Active.sql(),
            self.session_sealed_sql("a.")
        )
    }

    /// (next_slot, template id) of every active template whose account may
    /// send: the dispatcher's heap, in one query.
    pub async fn dispatch_heap_load(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        let sql = format!(
            "SELECT t.next_slot, t.id FROM templates t JOIN accounts a ON a.id = t.account_id
             WHERE t.active = TRUE AND t.next_slot IS NOT NULL AND {}",
            self.dispatchable_sql()
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
               AND {}",
            self.dispatchable_sql()
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
                    CASE WHEN {} THEN TRUE ELSE FALSE END AS dispatchable,
                    t.text, t.parse_mode, t.send_options, {}
             FROM templates t JOIN accounts a ON a.id = t.account_id WHERE t.id = $1",
            self.dispatchable_sql(),
            self.attachments_sql()
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
                    CASE WHEN {} THEN TRUE ELSE FALSE END AS dispatchable,
                    t.text, t.parse_mode, t.send_options, {}
             FROM templates t JOIN accounts a ON a.id = t.account_id WHERE t.id IN ({})",
            self.dispatchable_sql(),
            self.attachments_sql(),
            id_list(ids)
        );
        let rows = on_pool!(self, p => sqlx::query_as::<_, FireTemplate>(sqlx::AssertSqlSafe(sql))
            .fetch_all(p).await)?;
        Ok(rows.into_iter().map(|t| (t.id, t)).collect())
    }

    /// The targets of many templates in one query, in each template's order.
    pub async fn dispatch_targets_many(
        &self,
        template_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<TargetInfo>>, StoreError> {
        if template_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT tt.template_id, g.id AS target_id, g.spec, g.peer_id, g.peer_kind,
                    g.access_hash, g.title, g.slowmode_until
             FROM template_targets tt JOIN targets g ON g.id = tt.target_id
             WHERE tt.template_id IN ({}) ORDER BY tt.template_id, tt.position",
            id_list(template_ids)
        );
        let rows = on_pool!(self, p => sqlx::query_as::<_, TemplateTarget>(sqlx::AssertSqlSafe(sql))
            .fetch_all(p).await)?;
        let mut map: HashMap<i64, Vec<TargetInfo>> = HashMap::new();
        for r in rows {
            map.entry(r.template_id).or_default().push(r.target);
        }
        Ok(map)
    }

    /// Applies many claims in ONE transaction of set-based statements (a
    /// burst of due templates costs one commit): the compare-and-swap of
    /// every `next_slot`, then the rows of the claims that won it. Returns
    /// the ids of the templates whose claim won and the rows written (new
    /// or revived; a slot already claimed and not cancelled yields none).
    pub async fn dispatch_claim(
        &self,
        claims: &[Claim],
        node: Option<&str>,
        now_ms: i64,
    ) -> Result<(Vec<i64>, Vec<Claimed>), StoreError> {
        if claims.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let mut tx = self.begin().await?;
        let cas = Rows::new(
            &["id", "expected", "next", "epoch"],
            vec![
                Col::I64(claims.iter().map(|c| c.template_id).collect()),
                Col::I64(claims.iter().map(|c| c.expected_next_slot).collect()),
                Col::OptI64(claims.iter().map(|c| c.new_next_slot).collect()),
                Col::I64(claims.iter().map(|c| c.epoch).collect()),
            ],
        );
        let fence = lease_fence(self.backend(), "templates.account_id", "$1", "v.epoch");
        let won: Vec<(i64,)> = tx
            .bulk(
                &cas,
                &[Scalar::OptText(node.map(str::to_owned))],
                &format!(
                    "UPDATE templates SET next_slot = v.next FROM v
                     WHERE templates.id = v.id AND templates.next_slot = v.expected AND {fence}
                     RETURNING templates.id"
                ),
            )
            .await?;
        let won: Vec<i64> = won.into_iter().map(|(id,)| id).collect();
        let winners: std::collections::HashSet<i64> = won.iter().copied().collect();
        let (mut account, mut template, mut target, mut slot) = (vec![], vec![], vec![], vec![]);
        let (mut state, mut random_id, mut error, mut slots) = (vec![], vec![], vec![], vec![]);
        for c in claims.iter().filter(|c| winners.contains(&c.template_id)) {
            for r in &c.rows {
                account.push(c.account_id);
                template.push(c.template_id);
                target.push(r.target_id);
                slot.push(r.slot);
                state.push(r.state.as_str().to_owned());
                random_id.push(r.random_id);
                error.push((r.state == DeliveryState::Missed).then(|| match r.slots {
                    1 => c.missed_reason.clone(),
                    _ => c.missed_range_reason.clone(),
                }));
                slots.push(r.slots);
            }
        }
        let rows = Rows::new(
            &[
                "account_id",
                "template_id",
                "target_id",
                "slot",
                "state",
                "random_id",
                "last_error",
                "slots",
            ],
            vec![
                Col::I64(account),
                Col::I64(template),
                Col::I64(target),
                Col::I64(slot),
                Col::Text(state),
                Col::I64(random_id),
                Col::OptText(error),
                Col::I64(slots),
            ],
        );
        // `WHERE TRUE` keeps SQLite from reading ON CONFLICT as a join clause.
        let claimed: Vec<Claimed> = tx
            .bulk(
                &rows,
                &[Scalar::I64(now_ms)],
                &format!(
                    "INSERT INTO deliveries (account_id, template_id, target_id, slot, state,
                                         random_id, attempts, last_error, slots, created_at,
                                         updated_at)
                 SELECT account_id, template_id, target_id, slot, state, random_id, 0, last_error,
                        slots, $1, $1
                 FROM v WHERE TRUE
                 ON CONFLICT (template_id, target_id, slot) DO UPDATE
                    SET state = excluded.state, last_error = excluded.last_error,
                        slots = excluded.slots,
                        not_before = NULL, updated_at = excluded.updated_at
                    WHERE deliveries.state = {}
                 RETURNING id, template_id, target_id, slot, state, random_id, attempts",
                    DeliveryState::Cancelled.sql()
                ),
            )
            .await?;
        tx.commit().await?;
        Ok((won, claimed))
    }
}

/// One row of [`Store::dispatch_targets_many`].
#[derive(sqlx::FromRow)]
struct TemplateTarget {
    template_id: i64,
    #[sqlx(flatten)]
    target: TargetInfo,
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
