//! Sorting a send's result by consequence (docs/DESIGN.md "Delivery semantics"
//! point 5): the delivery is done, fails, retries later, waits for its
//! chat, or the whole account must stop.

use std::time::Duration;

use crate::store::states::AccountState;
use crate::telegram::{Sent, TelegramError};

/// Transient failures are retried this many attempts in all, then `failed`.
pub const MAX_ATTEMPTS: i64 = 8;

/// What a send's result means for the delivery and its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Sent now, or before (a duplicate `random_id`); `album_ids` are an
    /// album's other items.
    Sent {
        message_id: Option<i64>,
        album_ids: Vec<i64>,
    },
    /// This delivery fails with the reason; others continue.
    Fail(String),
    /// Retry later with the same `random_id`.
    Retry(String),
    /// SLOWMODE_WAIT: this chat only waits.
    ChatWait { seconds: u32, error: String },
    /// FLOOD_WAIT: the account pauses; nothing is dropped.
    AccountWait { seconds: u32, error: String },
    /// PEER_FLOOD (`limited`) or revoked auth (`logged_out`): the account
    /// stops until an operator acts.
    AccountStop { state: AccountState, error: String },
}

/// Classifies one `send_text` (or `resolve`) result.
pub fn classify(result: Result<Sent, TelegramError>) -> Verdict {
    let err = match result {
        Ok(sent) => {
            return Verdict::Sent {
                message_id: Some(sent.message_id),
                album_ids: sent.album_ids,
            };
        }
        Err(e) => e,
    };
    let text = err.to_string();
    match err {
        TelegramError::RandomIdDuplicate => Verdict::Sent {
            message_id: None,
            album_ids: Vec::new(),
        },
        TelegramError::FloodWait { seconds } => Verdict::AccountWait {
            seconds,
            error: text,
        },
        TelegramError::SlowModeWait { seconds } => Verdict::ChatWait {
            seconds,
            error: text,
        },
        TelegramError::PeerFlood => Verdict::AccountStop {
            state: AccountState::Limited,
            error: text,
        },
        TelegramError::Unauthorized { .. } => Verdict::AccountStop {
            state: AccountState::LoggedOut,
            error: text,
        },
        TelegramError::Transient(_) => Verdict::Retry(text),
        _ => Verdict::Fail(text),
    }
}

/// Backoff before retry number `attempts` (1 s, 2 s, 4 s, … capped at 5 min).
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    Duration::from_secs(2u64.saturating_pow(exp).min(300))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_sort_by_consequence() {
        assert_eq!(
            classify(Err(TelegramError::RandomIdDuplicate)),
            Verdict::Sent {
                message_id: None,
                album_ids: Vec::new()
            }
        );
        assert!(matches!(
            classify(Err(TelegramError::ChatForbidden {
                code: "CHAT_WRITE_FORBIDDEN".into()
            })),
            Verdict::Fail(e) if e.contains("CHAT_WRITE_FORBIDDEN")
        ));
        assert!(matches!(
            classify(Err(TelegramError::MessageTooLong)),
            Verdict::Fail(_)
        ));
        assert!(matches!(
            classify(Err(TelegramError::Transient("x".into()))),
            Verdict::Retry(_)
        ));
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(40), Duration::from_secs(300));
    }
}
