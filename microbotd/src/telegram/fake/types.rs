//! The vocabulary of [`super::FakeMessenger`] scripts and records: what a
//! send should do, how duplicates are answered, what the server stored and
//! how logins behave.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::telegram::{AccountKey, ParseMode, TelegramError};

/// What one `send_text` call does. Unscripted calls behave as [`Outcome::Ok`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server accepts (or de-duplicates) the message and answers.
    Ok,
    /// The call fails with this error; nothing reaches the server.
    Err(TelegramError),
    /// The request never completes: sleeps, then fails `Transient`, unless
    /// the caller's timeout cancels it first. Nothing reaches the server.
    Hang(Duration),
    /// The server records the message but the answer is lost: the call
    /// fails `Transient("reply lost")`. A resend with the same `random_id`
    /// is then a duplicate (see [`DuplicateReply`]).
    AcceptThenLoseReply,
    /// The request is in flight this long, then behaves like `Ok`. Meanwhile
    /// a resend with the same `random_id` gets `RANDOM_ID_DUPLICATE`.
    Slow(Duration),
}

/// How the server answers a `random_id` it has already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateReply {
    /// `Sent { message_id: original, album_ids: Vec::new(), duplicate: true }`.
    #[default]
    Original,
    /// `Err(RandomIdDuplicate)`.
    RandomIdDuplicate,
}

/// A message the simulated server stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub account: AccountKey,
    pub peer_id: i64,
    pub chat_label: String,
    pub text: String,
    pub parse_mode: ParseMode,
    pub random_id: i64,
    pub template_id: Option<i64>,
    pub slot: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
    pub message_id: i64,
    pub silent: bool,
    pub no_preview: bool,
    /// Files sent with the text, in order.
    pub attachments: Vec<crate::telegram::Attachment>,
    /// An album's other items (consecutive ids after `message_id`).
    pub album_ids: Vec<i64>,
}

/// A call on a message already sent: a pin or a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    Pin {
        account: String,
        peer_id: i64,
        message_id: i64,
        notify: bool,
    },
    Delete {
        account: String,
        peer_id: i64,
        message_id: i64,
    },
}

/// One `send_text` call, whatever its outcome: retries show up here with
/// the `random_id` they reused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAttempt {
    pub account: String,
    pub peer_id: i64,
    pub random_id: i64,
    pub at: DateTime<Utc>,
}

/// How logins of one account behave. Forced errors fire once, then clear,
/// so "fails, then the operator retries and succeeds" is easy to script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginScript {
    /// The code `submit_code` accepts.
    pub code: String,
    /// Two-step verification password, if the account has one.
    pub password: Option<String>,
    pub hint: Option<String>,
    /// Returned by the next `request_code` (e.g. `PhoneInvalid`).
    pub request_error: Option<TelegramError>,
    /// Returned by the next `submit_code` (e.g. `SignUpRequired`,
    /// `CodeExpired`); it ends the login, as Telegram does.
    pub code_error: Option<TelegramError>,
}

impl Default for LoginScript {
    fn default() -> Self {
        LoginScript {
            code: "12345".into(),
            password: None,
            hint: None,
            request_error: None,
            code_error: None,
        }
    }
}
