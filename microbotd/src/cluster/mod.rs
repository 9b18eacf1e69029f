//! Several `microbotd` on one PostgreSQL (docs/ARCHITECTURE.md "Several
//! nodes"): each account is leased by one node at a time.
//!
//! * [`Leases`] (in `Context` as `ctx.leases`) answers "may this node send
//!   for account A now, and under which epoch?" and tells who is interested
//!   when the held set changes.
//! * [`LeaseManager`] is the background task that heartbeats, renews, takes
//!   a fair share and gives surplus back, every `cluster.retry`.
//! * [`lease_fence`] is the SQL predicate every account write is made
//!   conditional on.
//! * [`single_node`]: SQLite is single-node — every account is held under
//!   epoch 0 with no task, and a lock file keeps a second daemon off the
//!   database file.
//!
//! # Lifecycle
//! [`start`] builds the handle (and, on PostgreSQL, the manager); `lib.rs`
//! spawns [`LeaseManager::run`] and stops it after the dispatcher, when it
//! releases every lease at once so a planned restart hands over at once.

mod leases;
mod manager;
pub mod single_node;

#[cfg(test)]
mod session_tests;
#[cfg(test)]
mod tests;

pub use leases::{Held, HeldMap, Leases};
pub use manager::LeaseManager;

pub use crate::store::cluster::lease_fence;

use crate::config::Config;
use crate::events::Events;
use crate::store::{Backend, Store};

/// The lease handle for this daemon and, on PostgreSQL, the manager that
/// keeps it current (not yet running).
pub fn start(config: &Config, store: &Store, events: Events) -> (Leases, Option<LeaseManager>) {
    let node = config.daemon.node_id.clone();
    match store.backend() {
        Backend::Sqlite => (Leases::single_node(node), None),
        Backend::Postgres => {
            let (manager, leases) = LeaseManager::new(store.clone(), node, config.cluster, events);
            (leases, Some(manager))
        }
    }
}
