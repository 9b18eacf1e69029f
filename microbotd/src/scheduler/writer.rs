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

/// Where workers hand their outcomes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outcomes {
    tx: mpsc::UnboundedSender<Vec<RowOutcome>>,
}

impl Outcomes {
    pub fn channel() -> (Outcomes, mpsc::UnboundedReceiver<Vec<RowOutcome>>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Outcomes { tx }, rx)
    }

    /// Queues outcomes for the next commit. A writer that has stopped (the
    /// daemon is stopping) loses them harmlessly: the rows stay open and are
    /// re-sent with their `random_id` after the restart.
    pub fn record(&self, outcomes: Vec<RowOutcome>) {
        if !outcomes.is_empty() {
            let _ = self.tx.send(outcomes);
        }
    }
}

/// Writes until every [`Outcomes`] is dropped; after `cancel`, a batch the
/// database refuses is given up instead of retried forever.
pub async fn run(
    store: Store,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    mut rx: mpsc::UnboundedReceiver<Vec<RowOutcome>>,
    cancel: CancellationToken,
) {
    let mut pending: Vec<RowOutcome> = Vec::new();
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(batch) => pending.extend(batch),
                None => return,
            }
        }
        while let Ok(batch) = rx.try_recv() {
            pending.extend(batch);
        }
        match store.outbox_apply(&pending, to_ms(clock.now())).await {
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
