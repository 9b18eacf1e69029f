//! [`Leases`]: this node's view of the account leases it holds, shared by
//! the dispatcher, the workers and the control services. Cheap to clone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::events::{Change, Events};

/// One held lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// The fencing token to write under.
    pub epoch: i64,
    /// When this node stops trusting the lease: the monotonic instant just
    /// before the statement that last took or renewed it was sent, plus
    /// `cluster.renew` (which is shorter than `cluster.lease`, so the node
    /// goes silent before the database can give the account to another).
    pub deadline: Instant,
}

/// Account id → lease, as published by the manager.
pub type HeldMap = BTreeMap<i64, Held>;

/// The handle. On SQLite every account is held under epoch 0, always.
#[derive(Clone)]
pub struct Leases(Arc<Shared>);

struct Shared {
    node_id: String,
    cluster: Option<Cluster>,
}

struct Cluster {
    held: watch::Sender<HeldMap>,
    events: Events,
}

impl std::fmt::Debug for Leases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leases")
            .field("node_id", &self.0.node_id)
            .field("cluster", &self.0.cluster.is_some())
            .finish()
    }
}

impl Leases {
    /// Single-node (SQLite): every account held under epoch 0.
    pub fn single_node(node_id: String) -> Leases {
        Leases(Arc::new(Shared {
            node_id,
            cluster: None,
        }))
    }

    /// A cluster handle whose held set the manager publishes.
    pub(crate) fn clustered(node_id: String, events: Events) -> Leases {
        Leases(Arc::new(Shared {
            node_id,
            cluster: Some(Cluster {
                held: watch::Sender::new(HeldMap::new()),
                events,
            }),
        }))
    }

    /// This daemon's `daemon.node_id`.
    pub fn node_id(&self) -> &str {
        &self.0.node_id
    }

    /// The node id to fence account writes with (`store::cluster::lease_fence`),
    /// `None` without leases (single-node), where writes are not fenced.
    pub fn fence_node(&self) -> Option<&str> {
        self.0.cluster.as_ref().map(|_| self.0.node_id.as_str())
    }

    /// False on SQLite.
    pub fn is_cluster(&self) -> bool {
        self.0.cluster.is_some()
    }

    /// The epoch to write under while this node may send for `account_id`;
    /// `None` once its local deadline has passed (even before the manager
    /// has noticed), or when another node holds it. Check it right before
    /// a send ([`Leases::held_until`] for a run of sends).
    pub fn held(&self, account_id: i64) -> Option<i64> {
        self.held_until(account_id).map(|(epoch, _)| epoch)
    }

    /// [`Leases::held`] for many sends in a row: the epoch and the local
    /// deadline (`None` on SQLite: no end), read once; the caller compares
    /// the deadline with its clock before each send. A lease the manager
    /// drops before its deadline (a release) is noticed at the caller's
    /// next read — after its next wait — and a send made meanwhile is
    /// still one the database accepts only under this epoch, with a
    /// `random_id` another node's repeat is de-duplicated against.
    pub fn held_until(&self, account_id: i64) -> Option<(i64, Option<Instant>)> {
        let Some(c) = &self.0.cluster else {
            return Some((0, None));
        };
        let now = Instant::now();
        c.held
            .borrow()
            .get(&account_id)
            .filter(|h| h.deadline > now)
            .map(|h| (h.epoch, Some(h.deadline)))
    }

    /// The accounts held now, with their epochs (empty on SQLite, where
    /// [`Leases::held`] answers for any account).
    pub fn held_accounts(&self) -> Vec<(i64, i64)> {
        let Some(c) = &self.0.cluster else {
            return Vec::new();
        };
        let now = Instant::now();
        c.held
            .borrow()
            .iter()
            .filter(|(_, h)| h.deadline > now)
            .map(|(id, h)| (*id, h.epoch))
            .collect()
    }

    /// Changes whenever an account is gained or lost (not on a plain
    /// renew). On SQLite it never changes. Besides this, each gained or lost
    /// account is sent to the dispatcher as `Change::Account(id)`.
    pub fn subscribe(&self) -> watch::Receiver<HeldMap> {
        match &self.0.cluster {
            Some(c) => c.held.subscribe(),
            None => watch::Sender::new(HeldMap::new()).subscribe(),
        }
    }

    /// A fenced write under `epoch` changed nothing: another node has the
    /// account. Drops it here at once (if still under that epoch); the
    /// manager may take it again later under a new epoch.
    pub fn lost(&self, account_id: i64, epoch: i64) {
        let Some(c) = &self.0.cluster else {
            return;
        };
        let dropped = c.held.send_if_modified(|m| {
            if m.get(&account_id).is_some_and(|h| h.epoch == epoch) {
                m.remove(&account_id);
                true
            } else {
                false
            }
        });
        if dropped {
            tracing::warn!(
                account_id,
                epoch,
                "lease lost: a fenced write changed nothing; another node holds the account"
            );
            c.events.send(Change::Account(account_id));
        }
    }

    /// Replaces the held set (the manager's result of one round). Tells
    /// subscribers and the dispatcher about accounts gained, lost or
    /// re-taken under a new epoch; deadlines alone change silently.
    pub(crate) fn publish(&self, next: HeldMap) {
        let Some(c) = &self.0.cluster else {
            return;
        };
        let mut changed = Vec::new();
        c.held.send_if_modified(|m| {
            for (id, h) in m.iter() {
                if next.get(id).is_none_or(|n| n.epoch != h.epoch) {
                    changed.push(*id);
                }
            }
            for id in next.keys() {
                if !m.contains_key(id) {
                    changed.push(*id);
                }
            }
            *m = next;
            !changed.is_empty()
        });
        for id in changed {
            c.events.send(Change::Account(id));
        }
    }

    /// The published map, deadlines included (the manager's starting point).
    pub(super) fn snapshot(&self) -> HeldMap {
        match &self.0.cluster {
            Some(c) => c.held.borrow().clone(),
            None => HeldMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn map(entries: &[(i64, i64, Duration)]) -> HeldMap {
        let now = Instant::now();
        entries
            .iter()
            .map(|(id, epoch, left)| {
                (
                    *id,
                    Held {
                        epoch: *epoch,
                        deadline: now + *left,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn single_node_holds_everything_under_epoch_0() {
        let l = Leases::single_node("solo".into());
        assert_eq!(l.held(42), Some(0));
        assert!(!l.is_cluster());
        l.lost(42, 0);
        assert_eq!(l.held(42), Some(0), "nothing to lose on SQLite");
    }

    #[test]
    fn held_ends_at_the_local_deadline_and_changes_are_told() {
        let (events, mut rx) = Events::channel();
        let l = Leases::clustered("n".into(), events);
        let mut watch = l.subscribe();
        let long = Duration::from_secs(60);
        l.publish(map(&[(1, 3, long), (2, 1, Duration::ZERO)]));
        assert!(watch.has_changed().unwrap());
        watch.mark_unchanged();
        assert_eq!(l.held(1), Some(3));
        assert_eq!(l.held(2), None, "past its deadline: silent at once");
        assert_eq!(l.held(9), None);
        let told: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(told, vec![Change::Account(1), Change::Account(2)]);
        // A renew (same epochs, new deadlines) is not a change.
        l.publish(map(&[(1, 3, long), (2, 1, long)]));
        assert!(!watch.has_changed().unwrap());
        assert!(rx.try_recv().is_err());
        // A stale epoch is ignored; the current one drops the account.
        l.lost(1, 2);
        assert_eq!(l.held(1), Some(3));
        l.lost(1, 3);
        assert_eq!(l.held(1), None);
        assert!(watch.has_changed().unwrap());
        assert_eq!(rx.try_recv().unwrap(), Change::Account(1));
        // Re-taken under a new epoch: a change too.
        l.publish(map(&[(1, 4, long), (2, 1, long)]));
        assert_eq!(rx.try_recv().unwrap(), Change::Account(1));
        assert_eq!(l.held_accounts(), vec![(1, 4), (2, 1)]);
    }
}
