//! [`TelegramError`]: Telegram failures sorted by what the daemon must do
//! about them (retry, pause the account, delay the chat, fail the delivery).

use std::time::Duration;

/// A Telegram call failed. Variants are grouped by consequence, not by the
/// exact RPC error name; the name is kept where an operator needs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramError {
    /// `FLOOD_WAIT_X`: the whole account must wait.
    #[error("FLOOD_WAIT: Telegram asks this account to wait {seconds}s")]
    FloodWait { seconds: u32 },
    /// `SLOWMODE_WAIT_X`: this chat accepts the next message only later.
    #[error("SLOWMODE_WAIT: this chat accepts the next message in {seconds}s")]
    SlowModeWait { seconds: u32 },
    /// `PEER_FLOOD`: Telegram limited the account; stop until an operator resumes it.
    #[error("PEER_FLOOD: Telegram has limited this account")]
    PeerFlood,
    /// The session is gone (`AUTH_KEY_UNREGISTERED`, `SESSION_REVOKED`, …).
    #[error("not authorized at Telegram ({code}); log the account in again")]
    Unauthorized { code: String },
    /// The account may not write to this chat (`CHAT_WRITE_FORBIDDEN`, `CHANNEL_PRIVATE`, …).
    #[error("cannot write to this chat ({code})")]
    ChatForbidden { code: String },
    /// The target does not exist or cannot be resolved (`USERNAME_NOT_OCCUPIED`, …).
    #[error("chat not found ({code})")]
    PeerInvalid { code: String },
    #[error("MESSAGE_TOO_LONG: the text is longer than Telegram accepts")]
    MessageTooLong,
    /// The `random_id` was used before for this peer: the message was already sent.
    #[error("RANDOM_ID_DUPLICATE: this message was already sent")]
    RandomIdDuplicate,
    #[error("the login code is wrong")]
    CodeInvalid,
    #[error("the login code has expired; request a new one")]
    CodeExpired,
    #[error("the two-step verification password is wrong")]
    PasswordInvalid,
    #[error("this phone number has no Telegram account; sign up in a Telegram app first")]
    SignUpRequired,
    #[error("Telegram rejected the phone number ({code})")]
    PhoneInvalid { code: String },
    #[error("no login is in progress for this account (or it expired); start again")]
    NoLoginInProgress,
    /// Network trouble, timeouts, Telegram internal errors: retry later with
    /// the same `random_id`.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// An attachment's bytes are not in the database (a hand-edited or
    /// partly restored database): the delivery fails, naming the digest.
    #[error("attachment {sha256} is not stored in the database")]
    MediaMissing { sha256: String },
    /// Any other RPC error, kept verbatim.
    #[error("Telegram error {code} {name}")]
    Rpc { code: i32, name: String },
}

impl TelegramError {
    /// How long the account (FLOOD_WAIT) or chat (SLOWMODE_WAIT) must wait.
    pub fn wait(&self) -> Option<Duration> {
        match self {
            TelegramError::FloodWait { seconds } | TelegramError::SlowModeWait { seconds } => {
                Some(Duration::from_secs(u64::from(*seconds)))
            }
            _ => None,
        }
    }

    /// True when the same call may succeed if simply repeated later.
    pub fn is_transient(&self) -> bool {
        matches!(self, TelegramError::Transient(_))
    }
}
