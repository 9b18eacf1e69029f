//! [`Outcomes`] and [`run`]: one task writes the outcomes of every worker's
//! sends. Whatever arrived while the previous commit ran goes into the next
//! one, so 100 accounts finishing a burst together cost one commit, not 100
//! (group commit). Nothing waits for it before sending: a row's `random_id`
//! was committed with its claim, so a crash before its outcome is written
//! re-sends the row with the same `random_id`, which Telegram de-duplicates.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::store::deliveries::RowOutcome;
use crate::store::{Store, to_ms};

/// A batch of outcomes of one account, with the lease epoch it was sent under.
type Batch = (i64, Vec<RowOutcome>);

/// Where workers hand their outcomes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outcomes {
    tx: mpsc::UnboundedSender<Batch>,
}

impl Outcomes {
    pub fn channel() -> (Outcomes, mpsc::UnboundedReceiver<Batch>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Outcomes { tx }, rx)
    }

    /// Queues outcomes for the next commit, fenced by `epoch` (the lease
    /// the account was sent under). A writer that has stopped (the daemon
    /// is stopping) loses them harmlessly: the rows stay open and are
    /// re-sent with their `random_id` after the restart.
    pub fn record(&self, epoch: i64, outcomes: Vec<RowOutcome>) {
        if !outcomes.is_empty() {
            let _ = self.tx.send((epoch, outcomes));
        }
    }
}

/// While workers are still finishing a burst, wait for them: at most
/// [`LINGER_MAX`] in all, as long as each next batch comes within
/// [`LINGER_QUIET`], and no more than [`LINGER_ROWS`] rows. One commit then
/// holds the burst, and the database work does not take CPU from the send
/// calls still running (nothing waits on this commit to send: see the
/// module docs).
async fn linger(
    rx: &mut mpsc::UnboundedReceiver<Batch>,
    pending: &mut Vec<(i64, RowOutcome)>,
    add: impl Fn(&mut Vec<(i64, RowOutcome)>, Batch),
) {
    let until = tokio::time::Instant::now() + LINGER_MAX;
    while pending.len() < LINGER_ROWS {
        while let Ok(batch) = rx.try_recv() {
            add(pending, batch);
        }
        let quiet = (tokio::time::Instant::now() + LINGER_QUIET).min(until);
        match tokio::time::timeout_at(quiet, rx.recv()).await {
            Ok(Some(batch)) => add(pending, batch),
            Ok(None) | Err(_) => return,
        }
    }
}

/// See [`linger`].
const LINGER_QUIET: Duration = Duration::from_millis(3);
const LINGER_MAX: Duration = Duration::from_millis(50);
const LINGER_ROWS: usize = 20_000;

/// Writes until every [`Outcomes`] is dropped; after `cancel`, a batch the
/// database refuses is given up instead of retried forever.
pub async fn run(
    store: Store,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    node: Option<String>,
    mut rx: mpsc::UnboundedReceiver<Batch>,
    cancel: CancellationToken,
) {
    let mut pending: Vec<(i64, RowOutcome)> = Vec::new();
    let add = |pending: &mut Vec<(i64, RowOutcome)>, (epoch, batch): Batch| {
        pending.extend(batch.into_iter().map(|o| (epoch, o)));
    };
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(batch) => add(&mut pending, batch),
                None => return,
            }
        }
        linger(&mut rx, &mut pending, add).await;
        match store
            .outbox_apply(&pending, node.as_deref(), to_ms(clock.now()))
            .await
        {
            Ok(_) => pending.clear(),
            Err(e) if cancel.is_cancelled() => {
                tracing::warn!(error = %e, rows = pending.len(), "outcomes not written at shutdown; those rows are re-sent (same random_id) after the restart");
                pending.clear();
            }
            Err(e) => {
                tracing::error!(error = %e, rows = pending.len(), "could not write send outcomes; retrying in 1s");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = cancel.cancelled() => {}
                }
            }
        }
    }
}
