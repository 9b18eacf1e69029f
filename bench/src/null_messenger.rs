//! [`NullMessenger`]: accepts every send at once and records when each send
//! call arrived, so precision and throughput measure microbot, not a
//! transport.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
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

#[derive(Default)]
pub struct NullMessenger {
    /// Off for the soak: a growing record would look like a daemon leak.
    record: bool,
    calls: Mutex<Vec<Call>>,
    count: AtomicUsize,
    /// The count [`NullMessenger::wait_for`] waits for: only reaching it
    /// wakes the waiter, so the measuring task does not run once per send
    /// in the middle of the burst it measures.
    target: AtomicUsize,
    changed: Notify,
}

impl NullMessenger {
    /// Records every call's instant and slot.
    pub fn recording() -> Self {
        NullMessenger {
            record: true,
            ..Default::default()
        }
    }

    /// Only counts calls (constant memory).
    pub fn counting() -> Self {
        NullMessenger::default()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
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
            self.calls.lock().unwrap().push(Call {
                at,
                slot: msg.slot,
                account: account.id,
            });
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
