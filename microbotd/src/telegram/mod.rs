//! Telegram transport: the [`Messenger`] trait every sender implements, and
//! the types that cross it.
//!
//! Implementations: `live` (MTProto through grammers), `dry_run` (no network,
//! a JSONL ledger that de-duplicates `random_id` like Telegram does) and, in
//! tests, `fake` (scriptable failures). The daemon holds one `Messenger` for
//! all accounts; implementations keep whatever per-account connection state
//! they need behind it.

pub(crate) mod decorator;
pub mod dry_run;
pub mod error;
#[cfg(any(test, feature = "fake"))]
pub mod fake;
pub mod live;
pub mod media;
pub mod secret;
pub mod target;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use error::TelegramError;
pub use media::{Attachment, MediaKind, MediaSource};
pub use secret::Secret;

/// Which account a call is made for. The id is the database key (sessions
/// are stored under it); the name is the operator's label, used in logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountKey {
    pub id: i64,
    pub name: String,
}

/// The kind of chat a peer id designates; decides which input peer to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerKind {
    User,
    /// A basic group (no access hash needed).
    Chat,
    /// A channel or supergroup.
    Channel,
}

impl PeerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeerKind::User => "user",
            PeerKind::Chat => "chat",
            PeerKind::Channel => "channel",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(PeerKind::User),
            "chat" => Some(PeerKind::Chat),
            "channel" => Some(PeerKind::Channel),
            _ => None,
        }
    }
}

/// A chat resolved once and cached in the `targets` table so that sends need
/// no further lookups. `peer_id` uses Bot-API style marking (channels are
/// `-100…`, basic groups negative, users positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPeer {
    pub peer_id: i64,
    pub kind: PeerKind,
    pub access_hash: Option<i64>,
    pub title: String,
}

/// Text formatting Telegram should apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParseMode {
    #[default]
    Plain,
    Markdown,
    Html,
}

impl ParseMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ParseMode::Plain => "plain",
            ParseMode::Markdown => "markdown",
            ParseMode::Html => "html",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "plain" => Some(ParseMode::Plain),
            "markdown" | "md" => Some(ParseMode::Markdown),
            "html" => Some(ParseMode::Html),
            _ => None,
        }
    }
}

/// One message to send. `random_id` is chosen and committed by the caller
/// before the call, so a repeat after a crash is de-duplicated by Telegram.
#[derive(Debug, Clone)]
pub struct OutgoingText<'a> {
    pub peer: &'a ResolvedPeer,
    /// The target as the operator wrote it (`@ops`), for ledgers and logs.
    pub chat_label: &'a str,
    pub text: &'a str,
    pub parse_mode: ParseMode,
    pub random_id: i64,
    pub template_id: Option<i64>,
    pub slot: Option<DateTime<Utc>>,
    /// Deliver without a notification sound.
    pub silent: bool,
    /// No link preview under the text.
    pub no_preview: bool,
    /// Files to send with the text, which becomes their caption (empty: a
    /// text message). More than one is an album; item `i` is sent under
    /// [`media::album_random_id`]`(random_id, i)`.
    pub attachments: &'a [Attachment],
}

/// A message already sent, for the calls that act on it (pin, delete).
#[derive(Debug, Clone)]
pub struct SentRef<'a> {
    pub peer: &'a ResolvedPeer,
    /// The target as the operator wrote it (`@ops`), for ledgers and logs.
    pub chat_label: &'a str,
    pub message_id: i64,
}

/// Telegram's answer to a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The message's id; an album's first item.
    pub message_id: i64,
    /// An album's other items, in order (empty for a single message).
    pub album_ids: Vec<i64>,
    /// The server already had this `random_id`: the message was sent before
    /// (a retry after a crash or a lost reply), not now.
    pub duplicate: bool,
}

/// The Telegram user behind an account, once logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    pub user_id: i64,
    /// `@username` when there is one, else the display name.
    pub display: String,
}

/// Outcome of asking Telegram for a login code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStart {
    /// A code is on its way; `via` says where ("Telegram app", "SMS", …).
    CodeSent { via: String },
    /// The stored session is still valid: nothing to do.
    AlreadyAuthorized(UserInfo),
}

/// Outcome of submitting a login code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    Done(UserInfo),
    /// The account has two-step verification; ask for the password.
    PasswordNeeded {
        hint: Option<String>,
    },
}

/// One dialog (chat) the account can see, to help pick targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub peer: ResolvedPeer,
    pub username: Option<String>,
}

/// Everything the daemon asks of Telegram. One instance serves all accounts.
///
/// Errors are [`TelegramError`]s already classified, so the dispatcher can
/// decide between retrying, pausing the account, delaying the chat and
/// failing the delivery without knowing the transport.
#[async_trait]
pub trait Messenger: Send + Sync + 'static {
    /// Starts a login: asks Telegram to send a code to `phone`.
    async fn request_code(
        &self,
        account: &AccountKey,
        phone: &Secret,
    ) -> Result<LoginStart, TelegramError>;

    /// Submits the code of the login started by [`Messenger::request_code`].
    async fn submit_code(
        &self,
        account: &AccountKey,
        code: &Secret,
    ) -> Result<SignIn, TelegramError>;

    /// Finishes a login that needs the two-step verification password.
    async fn submit_password(
        &self,
        account: &AccountKey,
        password: &Secret,
    ) -> Result<UserInfo, TelegramError>;

    /// Logs out at Telegram (best effort) and forgets the session.
    async fn log_out(&self, account: &AccountKey) -> Result<(), TelegramError>;

    /// Resolves `@username`, `t.me/username` or a numeric peer id.
    async fn resolve(
        &self,
        account: &AccountKey,
        target: &str,
    ) -> Result<ResolvedPeer, TelegramError>;

    /// Sends text with the caller's `random_id`.
    async fn send_text(
        &self,
        account: &AccountKey,
        msg: &OutgoingText<'_>,
    ) -> Result<Sent, TelegramError>;

    /// Pins a sent message in its chat; `notify` tells the chat's members.
    /// Pinning a pinned message again changes nothing.
    async fn pin_message(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
        notify: bool,
    ) -> Result<(), TelegramError>;

    /// Deletes a sent message for everyone. Deleting one already gone
    /// succeeds.
    async fn delete_message(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
    ) -> Result<(), TelegramError>;

    /// Lists dialogs, optionally filtered by a case-insensitive substring.
    async fn dialogs(
        &self,
        account: &AccountKey,
        search: Option<&str>,
    ) -> Result<Vec<Dialog>, TelegramError>;

    /// This node no longer sends for `account` (its lease moved to another
    /// node, expired or was released): drop the account's connection, so
    /// its Telegram session is connected from one node at a time. No last
    /// session save: the new owner may already be writing it. The next
    /// call for the account connects again. The default holds nothing.
    async fn release(&self, _account: &AccountKey) {}

    /// Stops background work (connections, session savers) after a last
    /// save, before the daemon closes the database. The default has none.
    async fn shutdown(&self) {}
}

/// Where a `Messenger` keeps each account's MTProto session (auth key, DC
/// options, peer cache, update state) — in the database, so one backup
/// holds everything and another node can take an account over.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    async fn load_session(&self, account_id: i64) -> Result<Option<Vec<u8>>, SessionStoreError>;
    async fn save_session(&self, account_id: i64, data: &[u8]) -> Result<(), SessionStoreError>;
    async fn clear_session(&self, account_id: i64) -> Result<(), SessionStoreError>;
}

/// A session could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("session storage: {0}")]
pub struct SessionStoreError(pub String);
