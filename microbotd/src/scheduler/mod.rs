//! The durable dispatcher (docs/DESIGN.md "Delivery semantics"): one timer loop
//! ([`dispatcher::Dispatcher`]) that claims slots `scheduler.lookahead`
//! ahead — their `deliveries` rows and the new `templates.next_slot` in one
//! transaction per burst — and hands the rows to one send worker per account
//! ([`worker::Worker`]), which sends each at its slot under Telegram's
//! limits with the row's committed `random_id`; one writer
//! ([`writer`]) commits the outcomes of all workers together.
//!
//! # Lifecycle
//! [`run`] loads `(next_slot, id)` of every active template in one query,
//! starts the workers (which first read back whatever a crash left open and
//! send it at its slot), then loops until the token is cancelled: workers
//! stop taking new sends, an in-flight send is abandoned (its row stays open
//! and is re-sent with its `random_id` after the restart), the writer
//! commits what it was handed, and `run` returns.
//!
//! The loop beats [`crate::events::Heartbeat`] each turn, at least every
//! [`dispatcher::BEAT`]; change notifications ([`crate::events::Change`])
//! wake it at once.

pub mod backlog;
pub mod dispatcher;
pub mod limits;
pub mod misfire;
pub mod outcome;
pub mod queue;
pub mod timer;
pub mod worker;
pub mod writer;

#[cfg(test)]
mod tests;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::events::Change;

pub use dispatcher::DispatchError;

/// Maps and sets keyed by row, template and chat ids on the send path,
/// where SipHash showed in the profile of a burst. The keys are the
/// database's own ids, never input an outsider chooses, so a fast hasher
/// is safe here.
pub type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// The set form of [`IdMap`].
pub type IdSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// Runs the dispatcher until `cancel`; returns an error only if it failed.
pub async fn run(
    ctx: Context,
    changes: mpsc::UnboundedReceiver<Change>,
    cancel: CancellationToken,
) -> Result<(), DispatchError> {
    let d = dispatcher::Dispatcher::start(ctx, cancel).await?;
    d.run(changes).await
}
