//! [`FakeMessenger`]: a scriptable `Messenger` for tests. Each `send_text`
//! consumes the next programmed [`Outcome`] (FLOOD_WAIT, timeouts, lost
//! replies, …) while a simulated server de-duplicates `random_id`s exactly
//! like Telegram, so tests can assert exactly-once delivery.

mod media;
#[cfg(test)]
mod tests;
mod types;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::watch;

pub use media::MemoryMedia;
pub use types::{DuplicateReply, FollowUp, LoginScript, Outcome, SendAttempt, SentMessage};

use super::dry_run::{dialog_for, matches_search, peer};
use super::{
    AccountKey, Dialog, LoginStart, Messenger, OutgoingText, ResolvedPeer, Secret, Sent, SentRef,
    SignIn, TelegramError, UserInfo,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum LoginState {
    CodeSent,
    PasswordNeeded,
    Authorized(UserInfo),
}

/// (account id, peer id, random id): what Telegram de-duplicates by.
type DedupKey = (i64, i64, i64);

#[derive(Default)]
struct Inner {
    account_scripts: HashMap<String, VecDeque<Outcome>>,
    chat_scripts: HashMap<i64, VecDeque<Outcome>>,
    duplicate_reply: DuplicateReply,
    stored: HashMap<DedupKey, i64>,
    in_flight: HashSet<DedupKey>,
    last_message_id: HashMap<i64, i64>,
    /// Peers as resolved by the caller, for `dialogs`.
    peers: HashMap<i64, ResolvedPeer>,
    sent: Vec<SentMessage>,
    attempts: Vec<SendAttempt>,
    login_scripts: HashMap<String, LoginScript>,
    logins: HashMap<String, LoginState>,
    resolve_failures: HashMap<String, TelegramError>,
    extra_dialogs: HashMap<String, Vec<Dialog>>,
    /// Names of accounts released ([`Messenger::release`]), in order.
    released: Vec<String>,
    /// Pins and deletes that succeeded, in order.
    follow_ups: Vec<FollowUp>,
    /// Errors the next pin/delete calls return, one each.
    follow_up_failures: VecDeque<TelegramError>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    sends: usize,
    attempts: usize,
}

/// A scriptable, in-memory `Messenger` (see the module docs).
///
/// Scripts and logins are keyed by account *name* (what tests choose);
/// the simulated server keys de-duplication and message ids by account
/// *id*, like Telegram keys them by user.
pub struct FakeMessenger {
    /// Never held across an await.
    inner: Mutex<Inner>,
    /// A watch rather than `Notify`: a waiter that subscribes after the
    /// event still sees the count, so there is no lost-wakeup race.
    progress: watch::Sender<Progress>,
    /// How many times `shutdown` was called.
    shutdowns: std::sync::atomic::AtomicUsize,
}

impl Default for FakeMessenger {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeMessenger {
    pub fn new() -> Self {
        FakeMessenger {
            inner: Mutex::new(Inner::default()),
            progress: watch::Sender::new(Progress::default()),
            shutdowns: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// How many times `shutdown` reached this messenger (through whatever
    /// wraps it).
    pub fn shutdowns(&self) -> usize {
        self.shutdowns.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A test assertion panicking elsewhere must not hide the real
        // failure behind poison errors here.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues outcomes for this account's next sends (to any chat).
    pub fn script_account(&self, account: &str, outcomes: impl IntoIterator<Item = Outcome>) {
        let mut inner = self.inner();
        let queue = inner.account_scripts.entry(account.to_owned()).or_default();
        queue.extend(outcomes);
    }

    /// Queues outcomes for the next sends to this peer (from any account).
    /// A chat script is consulted before the account's.
    pub fn script_chat(&self, peer_id: i64, outcomes: impl IntoIterator<Item = Outcome>) {
        let mut inner = self.inner();
        inner
            .chat_scripts
            .entry(peer_id)
            .or_default()
            .extend(outcomes);
    }

    /// Outcomes not consumed yet, account and chat scripts together.
    pub fn unconsumed_outcomes(&self) -> usize {
        let inner = self.inner();
        let accounts: usize = inner.account_scripts.values().map(VecDeque::len).sum();
        accounts
            + inner
                .chat_scripts
                .values()
                .map(VecDeque::len)
                .sum::<usize>()
    }

    pub fn set_duplicate_reply(&self, reply: DuplicateReply) {
        self.inner().duplicate_reply = reply;
    }

    pub fn set_login(&self, account: &str, script: LoginScript) {
        self.inner()
            .login_scripts
            .insert(account.to_owned(), script);
    }

    /// Makes `resolve(target)` fail with `err` until cleared.
    pub fn fail_resolve(&self, target: &str, err: TelegramError) {
        self.inner()
            .resolve_failures
            .insert(target.trim().to_owned(), err);
    }

    pub fn clear_resolve_failure(&self, target: &str) {
        self.inner().resolve_failures.remove(target.trim());
    }

    /// Adds a dialog the account "sees" besides the chats it sent to.
    pub fn add_dialog(&self, account: &str, dialog: Dialog) {
        let mut inner = self.inner();
        inner
            .extra_dialogs
            .entry(account.to_owned())
            .or_default()
            .push(dialog);
    }

    /// Messages the server stored, in order; duplicates are not repeated.
    /// Accounts this node let go of, in the order it did.
    pub fn released(&self) -> Vec<String> {
        self.inner().released.clone()
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.inner().sent.clone()
    }

    /// Pins and deletes that succeeded, in order.
    pub fn follow_ups(&self) -> Vec<FollowUp> {
        self.inner().follow_ups.clone()
    }

    /// Makes the next pin or delete call fail with `err` (once per call).
    pub fn fail_follow_up(&self, err: TelegramError) {
        self.inner().follow_up_failures.push_back(err);
    }

    fn follow_up(&self, f: FollowUp) -> Result<(), TelegramError> {
        let mut inner = self.inner();
        if let Some(err) = inner.follow_up_failures.pop_front() {
            return Err(err);
        }
        inner.follow_ups.push(f);
        Ok(())
    }

    /// Every `send_text` call so far, including failed and duplicate ones.
    pub fn attempts(&self) -> Vec<SendAttempt> {
        self.inner().attempts.clone()
    }

    pub fn send_attempts(&self) -> usize {
        self.inner().attempts.len()
    }

    /// Whether the account finished a login and has not logged out.
    pub fn is_authorized(&self, account: &str) -> bool {
        matches!(
            self.inner().logins.get(account),
            Some(LoginState::Authorized(_))
        )
    }

    /// The user a fake account logs in as.
    pub fn user_for(account: &str) -> UserInfo {
        UserInfo {
            user_id: peer::stable_user_id("fake-account", account),
            display: format!("Fake ({account})"),
        }
    }

    /// Waits until the server has stored at least `n` messages; false on
    /// timeout. Lets tests wait for the dispatcher without sleeping.
    pub async fn wait_for_sends(&self, n: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |p| p.sends >= n).await
    }

    /// Waits until `send_text` was called at least `n` times (failures
    /// included); false on timeout.
    pub async fn wait_for_attempts(&self, n: usize, timeout: Duration) -> bool {
        self.wait_for(timeout, |p| p.attempts >= n).await
    }

    async fn wait_for(&self, timeout: Duration, done: impl FnMut(&Progress) -> bool) -> bool {
        let mut rx = self.progress.subscribe();
        matches!(
            tokio::time::timeout(timeout, rx.wait_for(done)).await,
            Ok(Ok(_))
        )
    }

    /// Records the attempt and picks its outcome.
    fn begin_attempt(&self, account: &AccountKey, msg: &OutgoingText<'_>) -> Outcome {
        let outcome = {
            let mut inner = self.inner();
            inner.attempts.push(SendAttempt {
                account: account.name.clone(),
                peer_id: msg.peer.peer_id,
                random_id: msg.random_id,
                at: Utc::now(),
            });
            let from_chat = inner
                .chat_scripts
                .get_mut(&msg.peer.peer_id)
                .and_then(VecDeque::pop_front);
            from_chat
                .or_else(|| {
                    let queue = inner.account_scripts.get_mut(&account.name)?;
                    queue.pop_front()
                })
                .unwrap_or(Outcome::Ok)
        };
        self.progress.send_modify(|p| p.attempts += 1);
        outcome
    }

    /// The simulated server's `messages.sendMessage`.
    fn deliver(&self, account: &AccountKey, msg: &OutgoingText<'_>) -> Result<Sent, TelegramError> {
        let key = (account.id, msg.peer.peer_id, msg.random_id);
        // An album's items take consecutive ids, like Telegram's.
        let album = |first: i64| -> Vec<i64> {
            (1..msg.attachments.len() as i64)
                .map(|i| first + i)
                .collect()
        };
        let message_id = {
            let mut inner = self.inner();
            if inner.in_flight.contains(&key) {
                return Err(TelegramError::RandomIdDuplicate);
            }
            if let Some(&message_id) = inner.stored.get(&key) {
                return match inner.duplicate_reply {
                    DuplicateReply::Original => Ok(Sent {
                        message_id,
                        album_ids: album(message_id),
                        duplicate: true,
                    }),
                    DuplicateReply::RandomIdDuplicate => Err(TelegramError::RandomIdDuplicate),
                };
            }
            let last = inner.last_message_id.entry(account.id).or_insert(0);
            *last += 1;
            let message_id = *last;
            *last += msg.attachments.len().saturating_sub(1) as i64;
            inner.stored.insert(key, message_id);
            inner.peers.insert(msg.peer.peer_id, msg.peer.clone());
            inner.sent.push(SentMessage {
                account: account.clone(),
                peer_id: msg.peer.peer_id,
                chat_label: msg.chat_label.to_owned(),
                text: msg.text.to_owned(),
                parse_mode: msg.parse_mode,
                random_id: msg.random_id,
                template_id: msg.template_id,
                slot: msg.slot,
                at: Utc::now(),
                message_id,
                silent: msg.silent,
                no_preview: msg.no_preview,
                attachments: msg.attachments.to_vec(),
                album_ids: album(message_id),
            });
            message_id
        };
        self.progress.send_modify(|p| p.sends += 1);
        Ok(Sent {
            message_id,
            album_ids: album(message_id),
            duplicate: false,
        })
    }

    fn login_script(inner: &mut Inner, account: &str) -> LoginScript {
        inner
            .login_scripts
            .entry(account.to_owned())
            .or_default()
            .clone()
    }
}

/// Marks a request as in flight; unmarks it however the call ends,
/// including by cancellation.
struct InFlight<'a> {
    fake: &'a FakeMessenger,
    key: DedupKey,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.fake.inner().in_flight.remove(&self.key);
    }
}

#[async_trait]
impl Messenger for FakeMessenger {
    async fn shutdown(&self) {
        self.shutdowns
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    async fn request_code(
        &self,
        account: &AccountKey,
        _phone: &Secret,
    ) -> Result<LoginStart, TelegramError> {
        let mut inner = self.inner();
        let script = inner.login_scripts.entry(account.name.clone()).or_default();
        if let Some(err) = script.request_error.take() {
            return Err(err);
        }
        if let Some(LoginState::Authorized(user)) = inner.logins.get(&account.name) {
            return Ok(LoginStart::AlreadyAuthorized(user.clone()));
        }
        inner
            .logins
            .insert(account.name.clone(), LoginState::CodeSent);
        Ok(LoginStart::CodeSent { via: "fake".into() })
    }

    async fn submit_code(
        &self,
        account: &AccountKey,
        code: &Secret,
    ) -> Result<SignIn, TelegramError> {
        let mut inner = self.inner();
        if inner.logins.get(&account.name) != Some(&LoginState::CodeSent) {
            return Err(TelegramError::NoLoginInProgress);
        }
        let forced = inner
            .login_scripts
            .get_mut(&account.name)
            .and_then(|s| s.code_error.take());
        if let Some(err) = forced {
            inner.logins.remove(&account.name);
            return Err(err);
        }
        let script = Self::login_script(&mut inner, &account.name);
        if code.expose() != script.code {
            return Err(TelegramError::CodeInvalid);
        }
        if script.password.is_some() {
            inner
                .logins
                .insert(account.name.clone(), LoginState::PasswordNeeded);
            return Ok(SignIn::PasswordNeeded { hint: script.hint });
        }
        let user = Self::user_for(&account.name);
        inner
            .logins
            .insert(account.name.clone(), LoginState::Authorized(user.clone()));
        Ok(SignIn::Done(user))
    }

    async fn submit_password(
        &self,
        account: &AccountKey,
        password: &Secret,
    ) -> Result<UserInfo, TelegramError> {
        let mut inner = self.inner();
        if inner.logins.get(&account.name) != Some(&LoginState::PasswordNeeded) {
            return Err(TelegramError::NoLoginInProgress);
        }
        let script = Self::login_script(&mut inner, &account.name);
        if script.password.as_deref() != Some(password.expose()) {
            return Err(TelegramError::PasswordInvalid);
        }
        let user = Self::user_for(&account.name);
        inner
            .logins
            .insert(account.name.clone(), LoginState::Authorized(user.clone()));
        Ok(user)
    }

    async fn release(&self, account: &AccountKey) {
        self.inner().released.push(account.name.clone());
    }

    async fn log_out(&self, account: &AccountKey) -> Result<(), TelegramError> {
        self.inner().logins.remove(&account.name);
        Ok(())
    }

    async fn resolve(
        &self,
        _account: &AccountKey,
        target: &str,
    ) -> Result<ResolvedPeer, TelegramError> {
        if let Some(err) = self.inner().resolve_failures.get(target.trim()) {
            return Err(err.clone());
        }
        peer::resolve_offline(target)
    }

    async fn send_text(
        &self,
        account: &AccountKey,
        msg: &OutgoingText<'_>,
    ) -> Result<Sent, TelegramError> {
        match self.begin_attempt(account, msg) {
            Outcome::Ok => self.deliver(account, msg),
            Outcome::Err(err) => Err(err),
            Outcome::Hang(d) => {
                tokio::time::sleep(d).await;
                Err(TelegramError::Transient("request timed out".into()))
            }
            Outcome::AcceptThenLoseReply => {
                // Whatever the server answered (even a duplicate), the
                // caller never hears it.
                let _ = self.deliver(account, msg);
                Err(TelegramError::Transient("reply lost".into()))
            }
            Outcome::Slow(d) => {
                let key = (account.id, msg.peer.peer_id, msg.random_id);
                if !self.inner().in_flight.insert(key) {
                    return Err(TelegramError::RandomIdDuplicate);
                }
                let guard = InFlight { fake: self, key };
                tokio::time::sleep(d).await;
                drop(guard);
                self.deliver(account, msg)
            }
        }
    }

    async fn pin_message(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
        notify: bool,
    ) -> Result<(), TelegramError> {
        self.follow_up(FollowUp::Pin {
            account: account.name.clone(),
            peer_id: msg.peer.peer_id,
            message_id: msg.message_id,
            notify,
        })
    }

    async fn delete_message(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
    ) -> Result<(), TelegramError> {
        self.follow_up(FollowUp::Delete {
            account: account.name.clone(),
            peer_id: msg.peer.peer_id,
            message_id: msg.message_id,
        })
    }

    async fn dialogs(
        &self,
        account: &AccountKey,
        search: Option<&str>,
    ) -> Result<Vec<Dialog>, TelegramError> {
        let inner = self.inner();
        let mut seen: Vec<i64> = Vec::new();
        let mut dialogs = Vec::new();
        // Most recent first, like Telegram's own list.
        for m in inner
            .sent
            .iter()
            .rev()
            .filter(|m| m.account.id == account.id)
        {
            if seen.contains(&m.peer_id) {
                continue;
            }
            seen.push(m.peer_id);
            let peer = ResolvedPeer {
                title: m.chat_label.clone(),
                ..inner.peers[&m.peer_id].clone()
            };
            dialogs.push(dialog_for(&peer));
        }
        let extra = inner.extra_dialogs.get(&account.name).into_iter().flatten();
        dialogs.extend(extra.filter(|d| !seen.contains(&d.peer.peer_id)).cloned());
        dialogs.retain(|d| matches_search(d, search));
        Ok(dialogs)
    }
}
