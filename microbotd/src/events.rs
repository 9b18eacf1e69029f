//! [`Events`]: how control calls tell the dispatcher that something it
//! schedules has changed, and [`Heartbeat`]: proof that the dispatcher loop
//! is really turning (feeds the systemd watchdog and `doctor`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::mpsc;

/// Something the dispatcher must re-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A template was created, edited, enabled, disabled or deleted.
    Template(i64),
    /// An account's state or scheduler flag changed (resume, start/stop, login, logout).
    Account(i64),
    /// Everything may have changed (restore, apply of many templates).
    All,
}

/// The sending side, shared by every control service.
#[derive(Clone, Debug)]
pub struct Events {
    tx: mpsc::UnboundedSender<Change>,
}

impl Events {
    /// A new channel; the receiver goes to the dispatcher.
    pub fn channel() -> (Events, mpsc::UnboundedReceiver<Change>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Events { tx }, rx)
    }

    /// Tells the dispatcher; a dispatcher that has stopped is not an error.
    pub fn send(&self, change: Change) {
        let _ = self.tx.send(change);
    }
}

/// Unix milliseconds of the dispatcher's last turn (0 = never turned).
#[derive(Clone, Debug, Default)]
pub struct Heartbeat(Arc<AtomicI64>);

impl Heartbeat {
    /// Called by the dispatcher loop each time it turns.
    pub fn beat(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::Relaxed);
    }

    /// When the loop last turned, if ever.
    pub fn last(&self) -> Option<i64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(ms),
        }
    }
}
