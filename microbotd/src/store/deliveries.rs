//! The outbox: what an account's send worker reads and writes. Open rows
//! (`pending`, and `sending` left by an older version or a crash) are read
//! with their template text and cached peer when a worker starts or
//! refreshes; outcomes of many rows are written by set-based statements in
//! one transaction ([`Store::outbox_apply`]), each conditional on the state
//! the row must still be in, so a late outcome never overwrites a row an
//! operator cancelled or retried meanwhile. Rows claimed ahead of their
//! slot are withdrawn with [`Tx::deliveries_unclaim`].

use std::collections::HashMap;

use super::bulk::{Col, Rows, Scalar};
use super::cluster::lease_fence;
use super::states::{AccountState, DeliveryState, Misfire};
use super::tx::{Tx, on_tx};
use super::{Store, StoreError, on_pool};

/// An open delivery with everything needed to send it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub template_id: i64,
    pub slot: i64,
    pub random_id: i64,
    pub attempts: i64,
    pub not_before: Option<i64>,
    /// `None` when the template was deleted after the row was created.
    pub text: Option<String>,
    pub parse_mode: Option<String>,
    pub send_options: Option<String>,
    /// The template's zone, for placeholders.
    pub timezone: Option<String>,
    /// The attachments' metadata ([`super::media::parse_attachments`]).
    pub attachments: Option<String>,
    #[sqlx(flatten)]
    pub target: super::dispatch::TargetInfo,
}

/// What the worker needs to know about its account before each batch.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SendState {
    pub name: String,
    pub state: AccountState,
    pub scheduler_enabled: bool,
    pub flood_wait_until: Option<i64>,
}

/// The end of one send attempt, as written back. `attempts` is the row's
/// attempt count after it (the worker is the only one counting them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Sent {
        id: i64,
        message_id: Option<i64>,
        /// When the send call returned.
        at: i64,
        attempts: i64,
        /// What went wrong after the send (a pin or the deletion of the
        /// previous message failed): kept in `last_error`, the send stands.
        note: Option<String>,
        /// An album's other items (empty for a single message).
        album_ids: Vec<i64>,
    },
    Failed {
        id: i64,
        error: String,
        attempts: i64,
    },
    /// Stays `pending`, not before `not_before` (transient error, slow mode).
    Retry {
        id: i64,
        not_before: Option<i64>,
        error: String,
        attempts: i64,
    },
    /// Never sent, and never will be (its template is gone).
    Cancelled { id: i64, reason: String },
    /// Never sent: a newer slot of its template went instead
    /// (`scheduler::backlog`).
    Missed { id: i64, reason: String },
}

/// The columns of one kind of outcome, as [`Store::outbox_apply`] binds them.
#[derive(Default)]
struct Cols {
    id: Vec<i64>,
    epoch: Vec<i64>,
    attempts: Vec<i64>,
    n: Vec<Option<i64>>,
    t: Vec<Option<i64>>,
    e: Vec<Option<String>>,
    /// Sent only: an album's other ids ([`album_text`]).
    a: Vec<Option<String>>,
}

impl Cols {
    fn push(
        &mut self,
        id: i64,
        epoch: i64,
        attempts: i64,
        n: Option<i64>,
        t: Option<i64>,
        e: Option<String>,
    ) {
        self.id.push(id);
        self.epoch.push(epoch);
        self.attempts.push(attempts);
        self.n.push(n);
        self.t.push(t);
        self.e.push(e);
        self.a.push(None);
    }

    fn rows(self) -> Rows {
        Rows::new(
            &["id", "epoch", "attempts", "n", "t", "e", "a"],
            vec![
                Col::I64(self.id),
                Col::I64(self.epoch),
                Col::I64(self.attempts),
                Col::OptI64(self.n),
                Col::OptI64(self.t),
                Col::OptText(self.e),
                Col::OptText(self.a),
            ],
        )
    }
}

/// Which claimed rows [`Tx::deliveries_unclaim`] withdraws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unclaim {
    Template(i64),
    Account(i64),
}

/// An album's other ids as stored in `deliveries.album_ids` (`None` for a
/// single message).
fn album_text(ids: &[i64]) -> Option<String> {
    (!ids.is_empty()).then(|| ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
}

/// `('pending', 'sending')`.
fn open_sql() -> String {
    DeliveryState::sql_list(DeliveryState::OPEN)
}

impl Store {
    /// The account's sending state; `None` once deleted.
    pub async fn outbox_account(&self, account_id: i64) -> Result<Option<SendState>, StoreError> {
        // A session sealed under a key this daemon lacks reads as `sealed`.
        let sql = format!(
            "SELECT name, CASE WHEN {} THEN 'sealed' ELSE state END AS state,
                    scheduler_enabled, flood_wait_until FROM accounts WHERE id = $1",
            self.session_sealed_sql("")
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, SendState>(sqlx::AssertSqlSafe(sql))
            .bind(account_id).fetch_optional(p).await)?,
        )
    }

    /// Open deliveries of the account (of one template only, if given),
    /// oldest slot first, whether due yet or not.
    pub async fn outbox_open(
        &self,
        account_id: i64,
        template_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let sql = format!(
            "SELECT d.id, d.template_id, d.slot, d.random_id, d.attempts, d.not_before,
                    t.text, t.parse_mode, t.send_options, t.timezone, {},
                    g.id AS target_id, g.spec, g.peer_id, g.peer_kind,
                    g.access_hash, g.title, g.slowmode_until
             FROM deliveries d
             JOIN targets g ON g.id = d.target_id
             LEFT JOIN templates t ON t.id = d.template_id
             WHERE d.account_id = $1 AND d.state IN {}
               AND ($2 IS NULL OR d.template_id = $2)
             ORDER BY d.slot, d.id LIMIT $3",
            self.attachments_sql(),
            open_sql()
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, OutboxRow>(sqlx::AssertSqlSafe(sql))
            .bind(account_id).bind(template_id).bind(limit).fetch_all(p).await)?,
        )
    }

    /// Writes the outcomes of many rows (of any accounts) in one transaction:
    /// one set-based statement per kind. Each outcome comes with the lease
    /// epoch its account was sent under: a row whose account this `node` no
    /// longer holds under that epoch is left alone (the new owner re-sends
    /// it with the same `random_id`). Returns how many rows changed.
    pub async fn outbox_apply(
        &self,
        outcomes: &[(i64, RowOutcome)],
        node: Option<&str>,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        if outcomes.is_empty() {
            return Ok(0);
        }
        let fence = lease_fence(self.backend(), "deliveries.account_id", "$2", "v.epoch");
        let (mut sent, mut failed, mut retry, mut cancelled, mut missed) = (
            Cols::default(),
            Cols::default(),
            Cols::default(),
            Cols::default(),
            Cols::default(),
        );
        for (epoch, o) in outcomes {
            match o.clone() {
                RowOutcome::Sent {
                    id,
                    message_id,
                    at,
                    attempts,
                    note,
                    album_ids,
                } => {
                    sent.push(id, *epoch, attempts, message_id, Some(at), note);
                    if let Some(a) = sent.a.last_mut() {
                        *a = album_text(&album_ids);
                    }
                }
                RowOutcome::Failed {
                    id,
                    error,
                    attempts,
                } => failed.push(id, *epoch, attempts, None, None, Some(error)),
                RowOutcome::Retry {
                    id,
                    not_before,
                    error,
                    attempts,
                } => retry.push(id, *epoch, attempts, None, not_before, Some(error)),
                RowOutcome::Cancelled { id, reason } => {
                    cancelled.push(id, *epoch, 0, None, None, Some(reason))
                }
                RowOutcome::Missed { id, reason } => {
                    missed.push(id, *epoch, 0, None, None, Some(reason))
                }
            }
        }
        // `n` is message_id (sent) or not_before (retry); `t` the send time
        // (sent); `e` the error or reason. A row an operator cancelled while
        // its send was in flight was sent all the same: `sent` replaces
        // `cancelled`, the truth wins over the cancel.
        use DeliveryState::{Cancelled, Failed, Missed, Pending, Sending, Sent};
        let statements = [
            (
                sent,
                format!(
                    "state = {}, message_id = v.n, sent_at = v.t, attempts = v.attempts,
                    last_error = v.e, not_before = NULL, album_ids = v.a",
                    Sent.sql()
                ),
                DeliveryState::sql_list(&[Pending, Sending, Cancelled]),
            ),
            (
                failed,
                format!(
                    "state = {}, last_error = v.e, attempts = v.attempts",
                    Failed.sql()
                ),
                open_sql(),
            ),
            (
                retry,
                format!(
                    "state = {}, not_before = v.t, last_error = v.e, attempts = v.attempts",
                    Pending.sql()
                ),
                open_sql(),
            ),
            (
                cancelled,
                format!("state = {}, last_error = v.e", Cancelled.sql()),
                open_sql(),
            ),
            (
                missed,
                format!("state = {}, last_error = v.e", Missed.sql()),
                open_sql(),
            ),
        ];
        let scalars = [
            Scalar::I64(now_ms),
            Scalar::OptText(node.map(str::to_owned)),
        ];
        let mut changed = 0;
        let mut tx = self.begin().await?;
        for (cols, set, from) in statements {
            let sql = format!(
                "UPDATE deliveries SET {set}, updated_at = $1
                 FROM v WHERE deliveries.id = v.id AND deliveries.state IN {from} AND {fence}
                 RETURNING deliveries.id"
            );
            changed += tx.bulk::<(i64,)>(&cols.rows(), &scalars, &sql).await?.len();
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The misfire policy of each template that still exists.
    pub async fn templates_misfire(
        &self,
        ids: &[i64],
    ) -> Result<HashMap<i64, Misfire>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        // Only integers reach the text (never operator input).
        let sql = format!("SELECT id, misfire FROM templates WHERE id IN ({list})");
        let rows: Vec<(i64, Misfire)> = on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(p).await)?;
        Ok(rows.into_iter().collect())
    }

    /// The newest message a template sent to a target in a slot before
    /// `before_slot`: (slot, message ids: the message, then an album's
    /// other items), for `--replace-previous`.
    pub async fn previous_message(
        &self,
        template_id: i64,
        target_id: i64,
        before_slot: i64,
    ) -> Result<Option<(i64, Vec<i64>)>, StoreError> {
        let sql = format!(
            "SELECT slot, message_id, album_ids FROM deliveries
             WHERE template_id = $1 AND target_id = $2 AND slot < $3
               AND state = {} AND message_id > 0
             ORDER BY slot DESC LIMIT 1",
            DeliveryState::Sent.sql()
        );
        let row = on_pool!(self, p => sqlx::query_as::<_, (i64, i64, Option<String>)>(sqlx::AssertSqlSafe(sql))
            .bind(template_id).bind(target_id).bind(before_slot).fetch_optional(p).await)?;
        Ok(row.map(|(slot, first, album)| {
            let mut ids = vec![first];
            ids.extend(
                album
                    .unwrap_or_default()
                    .split(',')
                    .filter_map(|s| s.parse::<i64>().ok()),
            );
            (slot, ids)
        }))
    }

    /// Caches resolved peers on their targets, in one statement.
    pub async fn targets_cache_peers(
        &self,
        peers: &[(i64, crate::telegram::ResolvedPeer)],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let rows = Rows::new(
            &["id", "peer_id", "peer_kind", "access_hash", "title"],
            vec![
                Col::I64(peers.iter().map(|(t, _)| *t).collect()),
                Col::I64(peers.iter().map(|(_, p)| p.peer_id).collect()),
                Col::Text(
                    peers
                        .iter()
                        .map(|(_, p)| p.kind.as_str().to_owned())
                        .collect(),
                ),
                Col::OptI64(peers.iter().map(|(_, p)| p.access_hash).collect()),
                Col::Text(peers.iter().map(|(_, p)| p.title.clone()).collect()),
            ],
        );
        let mut tx = self.begin().await?;
        tx.bulk::<(i64,)>(
            &rows,
            &[Scalar::I64(now_ms)],
            "UPDATE targets SET peer_id = v.peer_id, peer_kind = v.peer_kind,
                    access_hash = v.access_hash, title = v.title, resolved_at = $1
             FROM v WHERE targets.id = v.id RETURNING targets.id",
        )
        .await?;
        tx.commit().await
    }

    /// SLOWMODE_WAIT: the chat takes nothing before `until`.
    pub async fn target_slowmode(&self, target_id: i64, until_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("UPDATE targets SET slowmode_until = $2 WHERE id = $1")
            .bind(target_id).bind(until_ms).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// FLOOD_WAIT: the whole account waits until `until_ms`.
    /// Fenced by the lease (`node`, `epoch`): false when this node no longer
    /// holds the account, and nothing was written.
    #[allow(clippy::too_many_arguments)]
    pub async fn account_flood_wait(
        &self,
        account_id: i64,
        until_ms: i64,
        error: &str,
        now_ms: i64,
        node: Option<&str>,
        epoch: i64,
    ) -> Result<bool, StoreError> {
        let fence = lease_fence(self.backend(), "$1", "$5", "$6");
        let sql = format!(
            "UPDATE accounts SET flood_wait_until = $2, last_error = $3, updated_at = $4
             WHERE id = $1 AND {fence}"
        );
        let n = on_pool!(self, p => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id).bind(until_ms).bind(error).bind(now_ms).bind(node).bind(epoch)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}

impl Tx {
    /// PEER_FLOOD (`limited`) or an auth error (`logged_out`): the account
    /// stops sending until an operator acts.
    /// Fenced by the lease like [`Store::account_flood_wait`]: false when
    /// this node no longer holds the account.
    #[allow(clippy::too_many_arguments)]
    pub async fn account_stop_sending(
        &mut self,
        account_id: i64,
        state: AccountState,
        error: &str,
        now_ms: i64,
        node: Option<&str>,
        epoch: i64,
    ) -> Result<bool, StoreError> {
        let fence = match self {
            Tx::Sqlite(_) => lease_fence(super::Backend::Sqlite, "$1", "$5", "$6"),
            Tx::Postgres(_) => lease_fence(super::Backend::Postgres, "$1", "$5", "$6"),
        };
        let sql = format!(
            "UPDATE accounts SET state = $2, last_error = $3, updated_at = $4
             WHERE id = $1 AND {fence}"
        );
        let n = on_tx!(self, c => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id).bind(state).bind(error).bind(now_ms).bind(node).bind(epoch)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Withdraws rows claimed ahead of their slot (`pending`, slot after
    /// `now_ms`) of one template or one account: they become `cancelled`
    /// with `reason`. With `replan`, each template's `next_slot` moves back
    /// to its earliest withdrawn slot, so the dispatcher plans those slots
    /// again (and a revived row keeps its `random_id`). Returns how many
    /// rows were withdrawn and, per template, the earliest one.
    pub async fn deliveries_unclaim(
        &mut self,
        scope: Unclaim,
        now_ms: i64,
        reason: &str,
        replan: bool,
    ) -> Result<(u64, HashMap<i64, i64>), StoreError> {
        let (column, id) = match scope {
            Unclaim::Template(id) => ("template_id", id),
            Unclaim::Account(id) => ("account_id", id),
        };
        let sql = format!(
            "UPDATE deliveries SET state = {}, last_error = $3, updated_at = $2
             WHERE {column} = $1 AND state IN {} AND slot > $2
             RETURNING template_id, slot",
            DeliveryState::Cancelled.sql(),
            open_sql()
        );
        let rows: Vec<(i64, i64)> = on_tx!(self, c => sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id).bind(now_ms).bind(reason).fetch_all(&mut *c).await)?;
        let mut earliest: HashMap<i64, i64> = HashMap::new();
        for (template, slot) in &rows {
            let e = earliest.entry(*template).or_insert(*slot);
            *e = (*e).min(*slot);
        }
        if replan && !earliest.is_empty() {
            let (ids, slots): (Vec<i64>, Vec<i64>) = earliest.iter().map(|(t, s)| (*t, *s)).unzip();
            let v = Rows::new(&["id", "slot"], vec![Col::I64(ids), Col::I64(slots)]);
            self.bulk::<(i64,)>(&v, &[],
                "UPDATE templates SET next_slot = v.slot FROM v
                 WHERE templates.id = v.id AND (templates.next_slot IS NULL OR templates.next_slot > v.slot)
                 RETURNING templates.id").await?;
        }
        Ok((rows.len() as u64, earliest))
    }
}
