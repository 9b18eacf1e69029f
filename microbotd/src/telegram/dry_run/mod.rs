//! [`DryRunMessenger`]: a `Messenger` that never touches the network. Every
//! accepted send is appended and fsynced to a JSONL ledger, with Telegram's
//! `random_id` de-duplication, so staging and demos exercise the daemon's
//! exactly-once machinery for real. Login accepts the code `22222`.
//!
//! A login stores a stand-in session (no auth key: a labelled placeholder)
//! through the [`SessionStore`] when one is given, so the way sessions are
//! kept — sealed under the session key, carried by backups, shown `sealed`
//! on a host without the key — can be exercised without Telegram.

mod attachments;
mod ledger;
pub(crate) mod peer;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, hash_map::Entry};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::Mutex;

use ledger::Ledger;
pub use ledger::{ActionKind, LedgerAction, LedgerAttachment, LedgerEntry};

use crate::telegram::{
    AccountKey, Dialog, LoginStart, MediaSource, Messenger, OutgoingText, ResolvedPeer, Secret,
    Sent, SentRef, SessionStore, SignIn, TelegramError, UserInfo,
};

/// The start of every stand-in session dry-run stores (tests look for it
/// in raw database bytes and backups: it must never be there in clear
/// when a session key is set).
pub const SESSION_MARK: &str = "microbot-dry-run-session";

/// The login code dry-run accepts, the same one Telegram's test servers use.
pub const DRY_RUN_CODE: &str = "22222";

/// Telegram's limit, in UTF-16 code units, for one message's text.
const MAX_TEXT_UTF16: usize = 4096;
/// … and for a caption under attachments.
const MAX_CAPTION_UTF16: usize = 1024;

/// The ledger could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error("dry-run ledger {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("dry-run ledger {} is in use by another process", path.display())]
    Locked { path: PathBuf },
    #[error(
        "dry-run ledger {} is corrupt at line {line}: {source}; \
         fix or move that line (only a torn last line is repaired automatically)",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
}

/// (account id, peer id, random id): what Telegram de-duplicates by.
type DedupKey = (i64, i64, i64);

/// A chat an account has sent to, for `dialogs`.
struct ChatSeen {
    peer: ResolvedPeer,
    last_message_id: i64,
}

/// Everything the ledger implies, rebuilt on open and kept in step with
/// every append. Held under one async lock so appends are serialized.
struct State {
    ledger: Ledger,
    /// Message id and an album's other ids, by what Telegram de-duplicates.
    sent: HashMap<DedupKey, (i64, Vec<i64>)>,
    last_message_id: HashMap<i64, i64>,
    chats: HashMap<i64, HashMap<i64, ChatSeen>>,
}

impl State {
    fn record(&mut self, e: &LedgerEntry) {
        // First record wins: it is the one Telegram would have kept.
        self.sent
            .entry((e.account_id, e.peer_id, e.random_id))
            .or_insert_with(|| (e.message_id, e.album_ids.clone()));
        let newest = e.album_ids.iter().copied().fold(e.message_id, i64::max);
        let last = self.last_message_id.entry(e.account_id).or_insert(0);
        *last = (*last).max(newest);
        let seen = ChatSeen {
            peer: ResolvedPeer {
                peer_id: e.peer_id,
                kind: e.peer_kind,
                access_hash: e.access_hash,
                title: e.chat.clone(),
            },
            last_message_id: e.message_id,
        };
        match self.chats.entry(e.account_id).or_default().entry(e.peer_id) {
            Entry::Occupied(mut o) if o.get().last_message_id <= e.message_id => {
                o.insert(seen);
            }
            Entry::Occupied(_) => {}
            Entry::Vacant(v) => {
                v.insert(seen);
            }
        }
    }

    /// Blocking (file write + fsync): runs on the blocking pool.
    fn accept(&mut self, mut entry: LedgerEntry) -> Result<Sent, TelegramError> {
        let key = (entry.account_id, entry.peer_id, entry.random_id);
        if let Some((message_id, album_ids)) = self.sent.get(&key).cloned() {
            tracing::info!(
                account = %entry.account,
                chat = %entry.chat,
                random_id = entry.random_id,
                message_id,
                "dry-run: random_id already used for this chat; returning the original message"
            );
            return Ok(Sent {
                message_id,
                album_ids,
                duplicate: true,
            });
        }
        entry.message_id = self.last_message_id.get(&entry.account_id).unwrap_or(&0) + 1;
        // An album's items take consecutive ids, like Telegram's.
        entry.album_ids = (1..entry.attachments.len() as i64)
            .map(|i| entry.message_id + i)
            .collect();
        self.ledger.append(&entry).map_err(|e| {
            TelegramError::Transient(format!(
                "dry-run ledger {}: {e}",
                self.ledger.path().display()
            ))
        })?;
        self.record(&entry);
        tracing::info!(
            account = %entry.account,
            chat = %entry.chat,
            message_id = entry.message_id,
            "dry-run: message recorded in the ledger"
        );
        Ok(Sent {
            message_id: entry.message_id,
            album_ids: entry.album_ids,
            duplicate: false,
        })
    }
}

impl State {
    /// Blocking (file write + fsync): runs on the blocking pool.
    fn act(&mut self, action: LedgerAction) -> Result<(), TelegramError> {
        self.ledger.append(&action).map_err(|e| {
            TelegramError::Transient(format!(
                "dry-run ledger {}: {e}",
                self.ledger.path().display()
            ))
        })?;
        tracing::info!(
            account = %action.account,
            chat = %action.chat,
            message_id = action.message_id,
            action = ?action.action,
            "dry-run: action recorded in the ledger"
        );
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Login {
    CodeSent,
    Authorized(UserInfo),
}

/// A network-free `Messenger` backed by a JSONL ledger (see the module docs).
pub struct DryRunMessenger {
    path: PathBuf,
    state: Arc<Mutex<State>>,
    /// Never held across an await, so a std mutex is enough.
    logins: StdMutex<HashMap<i64, Login>>,
    /// Where a login's stand-in session goes (see the module docs).
    sessions: Option<Arc<dyn SessionStore>>,
    /// Where attachments' bytes come from, and what they hashed to.
    media: attachments::Loader,
}

impl DryRunMessenger {
    /// Opens `<state_dir>/dry-run-ledger.jsonl` (created if missing),
    /// repairing a torn last line and rebuilding the de-duplication index.
    pub fn open(ledger_path: &Path) -> Result<Self, DryRunError> {
        let (ledger, entries) = Ledger::open(ledger_path)?;
        let mut state = State {
            ledger,
            sent: HashMap::new(),
            last_message_id: HashMap::new(),
            chats: HashMap::new(),
        };
        for entry in &entries {
            state.record(entry);
        }
        tracing::info!(
            path = %ledger_path.display(),
            messages = entries.len(),
            "dry-run ledger opened"
        );
        Ok(DryRunMessenger {
            path: ledger_path.to_owned(),
            state: Arc::new(Mutex::new(state)),
            logins: StdMutex::new(HashMap::new()),
            sessions: None,
            media: attachments::Loader::default(),
        })
    }

    /// Loads attachments' bytes from `media` on each send (see
    /// [`LedgerAttachment`]).
    pub fn with_media(mut self, media: Arc<dyn MediaSource>) -> Self {
        self.media = attachments::Loader::new(media);
        self
    }

    /// Stores a stand-in session on each login (see the module docs).
    pub fn with_sessions(mut self, sessions: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    pub fn ledger_path(&self) -> &Path {
        &self.path
    }

    /// The Telegram user id dry-run pretends `account` logs in as.
    pub fn user_id_for(account: &AccountKey) -> i64 {
        peer::stable_user_id("dry-run-account", &account.name)
    }

    fn user_info(account: &AccountKey) -> UserInfo {
        UserInfo {
            user_id: Self::user_id_for(account),
            display: format!("Dry Run ({})", account.name),
        }
    }

    /// Appends an action under the state lock (like a send, so the ledger
    /// stays one writer's).
    async fn act(&self, action: LedgerAction) -> Result<(), TelegramError> {
        let mut state = Arc::clone(&self.state).lock_owned().await;
        tokio::task::spawn_blocking(move || state.act(action))
            .await
            .map_err(|e| TelegramError::Transient(format!("dry-run ledger writer failed: {e}")))?
    }

    fn logins(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Login>> {
        // The map holds no invariants a panicking holder could break.
        self.logins.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn check_text(text: &str) -> Result<(), TelegramError> {
    if text.trim().is_empty() {
        return Err(TelegramError::Rpc {
            code: 400,
            name: "MESSAGE_EMPTY".into(),
        });
    }
    if text.encode_utf16().count() > MAX_TEXT_UTF16 {
        return Err(TelegramError::MessageTooLong);
    }
    Ok(())
}

fn check_phone(phone: &Secret) -> Result<(), TelegramError> {
    let digits: String = phone
        .expose()
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect();
    if (5..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(TelegramError::PhoneInvalid {
            code: "PHONE_NUMBER_INVALID".into(),
        })
    }
}

#[async_trait]
impl Messenger for DryRunMessenger {
    async fn request_code(
        &self,
        account: &AccountKey,
        phone: &Secret,
    ) -> Result<LoginStart, TelegramError> {
        check_phone(phone)?;
        let mut logins = self.logins();
        if let Some(Login::Authorized(user)) = logins.get(&account.id) {
            return Ok(LoginStart::AlreadyAuthorized(user.clone()));
        }
        logins.insert(account.id, Login::CodeSent);
        Ok(LoginStart::CodeSent {
            via: format!("dry-run (use code {DRY_RUN_CODE})"),
        })
    }

    async fn submit_code(
        &self,
        account: &AccountKey,
        code: &Secret,
    ) -> Result<SignIn, TelegramError> {
        let user = {
            let mut logins = self.logins();
            match logins.get(&account.id) {
                Some(Login::CodeSent) => {}
                _ => return Err(TelegramError::NoLoginInProgress),
            }
            if code.expose() != DRY_RUN_CODE {
                return Err(TelegramError::CodeInvalid);
            }
            let user = Self::user_info(account);
            logins.insert(account.id, Login::Authorized(user.clone()));
            user
        };
        if let Some(sessions) = &self.sessions {
            let stand_in = format!(
                "{SESSION_MARK} account={} user={}",
                account.name, user.user_id
            );
            sessions
                .save_session(account.id, stand_in.as_bytes())
                .await
                .map_err(|e| TelegramError::Transient(e.to_string()))?;
        }
        Ok(SignIn::Done(user))
    }

    async fn submit_password(
        &self,
        _account: &AccountKey,
        _password: &Secret,
    ) -> Result<UserInfo, TelegramError> {
        // Dry-run accounts never have two-step verification.
        Err(TelegramError::NoLoginInProgress)
    }

    async fn log_out(&self, account: &AccountKey) -> Result<(), TelegramError> {
        self.logins().remove(&account.id);
        Ok(())
    }

    async fn resolve(
        &self,
        _account: &AccountKey,
        target: &str,
    ) -> Result<ResolvedPeer, TelegramError> {
        peer::resolve_offline(target)
    }

    /// Sends are accepted whether or not the account logged in during this
    /// process: dry-run keeps no sessions, and a restart must not turn
    /// every account into "logged out".
    async fn send_text(
        &self,
        account: &AccountKey,
        msg: &OutgoingText<'_>,
    ) -> Result<Sent, TelegramError> {
        check_text(msg.text)?;
        if !msg.attachments.is_empty() && msg.text.encode_utf16().count() > MAX_CAPTION_UTF16 {
            return Err(TelegramError::Rpc {
                code: 400,
                name: "MEDIA_CAPTION_TOO_LONG".into(),
            });
        }
        let attachments = self.media.loaded(msg.attachments).await?;
        let entry = LedgerEntry {
            account: account.name.clone(),
            account_id: account.id,
            chat: msg.chat_label.to_owned(),
            peer_id: msg.peer.peer_id,
            peer_kind: msg.peer.kind,
            access_hash: msg.peer.access_hash,
            text: msg.text.to_owned(),
            parse_mode: msg.parse_mode.as_str().to_owned(),
            random_id: msg.random_id,
            template_id: msg.template_id,
            slot: msg.slot,
            sent_at: Utc::now(),
            message_id: 0,
            silent: msg.silent,
            no_preview: msg.no_preview,
            attachments,
            album_ids: Vec::new(),
        };
        // The owned guard travels into the blocking task, so the check,
        // the append and the index update finish together even if this
        // future is dropped (a caller's timeout): the message is then
        // recorded but unanswered, exactly a lost reply, and the retry
        // with the same random_id is de-duplicated.
        let mut state = Arc::clone(&self.state).lock_owned().await;
        tokio::task::spawn_blocking(move || state.accept(entry))
            .await
            .map_err(|e| TelegramError::Transient(format!("dry-run ledger writer failed: {e}")))?
    }

    async fn pin_message(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
        notify: bool,
    ) -> Result<(), TelegramError> {
        self.act(action(ActionKind::Pin, account, msg, Some(notify)))
            .await
    }

    async fn delete_message(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
    ) -> Result<(), TelegramError> {
        self.act(action(ActionKind::Delete, account, msg, None))
            .await
    }

    async fn dialogs(
        &self,
        account: &AccountKey,
        search: Option<&str>,
    ) -> Result<Vec<Dialog>, TelegramError> {
        let state = self.state.lock().await;
        let Some(chats) = state.chats.get(&account.id) else {
            return Ok(Vec::new());
        };
        let mut seen: Vec<&ChatSeen> = chats.values().collect();
        // Most recent first, like Telegram's own dialog list.
        seen.sort_by_key(|c| std::cmp::Reverse(c.last_message_id));
        Ok(seen
            .into_iter()
            .map(|c| dialog_for(&c.peer))
            .filter(|d| matches_search(d, search))
            .collect())
    }
}

fn action(
    kind: ActionKind,
    account: &AccountKey,
    msg: &SentRef<'_>,
    notify: Option<bool>,
) -> LedgerAction {
    LedgerAction {
        action: kind,
        account: account.name.clone(),
        account_id: account.id,
        chat: msg.chat_label.to_owned(),
        peer_id: msg.peer.peer_id,
        message_id: msg.message_id,
        notify,
        at: Utc::now(),
    }
}

/// Builds a dialog from a ledger chat; the username is recovered from the
/// label when the operator wrote one.
pub(crate) fn dialog_for(peer: &ResolvedPeer) -> Dialog {
    let username = peer::resolve_offline(&peer.title)
        .ok()
        .filter(|p| p.peer_id == peer.peer_id)
        .and_then(|p| p.title.strip_prefix('@').map(str::to_owned));
    Dialog {
        peer: peer.clone(),
        username,
    }
}

pub(crate) fn matches_search(dialog: &Dialog, search: Option<&str>) -> bool {
    let Some(needle) = search.map(str::to_lowercase).filter(|s| !s.is_empty()) else {
        return true;
    };
    dialog.peer.title.to_lowercase().contains(&needle)
        || dialog
            .username
            .as_deref()
            .is_some_and(|u| u.to_lowercase().contains(&needle))
        || dialog.peer.peer_id.to_string().contains(&needle)
}
