//! [`NullMessenger`]: accepts every send at once and records when each send
//! call arrived, so precision and throughput measure microbot, not a
//! transport.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use microbotd::telegram::{
    AccountKey, Dialog, LoginStart, Messenger, OutgoingText, ResolvedPeer, Secret, Sent, SentRef,
    SignIn, TelegramError, UserInfo,
};
use tokio::sync::Notify;

/// One recorded send call.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub at: DateTime<Utc>,
    pub slot: Option<DateTime<Utc>>,
    pub account: i64,
}

/// A recorded call: microseconds since the epoch, the slot in
/// milliseconds (`i64::MIN`: none), the account.
#[derive(Default)]
struct Slot {
    at_us: AtomicI64,
    slot_ms: AtomicI64,
    account: AtomicI64,
}

impl Slot {
    fn read(&self) -> Call {
        let slot = self.slot_ms.load(Ordering::Relaxed);
        Call {
            at: DateTime::from_timestamp_micros(self.at_us.load(Ordering::Relaxed))
                .unwrap_or_default(),
            slot: (slot != i64::MIN)
                .then(|| DateTime::from_timestamp_millis(slot))
                .flatten(),
            account: self.account.load(Ordering::Relaxed),
        }
    }
}

#[derive(Default)]
pub struct NullMessenger {
    /// Off for the soak: a growing record would look like a daemon leak.
    record: bool,
    /// One slot per expected call, plain atomics written without a lock:
    /// a contended mutex and a growing vector's copies were a tenth of the
    /// burst the record measures (and a `OnceLock` per call still showed).
    /// Calls beyond them go to `overflow`.
    slots: Box<[Slot]>,
    overflow: Mutex<Vec<Call>>,
    /// The next free slot. `count` rises only after a call is recorded,
    /// so a waiter that sees the count sees every call.
    next: AtomicUsize,
    count: AtomicUsize,
    /// The count [`NullMessenger::wait_for`] waits for: only reaching it
    /// wakes the waiter, so the measuring task does not run once per send
    /// in the middle of the burst it measures.
    target: AtomicUsize,
    changed: Notify,
}

impl NullMessenger {
    /// Records every call's instant and slot; room for `expected` calls
    /// is made ahead.
    pub fn recording(expected: usize) -> Self {
        NullMessenger {
            record: true,
            slots: (0..expected).map(|_| Slot::default()).collect(),
            ..Default::default()
        }
    }

    /// Only counts calls (constant memory).
    pub fn counting() -> Self {
        NullMessenger::default()
    }

    pub fn calls(&self) -> Vec<Call> {
        let used = self.next.load(Ordering::SeqCst).min(self.slots.len());
        let mut calls: Vec<Call> = self.slots[..used].iter().map(Slot::read).collect();
        calls.extend(self.overflow.lock().unwrap().iter().copied());
        calls
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` sends arrived; false on timeout.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        self.target.store(n, Ordering::SeqCst);
        loop {
            let notified = self.changed.notified();
            if self.count() >= n {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count() >= n;
            }
        }
    }
}

fn user() -> UserInfo {
    UserInfo {
        user_id: 1,
        display: "@bench".into(),
    }
}

#[async_trait]
impl Messenger for NullMessenger {
    async fn request_code(&self, _: &AccountKey, _: &Secret) -> Result<LoginStart, TelegramError> {
        Ok(LoginStart::AlreadyAuthorized(user()))
    }

    async fn submit_code(&self, _: &AccountKey, _: &Secret) -> Result<SignIn, TelegramError> {
        Ok(SignIn::Done(user()))
    }

    async fn submit_password(&self, _: &AccountKey, _: &Secret) -> Result<UserInfo, TelegramError> {
        Ok(user())
    }

    async fn log_out(&self, _: &AccountKey) -> Result<(), TelegramError> {
        Ok(())
    }

    async fn resolve(&self, _: &AccountKey, target: &str) -> Result<ResolvedPeer, TelegramError> {
        Err(TelegramError::PeerInvalid {
            code: format!("bench targets are pre-resolved: {target}"),
        })
    }

    async fn send_text(
        &self,
        account: &AccountKey,
        msg: &OutgoingText<'_>,
    ) -> Result<Sent, TelegramError> {
        let at = Utc::now();
        if self.record {
            let call = Call {
                at,
                slot: msg.slot,
                account: account.id,
            };
            match self.slots.get(self.next.fetch_add(1, Ordering::Relaxed)) {
                Some(s) => {
                    s.at_us.store(call.at.timestamp_micros(), Ordering::Relaxed);
                    s.slot_ms.store(
                        call.slot.map_or(i64::MIN, |t| t.timestamp_millis()),
                        Ordering::Relaxed,
                    );
                    s.account.store(call.account, Ordering::Relaxed);
                }
                None => self.overflow.lock().unwrap().push(call),
            }
        }
        let n = self.count.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= self.target.load(Ordering::SeqCst) {
            self.changed.notify_waiters();
        }
        Ok(Sent {
            message_id: n as i64,
            album_ids: Vec::new(),
            duplicate: false,
        })
    }

    /// Bench templates neither pin nor replace; accepting is enough.
    async fn pin_message(
        &self,
        _: &AccountKey,
        _: &SentRef<'_>,
        _: bool,
    ) -> Result<(), TelegramError> {
        Ok(())
    }

    async fn delete_message(&self, _: &AccountKey, _: &SentRef<'_>) -> Result<(), TelegramError> {
        Ok(())
    }

    async fn dialogs(&self, _: &AccountKey, _: Option<&str>) -> Result<Vec<Dialog>, TelegramError> {
        Ok(Vec::new())
    }
}
