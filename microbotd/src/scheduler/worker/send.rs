//! The send call itself: [`Worker::send_batch`] takes the rows picked for
//! this turn, makes the last in-memory checks (lease, template revision,
//! cached peer) and calls the messenger, then hands every outcome to the
//! writer in one batch.

use tokio::time::Instant;

use super::{SEND_TIMEOUT, Worker};
use crate::scheduler::outcome::{Verdict, classify};
use crate::store::StoreError;
use crate::store::deliveries::RowOutcome;
use crate::telegram::{AccountKey, OutgoingText, PeerKind, ResolvedPeer, TelegramError};
use crate::templates::placeholders;

impl Worker {
    pub(super) async fn send_batch(
        &mut self,
        key: &AccountKey,
        picked: Vec<i64>,
    ) -> Result<(), StoreError> {
        let ctx = self.ctx.clone();
        let revisions = ctx.events.revisions().clone();
        let mut outcomes = Vec::new();
        let mut stop: Option<Verdict> = None;
        // The cancellation token (a lock to read) and the lease (with its
        // deadline) are read before the batch and after every wait — a
        // send that did not complete at once, a follow-up, a write — not
        // before every send of a burst; the lease's deadline is compared
        // with the clock before every send.
        let mut awaited = true;
        let mut lease = None;
        for id in picked {
            if std::mem::take(&mut awaited) {
                if self.cancel.is_cancelled() {
                    break;
                }
                lease = ctx.leases.held_until(self.account_id);
            }
            if stop.is_some() {
                break;
            }
            let Some(r) = self.queue.remove(id) else {
                continue;
            };
            if r.text.is_none() {
                self.settled.insert(id, self.now_ms());
                outcomes.push(RowOutcome::Cancelled {
                    id,
                    reason: "cancelled: the template was deleted before this was sent".into(),
                });
                continue;
            }
            // The last checks before the send call, with no await between:
            // the lease is still ours (its local deadline comes before the
            // database could give it away), and a template edited since
            // this row was read is read again.
            let at = Instant::now();
            let ours = lease.is_some_and(|(epoch, deadline)| {
                epoch == self.epoch && deadline.is_none_or(|d| d > at.into_std())
            });
            if !ours {
                self.queue.put(r);
                break;
            }
            if revisions.template_changed_since(r.template_id, r.seen) {
                self.stale.insert(r.template_id);
                continue;
            }
            let Some(peer) = cached_peer(&r.target) else {
                self.queue.put(r);
                continue;
            };
            self.fresh.remove(&id);
            let rate = ctx.rate_limit_per_minute();
            self.bucket.try_take(at, rate);
            self.spacing.record(r.target.target_id, at);
            let slot = crate::store::from_ms(r.slot);
            let text = placeholders::render(r.text.as_deref().unwrap_or_default(), slot, r.tz);
            let msg = OutgoingText {
                peer: &peer,
                chat_label: &r.target.spec,
                text: &text,
                parse_mode: r.parse_mode,
                random_id: r.random_id,
                template_id: Some(r.template_id),
                slot: Some(slot),
                silent: r.options.silent,
                no_preview: r.options.no_preview,
                attachments: &r.attachments,
            };
            let mut send = ctx.messenger.send_text(key, &msg);
            let now_ready = ready_now(&mut send);
            let result = match now_ready {
                Some(res) => {
                    drop(send);
                    res
                }
                None => {
                    awaited = true;
                    tokio::select! {
                        res = tokio::time::timeout(SEND_TIMEOUT, send) => {
                            res.unwrap_or_else(|_| Err(TelegramError::Transient("send timed out".into())))
                        }
                        // Abandoned mid-flight: the row stays open and is re-sent
                        // with its random_id after the restart.
                        _ = self.cancel.cancelled() => break,
                    }
                }
            };
            let now = self.now_ms();
            self.settled.insert(id, now);
            let attempts = r.attempts + 1;
            match classify(result) {
                Verdict::Sent {
                    message_id,
                    album_ids,
                } => {
                    let note = match message_id.filter(|m| *m > 0) {
                        Some(m) if r.options.has_follow_up() => {
                            awaited = true;
                            self.follow_up(key, &r, &peer, m, &album_ids).await
                        }
                        _ => None,
                    };
                    outcomes.push(RowOutcome::Sent {
                        id,
                        message_id,
                        at: now,
                        attempts,
                        note,
                        album_ids,
                    })
                }
                Verdict::Fail(error) => {
                    tracing::warn!(account = %key.name, chat = %r.target.spec, delivery = id, %error, "delivery failed");
                    outcomes.push(RowOutcome::Failed {
                        id,
                        error,
                        attempts,
                    });
                }
                Verdict::Retry(msg) => {
                    self.settled.remove(&id);
                    let mut r = r;
                    r.attempts = attempts;
                    outcomes.push(self.retry(r, msg));
                }
                Verdict::ChatWait { seconds, error } => {
                    self.settled.remove(&id);
                    let until = now + i64::from(seconds) * 1000;
                    awaited = true;
                    ctx.store.target_slowmode(r.target.target_id, until).await?;
                    self.slowmode.insert(r.target.target_id, until);
                    tracing::info!(account = %key.name, chat = %r.target.spec, seconds, "slow mode: this chat waits");
                    let mut r = r;
                    r.attempts = attempts;
                    r.not_before = Some(until);
                    outcomes.push(RowOutcome::Retry {
                        id,
                        not_before: Some(until),
                        error,
                        attempts,
                    });
                    self.queue.put(r);
                }
                v => {
                    // The account stops; the row waits with it, unsent.
                    self.settled.remove(&id);
                    self.queue.put(r);
                    stop = Some(v);
                }
            }
        }
        self.outcomes.record(self.epoch, outcomes);
        if let Some(v) = stop {
            self.stop_account(key, v).await?;
        }
        Ok(())
    }
}

/// The future's output if it is ready at its first poll. A transport that
/// answers at once (dry-run) then costs no timer and no cancellation
/// waiter per send — at 10,000 sends in one instant those were a
/// measurable part of the lateness. A pending future is polled again
/// later with the task's real waker, as the `Future` contract allows.
fn ready_now<F: std::future::Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(fut).poll(&mut cx) {
        std::task::Poll::Ready(v) => Some(v),
        std::task::Poll::Pending => None,
    }
}

/// Whether the target has a usable cached peer: [`cached_peer`] without
/// building one (the worker asks this of every queued row each turn).
pub(in crate::scheduler) fn has_cached_peer(t: &crate::store::dispatch::TargetInfo) -> bool {
    t.peer_id.is_some() && t.peer_kind.as_deref().and_then(PeerKind::parse).is_some()
}

/// The peer cached on the target, if resolved before.
pub(in crate::scheduler) fn cached_peer(
    t: &crate::store::dispatch::TargetInfo,
) -> Option<ResolvedPeer> {
    Some(ResolvedPeer {
        peer_id: t.peer_id?,
        kind: PeerKind::parse(t.peer_kind.as_deref()?)?,
        access_hash: t.access_hash,
        title: t.title.clone().unwrap_or_else(|| t.spec.clone()),
    })
}
