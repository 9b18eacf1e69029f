//! [`Events`]: how control calls tell the dispatcher that something it
//! schedules has changed, and [`Heartbeat`]: proof that the dispatcher loop
//! is really turning (feeds the systemd watchdog and `doctor`).
//!
//! [`Revisions`] make a change visible to the send workers at once: the
//! control call bumps the template's (or account's) revision when it sends
//! the change, after its commit and before it answers. A worker compares a
//! row's revision with the current one right before the send call, so once
//! `template edit` has answered, the old text can no longer be sent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    revisions: Arc<Revisions>,
}

impl Events {
    /// A new channel; the receiver goes to the dispatcher.
    pub fn channel() -> (Events, mpsc::UnboundedReceiver<Change>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let revisions = Arc::new(Revisions::default());
        (Events { tx, revisions }, rx)
    }

    /// Bumps the revision of what changed, then tells the dispatcher; a
    /// dispatcher that has stopped is not an error.
    pub fn send(&self, change: Change) {
        self.revisions.bump(change);
        let _ = self.tx.send(change);
    }

    /// The revisions every send worker checks before a send.
    pub fn revisions(&self) -> &Arc<Revisions> {
        &self.revisions
    }
}

/// A counter per changed template and account (absent = 0), plus one for
/// "everything" ([`Change::All`]). Bytes per edited template; lookups take
/// a short lock, never across an await.
#[derive(Debug, Default)]
pub struct Revisions {
    inner: Mutex<RevisionMap>,
    /// The counter, readable without the lock: a send worker checks it
    /// before every send, and when nothing changed since the row was read
    /// (the common case) it needs no lookup.
    latest: AtomicU64,
}

#[derive(Debug, Default)]
struct RevisionMap {
    counter: u64,
    all: u64,
    templates: HashMap<i64, u64>,
    accounts: HashMap<i64, u64>,
}

impl Revisions {
    fn bump(&self, change: Change) {
        let mut m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.counter += 1;
        let n = m.counter;
        match change {
            Change::Template(id) => {
                m.templates.insert(id, n);
            }
            Change::Account(id) => {
                m.accounts.insert(id, n);
            }
            Change::All => m.all = n,
        }
        self.latest.store(n, Ordering::Release);
    }

    /// Whether the template changed after revision `seen` was read.
    pub fn template_changed_since(&self, id: i64, seen: u64) -> bool {
        self.latest.load(Ordering::Acquire) > seen && self.template(id) > seen
    }

    /// The counter now: read it BEFORE reading a template or account from
    /// the database; a revision above it later means a change committed
    /// after (or during) that read.
    pub fn counter(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).counter
    }

    /// The template's current revision.
    pub fn template(&self, id: i64) -> u64 {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.templates.get(&id).copied().unwrap_or(0).max(m.all)
    }

    /// The account's current revision.
    pub fn account(&self, id: i64) -> u64 {
        let m = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        m.accounts.get(&id).copied().unwrap_or(0).max(m.all)
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
