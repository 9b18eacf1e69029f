//! Classification of grammers' errors into [`TelegramError`]s: which RPC
//! error pauses the account, delays a chat, fails a delivery or is retried.
//!
//! grammers (`RpcError::from`) already moves the number out of names such as
//! `FLOOD_WAIT_31` into `value` (name `FLOOD_WAIT`, value `Some(31)`); names
//! that still carry a `_<digits>` tail (hand-built errors, odd names) are
//! normalised here too, so both spellings classify the same.

use grammers_mtsender::InvocationError;

use crate::telegram::TelegramError;

/// Used when Telegram sends `FLOOD_WAIT` without a number (never seen, but
/// a pause is still the right reaction).
const DEFAULT_WAIT_SECS: u32 = 60;

const AUTH_ERRORS: &[&str] = &[
    "AUTH_KEY_UNREGISTERED",
    "AUTH_KEY_INVALID",
    "AUTH_KEY_PERM_EMPTY",
    "AUTH_KEY_DUPLICATED",
    "SESSION_REVOKED",
    "SESSION_EXPIRED",
    "USER_DEACTIVATED",
    "USER_DEACTIVATED_BAN",
];

const CHAT_FORBIDDEN: &[&str] = &[
    "CHAT_WRITE_FORBIDDEN",
    "CHANNEL_PRIVATE",
    "CHAT_ADMIN_REQUIRED",
    "USER_BANNED_IN_CHANNEL",
    "CHAT_RESTRICTED",
    "USER_IS_BLOCKED",
    "YOU_BLOCKED_USER",
    "CHAT_SEND_PLAIN_FORBIDDEN",
    "CHAT_GUEST_SEND_FORBIDDEN",
    "USER_PRIVACY_RESTRICTED",
    "PRIVACY_PREMIUM_REQUIRED",
    // The chat takes text but not this kind of file.
    "CHAT_SEND_MEDIA_FORBIDDEN",
    "CHAT_SEND_PHOTOS_FORBIDDEN",
    "CHAT_SEND_VIDEOS_FORBIDDEN",
    "CHAT_SEND_DOCS_FORBIDDEN",
];

/// Telegram refuses the file or caption itself: sending it again cannot
/// help, so the delivery fails with the name (whatever the code, a 5xx
/// spelling included). Names as grammers gives them (`FILE_PART_3_MISSING`
/// arrives as `FILE_PART_MISSING`).
const MEDIA_REJECTED: &[&str] = &[
    "MEDIA_CAPTION_TOO_LONG",
    "MEDIA_INVALID",
    "MEDIA_TYPE_INVALID",
    "MULTI_MEDIA_TOO_LONG",
    "GROUPED_MEDIA_INVALID",
    "PHOTO_INVALID_DIMENSIONS",
    "PHOTO_EXT_INVALID",
    "PHOTO_INVALID",
    "PHOTO_SAVE_FILE_INVALID",
    "PHOTO_FILE_MISSING",
    "IMAGE_PROCESS_FAILED",
    "VIDEO_CONTENT_TYPE_INVALID",
    "DOCUMENT_INVALID",
    "FILE_PARTS_INVALID",
    "FILE_PART_INVALID",
    "FILE_PART_EMPTY",
    "FILE_PART_TOO_BIG",
    "FILE_PART_SIZE_INVALID",
    "FILE_PART_SIZE_CHANGED",
    "FILE_PART_MISSING",
    "FILE_PART_LENGTH_INVALID",
    "FILE_ID_INVALID",
    "MD5_CHECKSUM_INVALID",
];

const PEER_INVALID: &[&str] = &[
    "USERNAME_NOT_OCCUPIED",
    "USERNAME_INVALID",
    "PEER_ID_INVALID",
    "CHANNEL_INVALID",
    "CHAT_ID_INVALID",
    "USER_ID_INVALID",
    "INPUT_USER_DEACTIVATED",
];

const PHONE_ERRORS: &[&str] = &[
    "PHONE_NUMBER_INVALID",
    "PHONE_NUMBER_BANNED",
    "PHONE_NUMBER_FLOOD",
];

/// Server-side hiccups that carry a 4xx code but mean "try again".
const TRANSIENT_NAMES: &[&str] = &[
    "TIMEOUT",
    "RPC_CALL_FAIL",
    "RPC_MCGET_FAIL",
    "MSG_WAIT_FAILED",
    "INTERDC_CALL_ERROR",
    "INTERDC_CALL_RICH_ERROR",
];

/// Splits a trailing `_<digits>` off `name` when grammers did not already.
fn normalise(name: &str, value: Option<u32>) -> (&str, Option<u32>) {
    if value.is_none()
        && let Some((head, tail)) = name.rsplit_once('_')
        && !tail.is_empty()
        && tail.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = tail.parse()
    {
        return (head, Some(n));
    }
    (name, value)
}

/// Maps one Telegram RPC error (`code`, `name` as grammers gives it, the
/// number from the name) to what the daemon must do about it.
pub fn map_rpc(code: i32, name: &str, value: Option<u32>) -> TelegramError {
    let (name, value) = normalise(name, value);
    let owned = || name.to_owned();
    match name {
        "FLOOD_WAIT" | "FLOOD_PREMIUM_WAIT" | "FLOOD_TEST_PHONE_WAIT" => TelegramError::FloodWait {
            seconds: value.unwrap_or(DEFAULT_WAIT_SECS),
        },
        "SLOWMODE_WAIT" => TelegramError::SlowModeWait {
            seconds: value.unwrap_or(DEFAULT_WAIT_SECS),
        },
        "PEER_FLOOD" => TelegramError::PeerFlood,
        "MESSAGE_TOO_LONG" => TelegramError::MessageTooLong,
        "RANDOM_ID_DUPLICATE" => TelegramError::RandomIdDuplicate,
        "PHONE_CODE_INVALID" | "PHONE_CODE_EMPTY" => TelegramError::CodeInvalid,
        "PHONE_CODE_EXPIRED" | "PHONE_CODE_HASH_EMPTY" => TelegramError::CodeExpired,
        "PASSWORD_HASH_INVALID" => TelegramError::PasswordInvalid,
        // No account behind the number: only an official app can sign up.
        "PHONE_NUMBER_UNOCCUPIED" => TelegramError::SignUpRequired,
        n if AUTH_ERRORS.contains(&n) => TelegramError::Unauthorized { code: owned() },
        n if CHAT_FORBIDDEN.contains(&n) => TelegramError::ChatForbidden { code: owned() },
        n if PEER_INVALID.contains(&n) => TelegramError::PeerInvalid { code: owned() },
        n if PHONE_ERRORS.contains(&n) => TelegramError::PhoneInvalid { code: owned() },
        n if MEDIA_REJECTED.contains(&n) => TelegramError::Rpc {
            code,
            name: owned(),
        },
        // Any other 420 is some flood limit with a wait attached.
        _ if code == 420 => TelegramError::FloodWait {
            seconds: value.unwrap_or(DEFAULT_WAIT_SECS),
        },
        // Remaining 401s are still "this session cannot act": log in again.
        _ if code == 401 => TelegramError::Unauthorized { code: owned() },
        // 303 *_MIGRATE is handled by grammers during login; elsewhere retry.
        _ if code == 303 => TelegramError::Transient(format!("datacenter migration ({name})")),
        n if code >= 500 || code == -503 || TRANSIENT_NAMES.contains(&n) => {
            TelegramError::Transient(format!("Telegram internal error {code} {name}"))
        }
        _ => TelegramError::Rpc {
            code,
            name: owned(),
        },
    }
}

/// True when a send failed because an uploaded file's handle is no longer
/// usable (`FILE_REFERENCE_*`, `MEDIA_EMPTY`): uploading the file again
/// and resending with the same `random_id`s is the cure.
pub fn is_stale_media(err: &TelegramError) -> bool {
    matches!(err, TelegramError::Rpc { name, .. }
        if name.starts_with("FILE_REFERENCE_") || name == "MEDIA_EMPTY")
}

/// Maps any failure of a grammers call. Everything that is not an RPC
/// answer is transient: the request may or may not have reached Telegram,
/// and repeating it (with the same `random_id` for sends) is safe.
pub fn map_invocation(err: &InvocationError) -> TelegramError {
    match err {
        InvocationError::Rpc(rpc) => map_rpc(rpc.code, &rpc.name, rpc.value),
        InvocationError::Io(e) => TelegramError::Transient(format!("network error: {e}")),
        // A 404 here means the server forgot our auth key; grammers makes a
        // new one on reconnect and the next call answers 401, which is where
        // the account is marked logged out, so no guess is made here.
        InvocationError::Transport(e) => TelegramError::Transient(format!("transport error: {e}")),
        InvocationError::Deserialize(e) => {
            TelegramError::Transient(format!("unreadable answer: {e}"))
        }
        InvocationError::Dropped(why) => {
            TelegramError::Transient(format!("connection dropped: {why}"))
        }
        InvocationError::Session(e) => TelegramError::Transient(format!("session storage: {e}")),
        InvocationError::InvalidDc => TelegramError::Transient("unknown datacenter".to_owned()),
        InvocationError::Authentication(e) => {
            TelegramError::Transient(format!("key exchange failed: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_mtsender::RpcError;
    use grammers_tl_types as tl;

    /// Builds the error exactly as grammers does from the wire form.
    fn wire(code: i32, message: &str) -> TelegramError {
        let rpc = RpcError::from(tl::types::RpcError {
            error_code: code,
            error_message: message.into(),
        });
        map_invocation(&InvocationError::Rpc(rpc))
    }

    #[test]
    fn grammers_strips_the_number_into_value() {
        let rpc = RpcError::from(tl::types::RpcError {
            error_code: 420,
            error_message: "FLOOD_WAIT_31".into(),
        });
        assert_eq!((rpc.name.as_str(), rpc.value), ("FLOOD_WAIT", Some(31)));
    }

    #[test]
    fn waits() {
        use TelegramError::*;
        assert_eq!(wire(420, "FLOOD_WAIT_31"), FloodWait { seconds: 31 });
        assert_eq!(wire(420, "FLOOD_PREMIUM_WAIT_7"), FloodWait { seconds: 7 });
        assert_eq!(
            wire(420, "FLOOD_TEST_PHONE_WAIT_3"),
            FloodWait { seconds: 3 }
        );
        assert_eq!(wire(420, "SOMETHING_WAIT_9"), FloodWait { seconds: 9 });
        assert_eq!(wire(420, "SLOWMODE_WAIT_10"), SlowModeWait { seconds: 10 });
        // Hand-built names with the number still attached classify the same.
        assert_eq!(map_rpc(420, "FLOOD_WAIT_5", None), FloodWait { seconds: 5 });
        assert_eq!(
            map_rpc(420, "SLOWMODE_WAIT_2", None),
            SlowModeWait { seconds: 2 }
        );
        assert_eq!(map_rpc(420, "FLOOD_WAIT", None), FloodWait { seconds: 60 });
        assert_eq!(wire(400, "PEER_FLOOD"), PeerFlood);
    }

    #[test]
    fn auth_errors_log_the_account_out() {
        for name in [
            "AUTH_KEY_UNREGISTERED",
            "SESSION_REVOKED",
            "SESSION_EXPIRED",
            "USER_DEACTIVATED",
            "USER_DEACTIVATED_BAN",
            "AUTH_KEY_INVALID",
            "AUTH_KEY_PERM_EMPTY",
            "SOME_NEW_REASON",
        ] {
            let code = name.to_owned();
            assert_eq!(
                wire(401, name),
                TelegramError::Unauthorized { code },
                "{name}"
            );
        }
    }

    #[test]
    fn per_chat_errors() {
        for name in CHAT_FORBIDDEN {
            let code = (*name).to_owned();
            assert_eq!(
                wire(403, name),
                TelegramError::ChatForbidden { code },
                "{name}"
            );
        }
        for name in PEER_INVALID {
            let code = (*name).to_owned();
            assert_eq!(
                wire(400, name),
                TelegramError::PeerInvalid { code },
                "{name}"
            );
        }
        assert_eq!(wire(400, "MESSAGE_TOO_LONG"), TelegramError::MessageTooLong);
        assert_eq!(
            wire(400, "RANDOM_ID_DUPLICATE"),
            TelegramError::RandomIdDuplicate
        );
    }

    #[test]
    fn login_errors() {
        use TelegramError::*;
        assert_eq!(wire(400, "PHONE_CODE_INVALID"), CodeInvalid);
        assert_eq!(wire(400, "PHONE_CODE_EMPTY"), CodeInvalid);
        assert_eq!(wire(400, "PHONE_CODE_EXPIRED"), CodeExpired);
        assert_eq!(wire(400, "PHONE_CODE_HASH_EMPTY"), CodeExpired);
        assert_eq!(wire(400, "PASSWORD_HASH_INVALID"), PasswordInvalid);
        assert_eq!(wire(400, "PHONE_NUMBER_UNOCCUPIED"), SignUpRequired);
        for name in PHONE_ERRORS {
            let code = (*name).to_owned();
            assert_eq!(wire(400, name), PhoneInvalid { code }, "{name}");
        }
    }

    #[test]
    fn server_trouble_is_transient() {
        for (code, name) in [
            (500, "INTERNAL"),
            (500, "INTERDC_2_CALL_ERROR"),
            (-503, "Timeout"),
            (400, "TIMEOUT"),
            (400, "RPC_CALL_FAIL"),
            (400, "MSG_WAIT_FAILED"),
            (303, "PHONE_MIGRATE_4"),
        ] {
            assert!(wire(code, name).is_transient(), "{code} {name}");
        }
    }

    #[test]
    fn anything_else_is_kept_verbatim() {
        assert_eq!(
            wire(400, "MEDIA_EMPTY"),
            TelegramError::Rpc {
                code: 400,
                name: "MEDIA_EMPTY".into()
            }
        );
    }

    #[test]
    fn refused_media_fails_the_delivery_with_its_name() {
        for name in MEDIA_REJECTED {
            let want = TelegramError::Rpc {
                code: 400,
                name: (*name).to_owned(),
            };
            assert_eq!(wire(400, name), want, "{name}");
            assert!(!is_stale_media(&want), "{name}");
            // Even when Telegram spells it as an internal error.
            assert!(!wire(500, name).is_transient(), "{name}");
        }
        // The part number is moved out of the name.
        assert_eq!(
            wire(400, "FILE_PART_3_MISSING"),
            TelegramError::Rpc {
                code: 400,
                name: "FILE_PART_MISSING".into()
            }
        );
        for name in [
            "CHAT_SEND_MEDIA_FORBIDDEN",
            "CHAT_SEND_PHOTOS_FORBIDDEN",
            "CHAT_SEND_VIDEOS_FORBIDDEN",
            "CHAT_SEND_DOCS_FORBIDDEN",
        ] {
            let code = name.to_owned();
            assert_eq!(wire(403, name), TelegramError::ChatForbidden { code });
        }
        // A repeat is still "already sent", for albums too.
        assert_eq!(
            wire(400, "RANDOM_ID_DUPLICATE"),
            TelegramError::RandomIdDuplicate
        );
    }

    #[test]
    fn expired_references_ask_for_a_new_upload() {
        for message in [
            "FILE_REFERENCE_EXPIRED",
            "FILE_REFERENCE_INVALID",
            "FILE_REFERENCE_EMPTY",
            "FILE_REFERENCE_2_EXPIRED",
            "MEDIA_EMPTY",
        ] {
            assert!(is_stale_media(&wire(400, message)), "{message}");
        }
        for e in [
            wire(400, "MEDIA_INVALID"),
            wire(400, "PHOTO_INVALID_DIMENSIONS"),
            TelegramError::RandomIdDuplicate,
            TelegramError::Transient("FILE_REFERENCE_EXPIRED".into()),
        ] {
            assert!(!is_stale_media(&e), "{e:?}");
        }
    }

    #[test]
    fn non_rpc_failures_are_transient() {
        use grammers_mtproto::transport;
        let errors = [
            InvocationError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            InvocationError::Transport(transport::Error::BadStatus { status: 429 }),
            InvocationError::Transport(transport::Error::BadStatus { status: 404 }),
            InvocationError::Dropped("runner gone"),
            InvocationError::InvalidDc,
            InvocationError::Session("disk full".into()),
        ];
        for e in &errors {
            assert!(map_invocation(e).is_transient(), "{e:?}");
        }
    }
}
