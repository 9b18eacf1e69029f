//! [`LeaseManager`]: every `cluster.retry`, one round of the lease protocol
//! for this node — heartbeat, renew what it holds, count accounts and live
//! nodes, then take free or expired leases up to its fair share or give
//! surplus back. Its result is published through [`Leases`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::leases::{Held, HeldMap, Leases};
use crate::config::ClusterConfig;
use crate::events::Events;
use crate::store::cluster::Census;
use crate::store::{Store, StoreError};

/// The background task of one node (PostgreSQL only).
pub struct LeaseManager {
    store: Store,
    leases: Leases,
    settings: ClusterConfig,
    /// False after a round failed, until one succeeds (log once each way).
    in_contact: bool,
    /// When the next round should start: `cluster.retry`, or sooner when
    /// the last census saw another node's liveness or a lease about to
    /// lapse (so a dead node's accounts move the moment their leases
    /// expire, not up to a retry later).
    next_round: Duration,
    /// Accounts already reported as sealed under a key this node lacks.
    told_sealed: std::collections::BTreeSet<String>,
}

/// How long after a lease's expiry (database clock) a round starts, so it
/// does not find the lease a millisecond short of expired.
const PAST_EXPIRY: Duration = Duration::from_millis(25);

/// How many accounts each node should hold: all of them spread over the
/// live nodes, rounded up so every account has a place.
pub fn fair_share(c: Census) -> i64 {
    let nodes = c.live_nodes.max(1);
    (c.accounts.max(0) + nodes - 1) / nodes
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl LeaseManager {
    /// A manager for `node` and the handle it publishes to.
    pub fn new(
        store: Store,
        node: String,
        settings: ClusterConfig,
        events: Events,
    ) -> (LeaseManager, Leases) {
        let leases = Leases::clustered(node, events);
        let manager = LeaseManager {
            store,
            leases: leases.clone(),
            settings,
            in_contact: true,
            next_round: settings.retry,
            told_sealed: Default::default(),
        };
        (manager, leases)
    }

    /// How long [`LeaseManager::run`] waits before the next round.
    #[cfg(test)]
    pub(super) fn next_round(&self) -> Duration {
        self.next_round
    }

    /// The handle this manager keeps current.
    pub fn leases(&self) -> &Leases {
        &self.leases
    }

    /// Rounds every `cluster.retry` (sooner after a lapse, and at once when
    /// another node gives leases back) until `stop`, then gives every lease
    /// back.
    pub async fn run(mut self, stop: CancellationToken) {
        let released = Arc::new(Notify::new());
        let watcher = match self.store.lease_release_listener().await {
            Ok(l) => Some(tokio::spawn(watch_releases(
                l,
                Arc::clone(&released),
                stop.clone(),
            ))),
            Err(e) => {
                tracing::warn!(error = %e, "leases: no release notifications; released accounts move at the next round");
                None
            }
        };
        loop {
            self.turn().await;
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(self.next_round) => {}
                () = released.notified() => {}
            }
        }
        if let Some(w) = watcher {
            w.abort();
            let _ = w.await;
        }
        self.release_all().await;
    }

    /// One round, given up after `cluster.renew` (by then nothing it would
    /// renew is trusted any more). Whatever happened, leases whose local
    /// deadline has passed are dropped and the result published. Returns
    /// whether the round reached the database.
    pub async fn turn(&mut self) -> bool {
        let result = match tokio::time::timeout(self.settings.renew, self.round()).await {
            Ok(r) => r,
            Err(_) => Err(StoreError::Setup(format!(
                "no answer from the database within cluster.renew ({} ms)",
                self.settings.renew.as_millis()
            ))),
        };
        match &result {
            Ok(()) if !self.in_contact => {
                tracing::info!(
                    node = self.leases.node_id(),
                    "leases: database reachable again"
                );
                self.in_contact = true;
            }
            Ok(()) => {}
            Err(e) if self.in_contact => {
                tracing::warn!(
                    node = self.leases.node_id(),
                    error = %e,
                    "leases: cannot reach the database; accounts stop sending as their \
                     leases pass cluster.renew"
                );
                self.in_contact = false;
            }
            Err(e) => tracing::debug!(error = %e, "leases: round failed again"),
        }
        let now = Instant::now();
        let mut held = self.leases.snapshot();
        held.retain(|_, h| h.deadline > now);
        self.leases.publish(held);
        result.is_ok()
    }

    async fn round(&mut self) -> Result<(), StoreError> {
        let node = self.leases.node_id().to_string();
        let lease_ms = millis(self.settings.lease);
        self.store.cluster_heartbeat(&node).await?;
        self.next_round = self.settings.retry;
        let census = self.store.cluster_census(&node, lease_ms).await?;
        // Only a lapse can change what this node may take; live nodes and
        // their leases are renewed further ahead than one retry.
        self.next_round = next_round(self.settings.retry, census.next_change_ms);
        let now = Instant::now();
        let mine: Vec<(i64, i64)> = self
            .leases
            .snapshot()
            .into_iter()
            .filter(|(_, h)| h.deadline > now)
            .map(|(id, h)| (id, h.epoch))
            .collect();
        let sent = Instant::now();
        let renewed = self.store.lease_renew(&node, &mine, lease_ms).await?;
        let deadline = sent + self.settings.renew;
        let mut held: HeldMap = renewed
            .into_iter()
            .map(|(id, epoch)| (id, Held { epoch, deadline }))
            .collect();
        if held.len() < mine.len() {
            tracing::info!(
                node,
                lost = mine.len() - held.len(),
                "leases: some were not renewed (taken over or released)"
            );
        }
        let share = fair_share(census);
        let count = i64::try_from(held.len()).unwrap_or(i64::MAX);
        if count > share {
            // Stop using them here before anyone else may take them.
            let surplus: Vec<i64> = held
                .keys()
                .rev()
                .take(usize::try_from(count - share).unwrap_or(0))
                .copied()
                .collect();
            for id in &surplus {
                held.remove(id);
            }
            self.leases.publish(held.clone());
            self.store.lease_release(&node, Some(&surplus)).await?;
            tracing::info!(
                node,
                released = surplus.len(),
                share,
                "leases: gave surplus back"
            );
        } else if count < share {
            let sent = Instant::now();
            let taken = self
                .store
                .lease_take(&node, share - count, lease_ms)
                .await?;
            let deadline = sent + self.settings.renew;
            if !taken.is_empty() {
                tracing::info!(node, taken = taken.len(), share, "leases: took accounts");
            }
            held.extend(
                taken
                    .into_iter()
                    .map(|(id, epoch)| (id, Held { epoch, deadline })),
            );
            self.tell_sealed(&node).await?;
        }
        self.leases.publish(held);
        Ok(())
    }

    /// Says, once per account, why this node leaves an account's lease
    /// alone: its session is sealed under a key this node does not have.
    async fn tell_sealed(&mut self, node: &str) -> Result<(), StoreError> {
        let sealed = self.store.sealed_accounts().await?;
        for (account, key_id) in &sealed {
            if self.told_sealed.insert(account.clone()) {
                tracing::warn!(
                    node,
                    account = %account,
                    key_id = %key_id,
                    "leases: not taking this account: its session is sealed under a session key \
                     this node does not have (give it the systemd credential session_key)"
                );
            }
        }
        self.told_sealed
            .retain(|a| sealed.iter().any(|(name, _)| name == a));
        Ok(())
    }

    /// Drops every lease here, then gives them back in the database (and
    /// leaves the census) so other nodes take them at their next round.
    pub async fn release_all(&mut self) {
        let node = self.leases.node_id().to_string();
        self.leases.publish(HeldMap::new());
        match tokio::time::timeout(self.settings.renew, self.store.lease_release(&node, None)).await
        {
            Ok(Ok(n)) => tracing::info!(node, released = n, "leases: released for shutdown"),
            Ok(Err(e)) => tracing::warn!(node, error = %e, "leases: cannot release; they expire"),
            Err(_) => tracing::warn!(node, "leases: release timed out; they expire"),
        }
    }
}

/// Wakes the manager whenever a node notifies that it gave leases back
/// (a planned stop hands over in well under a second, not at the next
/// round). The connection is re-made after a loss; the rounds go on
/// regardless, so a lost notification only delays a hand-over to them.
async fn watch_releases(
    mut listener: sqlx::postgres::PgListener,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            r = listener.recv() => match r {
                Ok(_) => wake.notify_one(),
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::debug!(error = %e, "leases: release notifications interrupted");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            },
        }
    }
}

/// `retry`, or just after `next_change_ms` when that comes first.
fn next_round(retry: Duration, next_change_ms: Option<i64>) -> Duration {
    next_change_ms
        .and_then(|ms| u64::try_from(ms).ok())
        .map(|ms| Duration::from_millis(ms) + PAST_EXPIRY)
        .map_or(retry, |at| at.min(retry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_starts_just_after_the_next_lapse_when_that_is_sooner() {
        let retry = Duration::from_secs(2);
        assert_eq!(next_round(retry, None), retry);
        assert_eq!(next_round(retry, Some(10_000)), retry);
        assert_eq!(
            next_round(retry, Some(300)),
            Duration::from_millis(300) + PAST_EXPIRY
        );
        assert_eq!(next_round(retry, Some(-5)), retry);
    }

    #[test]
    fn fair_share_rounds_up_over_live_nodes() {
        let c = |accounts, live_nodes| Census {
            accounts,
            live_nodes,
            next_change_ms: None,
        };
        assert_eq!(fair_share(c(7, 2)), 4);
        assert_eq!(fair_share(c(7, 1)), 7);
        assert_eq!(fair_share(c(6, 3)), 2);
        assert_eq!(fair_share(c(0, 3)), 0);
        assert_eq!(fair_share(c(5, 0)), 5);
    }
}
