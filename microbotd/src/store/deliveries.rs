//! The outbox: what an account's send worker reads and writes. Open rows
//! (`pending`, and `sending` left over from a crash) are read with their
//! template text and cached peer; state changes of a whole batch are
//! committed in one transaction ([`Store::outbox_apply`]).

use super::{Store, StoreError, on_pool};

/// An open delivery with everything needed to send it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub template_id: i64,
    pub target_id: i64,
    pub slot: i64,
    pub state: String,
    pub random_id: i64,
    pub attempts: i64,
    /// `None` when the template was deleted after the row was created.
    pub text: Option<String>,
    pub parse_mode: Option<String>,
    pub spec: String,
    pub peer_id: Option<i64>,
    pub peer_kind: Option<String>,
    pub access_hash: Option<i64>,
    pub title: Option<String>,
    pub slowmode_until: Option<i64>,
}

/// What the worker needs to know about its account before each batch.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SendState {
    pub name: String,
    pub state: String,
    pub scheduler_enabled: bool,
    pub flood_wait_until: Option<i64>,
}

/// The end of one send attempt, as written back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    Sent {
        id: i64,
        message_id: Option<i64>,
    },
    Failed {
        id: i64,
        error: String,
    },
    /// Back to `pending`, not before `not_before` (transient error, slow mode).
    Retry {
        id: i64,
        not_before: Option<i64>,
        error: String,
    },
    /// Back to `pending` without counting the attempt (the account stopped:
    /// flood wait, limited, logged out, shutdown before the send).
    Requeue {
        id: i64,
    },
}

impl Store {
    /// The account's sending state; `None` once deleted.
    pub async fn outbox_account(&self, account_id: i64) -> Result<Option<SendState>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, SendState>(
            "SELECT name, state, scheduler_enabled, flood_wait_until FROM accounts WHERE id = $1"
        ).bind(account_id).fetch_optional(p).await)?)
    }

    /// Open deliveries of the account that may go now, oldest slot first.
    pub async fn outbox_open(
        &self,
        account_id: i64,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, OutboxRow>(
            "SELECT d.id, d.template_id, d.target_id, d.slot, d.state, d.random_id, d.attempts,
                    t.text, t.parse_mode, g.spec, g.peer_id, g.peer_kind, g.access_hash, g.title,
                    g.slowmode_until
             FROM deliveries d
             JOIN targets g ON g.id = d.target_id
             LEFT JOIN templates t ON t.id = d.template_id
             WHERE d.account_id = $1 AND d.state IN ('pending', 'sending')
               AND (d.not_before IS NULL OR d.not_before <= $2)
             ORDER BY d.slot, d.id LIMIT $3"
        ).bind(account_id).bind(now_ms).bind(limit).fetch_all(p).await)?)
    }

    /// The earliest `not_before` of the account's open rows still waiting.
    pub async fn outbox_next_wake(
        &self,
        account_id: i64,
        now_ms: i64,
    ) -> Result<Option<i64>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MIN(not_before) FROM deliveries
             WHERE account_id = $1 AND state IN ('pending', 'sending') AND not_before > $2"
        ).bind(account_id).bind(now_ms).fetch_one(p).await)?)
    }

    /// Marks a batch `sending` (one commit) before any of it is sent.
    pub async fn outbox_mark_sending(&self, ids: &[i64], now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for id in ids {
                sqlx::query(
                    "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, updated_at = $2
                     WHERE id = $1 AND state IN ('pending', 'sending')",
                )
                .bind(id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Writes a batch's outcomes in one transaction (group commit).
    pub async fn outbox_apply(
        &self,
        outcomes: &[RowOutcome],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            for o in outcomes {
                let q = match o {
                    RowOutcome::Sent { id, message_id } => sqlx::query(
                        "UPDATE deliveries SET state = 'sent', message_id = $2, sent_at = $3,
                                updated_at = $3, last_error = NULL, not_before = NULL
                         WHERE id = $1",
                    ).bind(*id).bind(*message_id).bind(now_ms),
                    RowOutcome::Failed { id, error } => sqlx::query(
                        "UPDATE deliveries SET state = 'failed', last_error = $2, updated_at = $3
                         WHERE id = $1",
                    ).bind(*id).bind(error.clone()).bind(now_ms),
                    RowOutcome::Retry { id, not_before, error } => sqlx::query(
                        "UPDATE deliveries SET state = 'pending', not_before = $2, last_error = $3,
                                updated_at = $4
                         WHERE id = $1",
                    ).bind(*id).bind(*not_before).bind(error.clone()).bind(now_ms),
                    RowOutcome::Requeue { id } => sqlx::query(
                        "UPDATE deliveries SET state = 'pending',
                                attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
                                updated_at = $2
                         WHERE id = $1 AND state = 'sending'",
                    ).bind(*id).bind(now_ms),
                };
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Caches a resolved peer on the target.
    pub async fn target_cache_peer(
        &self,
        target_id: i64,
        peer: &crate::telegram::ResolvedPeer,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE targets SET peer_id = $2, peer_kind = $3, access_hash = $4, title = $5,
                    resolved_at = $6 WHERE id = $1"
        ).bind(target_id).bind(peer.peer_id).bind(peer.kind.as_str()).bind(peer.access_hash)
         .bind(peer.title.clone()).bind(now_ms).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// SLOWMODE_WAIT: the chat takes nothing before `until`.
    pub async fn target_slowmode(&self, target_id: i64, until_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("UPDATE targets SET slowmode_until = $2 WHERE id = $1")
            .bind(target_id).bind(until_ms).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// FLOOD_WAIT: the whole account waits until `until_ms`.
    pub async fn account_flood_wait(
        &self,
        account_id: i64,
        until_ms: i64,
        error: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE accounts SET flood_wait_until = $2, last_error = $3, updated_at = $4 WHERE id = $1"
        ).bind(account_id).bind(until_ms).bind(error).bind(now_ms).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// PEER_FLOOD (`limited`) or an auth error (`logged_out`): the account
    /// stops sending until an operator acts.
    pub async fn account_stop_sending(
        &self,
        account_id: i64,
        state: &str,
        error: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE accounts SET state = $2, last_error = $3, updated_at = $4 WHERE id = $1"
        ).bind(account_id).bind(state).bind(error).bind(now_ms).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}
