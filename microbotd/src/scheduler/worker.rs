//! [`Worker`]: one per account, draining that account's outbox under
//! Telegram's limits. It sleeps until woken (new deliveries, an account
//! change), a deadline (flood wait, slow mode, backoff, a token) or
//! cancellation — it never polls.
//!
//! # A batch
//! Pick up to as many rows as the token bucket allows, one per chat and
//! only chats whose 1 s gap and slow mode have passed → resolve uncached
//! targets → mark the batch `sending` (one commit) → send each with its
//! stored `random_id` → write every outcome in one commit. A crash anywhere
//! leaves rows `pending` or `sending`; both are re-sent with the same
//! `random_id`, which Telegram de-duplicates.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::store::deliveries::{OutboxRow, RowOutcome};
use crate::store::{StoreError, to_ms};
use crate::telegram::{AccountKey, OutgoingText, ParseMode, PeerKind, ResolvedPeer, TelegramError};

use super::limits::{ChatSpacing, TokenBucket};
use super::outcome::{MAX_ATTEMPTS, Verdict, backoff, classify};

/// A send that takes longer than this counts as a transient failure.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// Idle wait when nothing is scheduled (a wake or cancel ends it sooner).
const IDLE: Duration = Duration::from_secs(3600);
/// Rows read per batch.
const READ_LIMIT: i64 = 500;

/// Drains one account's outbox.
pub struct Worker {
    ctx: Context,
    account_id: i64,
    wake: Arc<Notify>,
    cancel: CancellationToken,
    bucket: TokenBucket,
    spacing: ChatSpacing,
}

impl Worker {
    pub fn new(
        ctx: Context,
        account_id: i64,
        wake: Arc<Notify>,
        cancel: CancellationToken,
    ) -> Self {
        Worker {
            ctx,
            account_id,
            wake,
            cancel,
            bucket: TokenBucket::new(Instant::now()),
            spacing: ChatSpacing::default(),
        }
    }

    /// Runs until cancelled. Database errors are logged and retried after a
    /// pause: a blip must not take the daemon down, and nothing is lost
    /// because the rows stay open.
    pub async fn run(mut self) {
        loop {
            let wait = match self.turn().await {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(account_id = self.account_id, error = %e, "send worker: database error; retrying in 1s");
                    Some(Duration::from_secs(1))
                }
            };
            if self.cancel.is_cancelled() {
                return;
            }
            if let Some(wait) = wait {
                tokio::select! {
                    _ = self.cancel.cancelled() => return,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }

    fn now_ms(&self) -> i64 {
        to_ms(self.ctx.now())
    }

    /// The real-time wait until `ms` more have passed on the context's clock
    /// (deadlines such as flood waits are stored in clock time).
    fn clock_wait(&self, ms: i64) -> Duration {
        self.ctx.clock.real_duration(ms_dur(ms))
    }

    /// One pass; returns how long to wait before the next (None = at once).
    async fn turn(&mut self) -> Result<Option<Duration>, StoreError> {
        let store = &self.ctx.store;
        let now_ms = self.now_ms();
        let Some(acct) = store.outbox_account(self.account_id).await? else {
            return Ok(Some(IDLE));
        };
        if acct.state != "active" || !acct.scheduler_enabled {
            return Ok(Some(IDLE));
        }
        if let Some(until) = acct.flood_wait_until.filter(|u| *u > now_ms) {
            return Ok(Some(self.clock_wait(until - now_ms)));
        }
        let rate = self.ctx.rate_limit_per_minute();
        let inst = Instant::now();
        let tokens = self.bucket.available(inst, rate);
        if tokens == 0 {
            return Ok(Some(self.bucket.wait_for_one(inst, rate)));
        }
        let rows = store
            .outbox_open(self.account_id, now_ms, READ_LIMIT)
            .await?;
        if rows.is_empty() {
            let next = store.outbox_next_wake(self.account_id, now_ms).await?;
            return Ok(Some(next.map_or(IDLE, |n| self.clock_wait(n - now_ms))));
        }
        let mut picked = Vec::new();
        let mut chats = HashSet::new();
        let mut wake: Option<Duration> = None;
        let mut soonest = |d: Duration| wake = Some(wake.map_or(d, |w: Duration| w.min(d)));
        for r in rows {
            if picked.len() == tokens {
                break;
            }
            if !chats.insert(r.target_id) {
                continue;
            }
            if let Some(until) = r.slowmode_until.filter(|u| *u > now_ms) {
                soonest(self.clock_wait(until - now_ms));
                continue;
            }
            let ready = self.spacing.ready_at(r.target_id, inst);
            if ready > inst {
                soonest(ready - inst);
                continue;
            }
            picked.push(r);
        }
        if picked.is_empty() {
            return Ok(Some(wake.unwrap_or(Duration::from_secs(1))));
        }
        let key = AccountKey {
            id: self.account_id,
            name: acct.name,
        };
        self.send_batch(&key, picked).await?;
        Ok(None)
    }

    async fn send_batch(
        &mut self,
        key: &AccountKey,
        picked: Vec<OutboxRow>,
    ) -> Result<(), StoreError> {
        let ctx = self.ctx.clone();
        let mut outcomes = Vec::new();
        let mut ready: Vec<(OutboxRow, ResolvedPeer)> = Vec::new();
        let mut stop: Option<Verdict> = None;
        for r in picked {
            if r.text.is_none() {
                outcomes.push(RowOutcome::Failed {
                    id: r.id,
                    error: "the template was deleted before this was sent".into(),
                });
                continue;
            }
            if let Some(peer) = cached_peer(&r) {
                ready.push((r, peer));
                continue;
            }
            match ctx.messenger.resolve(key, &r.spec).await {
                Ok(peer) => {
                    ctx.store
                        .target_cache_peer(r.target_id, &peer, self.now_ms())
                        .await?;
                    ready.push((r, peer));
                }
                Err(e) => match classify(Err(e.clone())) {
                    v @ (Verdict::AccountWait { .. } | Verdict::AccountStop { .. }) => {
                        stop = Some(v);
                        break;
                    }
                    Verdict::Retry(msg) => outcomes.push(self.retry(&r, r.attempts + 1, msg)),
                    _ => outcomes.push(RowOutcome::Failed {
                        id: r.id,
                        error: format!("cannot resolve {}: {e}", r.spec),
                    }),
                },
            }
        }
        if stop.is_none() && !ready.is_empty() {
            let ids: Vec<i64> = ready.iter().map(|(r, _)| r.id).collect();
            ctx.store.outbox_mark_sending(&ids, self.now_ms()).await?;
        }
        let mut rest = ready.into_iter();
        while stop.is_none() {
            let Some((r, peer)) = rest.next() else { break };
            if self.cancel.is_cancelled() {
                outcomes.push(RowOutcome::Requeue { id: r.id });
                continue;
            }
            let rate = ctx.rate_limit_per_minute();
            self.bucket.try_take(Instant::now(), rate);
            self.spacing.record(r.target_id, Instant::now());
            let text = r.text.as_deref().unwrap_or_default();
            let msg = OutgoingText {
                peer: &peer,
                chat_label: &r.spec,
                text,
                parse_mode: r
                    .parse_mode
                    .as_deref()
                    .and_then(ParseMode::parse)
                    .unwrap_or_default(),
                random_id: r.random_id,
                template_id: Some(r.template_id),
                slot: Some(crate::store::from_ms(r.slot)),
            };
            let result = tokio::select! {
                res = tokio::time::timeout(SEND_TIMEOUT, ctx.messenger.send_text(key, &msg)) => {
                    res.unwrap_or_else(|_| Err(TelegramError::Transient("send timed out".into())))
                }
                // Abandoned mid-flight: the row stays `sending` and is
                // re-sent with its random_id after the restart.
                _ = self.cancel.cancelled() => continue,
            };
            let attempts = r.attempts + 1;
            match classify(result) {
                Verdict::Sent { message_id } => outcomes.push(RowOutcome::Sent {
                    id: r.id,
                    message_id,
                }),
                Verdict::Fail(error) => {
                    tracing::warn!(account = %key.name, chat = %r.spec, delivery = r.id, %error, "delivery failed");
                    outcomes.push(RowOutcome::Failed { id: r.id, error });
                }
                Verdict::Retry(msg) => outcomes.push(self.retry(&r, attempts, msg)),
                Verdict::ChatWait { seconds, error } => {
                    let until = self.now_ms() + i64::from(seconds) * 1000;
                    ctx.store.target_slowmode(r.target_id, until).await?;
                    tracing::info!(account = %key.name, chat = %r.spec, seconds, "slow mode: this chat waits");
                    outcomes.push(RowOutcome::Retry {
                        id: r.id,
                        not_before: Some(until),
                        error,
                    });
                }
                v => {
                    outcomes.push(RowOutcome::Requeue { id: r.id });
                    stop = Some(v);
                }
            }
        }
        outcomes.extend(rest.map(|(r, _)| RowOutcome::Requeue { id: r.id }));
        ctx.store.outbox_apply(&outcomes, self.now_ms()).await?;
        if let Some(v) = stop {
            self.stop_account(key, v).await?;
        }
        Ok(())
    }

    fn retry(&self, r: &OutboxRow, attempts: i64, error: String) -> RowOutcome {
        if attempts >= MAX_ATTEMPTS {
            return RowOutcome::Failed {
                id: r.id,
                error: format!("gave up after {attempts} attempts: {error}"),
            };
        }
        let not_before = self.now_ms() + backoff(attempts).as_millis() as i64;
        RowOutcome::Retry {
            id: r.id,
            not_before: Some(not_before),
            error,
        }
    }

    async fn stop_account(&self, key: &AccountKey, v: Verdict) -> Result<(), StoreError> {
        let now = self.now_ms();
        match v {
            Verdict::AccountWait { seconds, error } => {
                tracing::warn!(account = %key.name, seconds, "FLOOD_WAIT: account paused; its sends wait");
                let until = now + i64::from(seconds) * 1000;
                self.ctx
                    .store
                    .account_flood_wait(key.id, until, &error, now)
                    .await
            }
            Verdict::AccountStop { state, error } => {
                tracing::error!(account = %key.name, state, %error, "account stops sending until an operator acts");
                self.ctx
                    .store
                    .account_stop_sending(key.id, state, &error, now)
                    .await?;
                // The dispatcher stops firing this account's templates.
                self.ctx.events.send(crate::events::Change::Account(key.id));
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The peer cached on the target, if resolved before.
fn cached_peer(r: &OutboxRow) -> Option<ResolvedPeer> {
    Some(ResolvedPeer {
        peer_id: r.peer_id?,
        kind: PeerKind::parse(r.peer_kind.as_deref()?)?,
        access_hash: r.access_hash,
        title: r.title.clone().unwrap_or_else(|| r.spec.clone()),
    })
}

fn ms_dur(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms.max(1)).unwrap_or(1))
}
