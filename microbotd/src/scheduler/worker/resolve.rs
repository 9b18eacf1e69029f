//! Resolving chats ahead of their instant: a worker looks up every queued
//! chat without a cached peer as soon as its rows arrive, and caches the
//! peers in one statement, so no lookup stands between the timer and the
//! send call.

use std::collections::HashMap;
use std::sync::Arc;

use crate::scheduler::outcome::{Verdict, classify};
use crate::store::StoreError;
use crate::store::deliveries::RowOutcome;
use crate::telegram::{AccountKey, ResolvedPeer, TelegramError};

use super::{RESOLVE_TIMEOUT, Worker, has_cached_peer};

impl Worker {
    /// Resolves every queued chat without a cached peer — ahead of its
    /// instant — and caches the peers in one statement. Returns a verdict
    /// that stops the account (flood wait, auth) if a lookup gave one.
    pub(super) async fn resolve_ahead(
        &mut self,
        key: &AccountKey,
    ) -> Result<Option<Verdict>, StoreError> {
        let now = self.now_ms();
        let mut todo: HashMap<i64, Arc<crate::store::dispatch::TargetInfo>> = HashMap::new();
        // A row waiting out a retry's backoff is not looked up again before it.
        for r in self
            .queue
            .iter()
            .filter(|r| r.not_before.is_none_or(|n| n <= now))
        {
            if !has_cached_peer(&r.target) {
                todo.entry(r.target.target_id).or_insert(r.target.clone());
            }
        }
        if todo.is_empty() {
            return Ok(None);
        }
        let mut resolved = Vec::new();
        let mut outcomes = Vec::new();
        let mut stop = None;
        for (target_id, target) in todo {
            let res = tokio::time::timeout(
                RESOLVE_TIMEOUT,
                self.ctx.messenger.resolve(key, &target.spec),
            )
            .await
            .unwrap_or_else(|_| Err(TelegramError::Transient("chat lookup timed out".into())));
            match res {
                Ok(peer) => resolved.push((target_id, peer)),
                Err(e) => match classify(Err(e.clone())) {
                    v @ (Verdict::AccountWait { .. } | Verdict::AccountStop { .. }) => {
                        stop = Some(v);
                        break;
                    }
                    verdict => {
                        // Every queued row for that chat gets the verdict.
                        let ids: Vec<i64> = self
                            .queue
                            .iter()
                            .filter(|r| r.target.target_id == target_id)
                            .map(|r| r.id)
                            .collect();
                        for id in ids {
                            let Some(r) = self.queue.remove(id) else {
                                continue;
                            };
                            if !matches!(verdict, Verdict::Retry(_)) {
                                self.settled.insert(id, self.now_ms());
                            }
                            let o = match &verdict {
                                Verdict::Retry(msg) => {
                                    let mut r = r;
                                    r.attempts += 1;
                                    self.retry(r, msg.clone())
                                }
                                _ => RowOutcome::Failed {
                                    id,
                                    error: format!("cannot resolve {}: {e}", target.spec),
                                    attempts: r.attempts,
                                },
                            };
                            outcomes.push(o);
                        }
                    }
                },
            }
        }
        if !resolved.is_empty() {
            self.ctx
                .store
                .targets_cache_peers(&resolved, self.now_ms())
                .await?;
            let peers: HashMap<i64, ResolvedPeer> = resolved.into_iter().collect();
            let ids: Vec<i64> = self
                .queue
                .iter()
                .filter(|r| peers.contains_key(&r.target.target_id))
                .map(|r| r.id)
                .collect();
            for id in ids {
                if let Some(mut r) = self.queue.remove(id) {
                    let p = &peers[&r.target.target_id];
                    let mut t = (*r.target).clone();
                    t.peer_id = Some(p.peer_id);
                    t.peer_kind = Some(p.kind.as_str().to_owned());
                    t.access_hash = p.access_hash;
                    t.title = Some(p.title.clone());
                    r.target = Arc::new(t);
                    self.queue.put(r);
                }
            }
        }
        self.outcomes.record(self.epoch, outcomes);
        Ok(stop)
    }
}
