//! Tests of the fake itself: scripts, server-side de-duplication, lost
//! replies, hangs, login scripting and the progress waiters.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::telegram::{ParseMode, PeerKind};

fn account(id: i64, name: &str) -> AccountKey {
    AccountKey {
        id,
        name: name.into(),
    }
}

fn peer(id: i64) -> ResolvedPeer {
    ResolvedPeer {
        peer_id: id,
        kind: PeerKind::User,
        access_hash: Some(1),
        title: format!("chat{id}"),
    }
}

async fn send(
    f: &FakeMessenger,
    a: &AccountKey,
    p: &ResolvedPeer,
    random_id: i64,
) -> Result<Sent, TelegramError> {
    let label = format!("@chat{}", p.peer_id);
    let msg = OutgoingText {
        peer: p,
        chat_label: &label,
        text: "hi",
        parse_mode: ParseMode::Plain,
        random_id,
        template_id: Some(1),
        slot: None,
        silent: false,
        no_preview: false,
        attachments: &[],
    };
    f.send_text(a, &msg).await
}

fn flood(seconds: u32) -> TelegramError {
    TelegramError::FloodWait { seconds }
}

#[tokio::test]
async fn scripts_are_consumed_in_order_chat_first() {
    let f = FakeMessenger::new();
    let a = account(1, "a");
    f.script_account(
        "a",
        [
            Outcome::Err(flood(5)),
            Outcome::Err(TelegramError::PeerFlood),
        ],
    );
    f.script_chat(
        20,
        [Outcome::Err(TelegramError::SlowModeWait { seconds: 9 })],
    );

    assert_eq!(
        send(&f, &a, &peer(20), 1).await,
        Err(TelegramError::SlowModeWait { seconds: 9 })
    );
    assert_eq!(send(&f, &a, &peer(20), 1).await, Err(flood(5)));
    assert_eq!(
        send(&f, &a, &peer(10), 2).await,
        Err(TelegramError::PeerFlood)
    );
    assert_eq!(f.unconsumed_outcomes(), 0);
    // Scripts exhausted: sends succeed.
    assert!(!send(&f, &a, &peer(10), 2).await.unwrap().duplicate);
    // Another account's sends are unaffected by "a"'s script.
    f.script_account("a", [Outcome::Err(flood(1))]);
    assert!(send(&f, &account(2, "b"), &peer(10), 3).await.is_ok());
    assert_eq!(f.unconsumed_outcomes(), 1);
    assert_eq!(f.send_attempts(), 5);
    assert_eq!(f.sent().len(), 2);
}

#[tokio::test]
async fn server_deduplicates_by_account_peer_random_id() {
    let f = FakeMessenger::new();
    let (a, b) = (account(1, "a"), account(2, "b"));
    let first = send(&f, &a, &peer(10), 7).await.unwrap();
    assert_eq!(
        first,
        Sent {
            message_id: 1,
            album_ids: Vec::new(),
            duplicate: false
        }
    );
    assert_eq!(
        send(&f, &a, &peer(10), 7).await.unwrap(),
        Sent {
            message_id: 1,
            album_ids: Vec::new(),
            duplicate: true
        }
    );
    assert_eq!(send(&f, &a, &peer(11), 7).await.unwrap().message_id, 2);
    assert_eq!(send(&f, &b, &peer(10), 7).await.unwrap().message_id, 1);
    let sent = f.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!((sent[0].account.name.as_str(), sent[0].random_id), ("a", 7));
    assert_eq!(sent[0].chat_label, "@chat10");
    assert_eq!(f.attempts().iter().filter(|t| t.random_id == 7).count(), 4);

    f.set_duplicate_reply(DuplicateReply::RandomIdDuplicate);
    assert_eq!(
        send(&f, &a, &peer(10), 7).await,
        Err(TelegramError::RandomIdDuplicate)
    );
}

#[tokio::test]
async fn lost_reply_is_recorded_and_resend_is_a_duplicate() {
    for reply in [DuplicateReply::Original, DuplicateReply::RandomIdDuplicate] {
        let f = FakeMessenger::new();
        f.set_duplicate_reply(reply);
        let a = account(1, "a");
        f.script_account("a", [Outcome::AcceptThenLoseReply]);
        let err = send(&f, &a, &peer(10), 42).await.unwrap_err();
        assert_eq!(err, TelegramError::Transient("reply lost".into()));
        assert_eq!(f.sent().len(), 1, "the server kept the message");
        let retry = send(&f, &a, &peer(10), 42).await;
        match reply {
            DuplicateReply::Original => {
                assert_eq!(
                    retry,
                    Ok(Sent {
                        message_id: 1,
                        album_ids: Vec::new(),
                        duplicate: true
                    })
                )
            }
            DuplicateReply::RandomIdDuplicate => {
                assert_eq!(retry, Err(TelegramError::RandomIdDuplicate))
            }
        }
        assert_eq!(f.sent().len(), 1, "exactly once");
    }
}

#[tokio::test]
async fn hang_is_cancellable_or_ends_transient() {
    let f = FakeMessenger::new();
    let a = account(1, "a");
    f.script_account(
        "a",
        [
            Outcome::Hang(Duration::from_secs(3600)),
            Outcome::Hang(Duration::from_millis(20)),
        ],
    );
    let cut = tokio::time::timeout(Duration::from_millis(20), send(&f, &a, &peer(10), 1)).await;
    assert!(cut.is_err(), "caller timeout fires first");
    assert_eq!(
        send(&f, &a, &peer(10), 1).await,
        Err(TelegramError::Transient("request timed out".into()))
    );
    assert!(f.sent().is_empty());
    assert_eq!(f.send_attempts(), 2);
}

#[tokio::test]
async fn resend_while_in_flight_gets_random_id_duplicate() {
    let f = Arc::new(FakeMessenger::new());
    let a = account(1, "a");
    f.script_account("a", [Outcome::Slow(Duration::from_millis(200))]);
    let slow = {
        let (f, a) = (Arc::clone(&f), a.clone());
        tokio::spawn(async move { send(&f, &a, &peer(10), 9).await })
    };
    assert!(f.wait_for_attempts(1, Duration::from_secs(5)).await);
    assert_eq!(
        send(&f, &a, &peer(10), 9).await,
        Err(TelegramError::RandomIdDuplicate)
    );
    assert_eq!(
        slow.await.unwrap(),
        Ok(Sent {
            message_id: 1,
            album_ids: Vec::new(),
            duplicate: false
        })
    );
    assert!(send(&f, &a, &peer(10), 9).await.unwrap().duplicate);
    assert_eq!(f.sent().len(), 1);
}

#[tokio::test]
async fn cancelled_slow_send_is_not_stored_and_not_stuck_in_flight() {
    let f = FakeMessenger::new();
    let a = account(1, "a");
    f.script_account("a", [Outcome::Slow(Duration::from_millis(200))]);
    let cut = tokio::time::timeout(Duration::from_millis(20), send(&f, &a, &peer(10), 3)).await;
    assert!(cut.is_err());
    assert!(f.sent().is_empty());
    assert!(!send(&f, &a, &peer(10), 3).await.unwrap().duplicate);
}

#[tokio::test]
async fn wait_for_sends_wakes_on_progress_and_times_out() {
    let f = Arc::new(FakeMessenger::new());
    let a = account(1, "a");
    let waiter = {
        let f = Arc::clone(&f);
        tokio::spawn(async move { f.wait_for_sends(3, Duration::from_secs(30)).await })
    };
    for r in 0..3 {
        send(&f, &a, &peer(10), r).await.unwrap();
    }
    assert!(waiter.await.unwrap());
    // Already satisfied: returns at once.
    assert!(f.wait_for_sends(3, Duration::ZERO).await);
    // Duplicates are not new sends.
    send(&f, &a, &peer(10), 0).await.unwrap();
    assert!(!f.wait_for_sends(4, Duration::from_millis(50)).await);
    assert!(f.wait_for_attempts(4, Duration::ZERO).await);
}

#[tokio::test]
async fn login_with_code_and_two_step_password() {
    let f = FakeMessenger::new();
    let a = account(1, "a");
    let phone = Secret::new("+10000000000");
    f.set_login(
        "a",
        LoginScript {
            code: "55555".into(),
            password: Some("hunter2".into()),
            hint: Some("the usual".into()),
            ..LoginScript::default()
        },
    );
    assert_eq!(
        f.submit_code(&a, &Secret::new("55555")).await,
        Err(TelegramError::NoLoginInProgress)
    );
    assert!(matches!(
        f.request_code(&a, &phone).await,
        Ok(LoginStart::CodeSent { .. })
    ));
    assert_eq!(
        f.submit_code(&a, &Secret::new("1")).await,
        Err(TelegramError::CodeInvalid)
    );
    assert_eq!(
        f.submit_code(&a, &Secret::new("55555")).await,
        Ok(SignIn::PasswordNeeded {
            hint: Some("the usual".into())
        })
    );
    assert_eq!(
        f.submit_password(&a, &Secret::new("nope")).await,
        Err(TelegramError::PasswordInvalid)
    );
    let user = f
        .submit_password(&a, &Secret::new("hunter2"))
        .await
        .unwrap();
    assert_eq!(user, FakeMessenger::user_for("a"));
    assert!(f.is_authorized("a"));
    assert_eq!(
        f.request_code(&a, &phone).await,
        Ok(LoginStart::AlreadyAuthorized(user))
    );
    f.log_out(&a).await.unwrap();
    assert!(!f.is_authorized("a"));
}

#[tokio::test]
async fn forced_login_errors_fire_once() {
    let f = FakeMessenger::new();
    let a = account(1, "a");
    let phone = Secret::new("+10000000000");
    let code = Secret::new("12345");
    f.set_login(
        "a",
        LoginScript {
            request_error: Some(TelegramError::PhoneInvalid {
                code: "PHONE_NUMBER_BANNED".into(),
            }),
            code_error: Some(TelegramError::CodeExpired),
            ..LoginScript::default()
        },
    );
    assert!(matches!(
        f.request_code(&a, &phone).await,
        Err(TelegramError::PhoneInvalid { .. })
    ));
    f.request_code(&a, &phone).await.unwrap();
    assert_eq!(
        f.submit_code(&a, &code).await,
        Err(TelegramError::CodeExpired)
    );
    // An expired code ends the login: a new code must be requested.
    assert_eq!(
        f.submit_code(&a, &code).await,
        Err(TelegramError::NoLoginInProgress)
    );
    f.request_code(&a, &phone).await.unwrap();
    assert_eq!(
        f.submit_code(&a, &code).await,
        Ok(SignIn::Done(FakeMessenger::user_for("a")))
    );

    let b = account(2, "b");
    f.set_login(
        "b",
        LoginScript {
            code_error: Some(TelegramError::SignUpRequired),
            ..Default::default()
        },
    );
    f.request_code(&b, &phone).await.unwrap();
    assert_eq!(
        f.submit_code(&b, &code).await,
        Err(TelegramError::SignUpRequired)
    );
}

#[tokio::test]
async fn resolve_is_deterministic_and_scriptable() {
    let f = FakeMessenger::new();
    let a = account(1, "a");
    let ops = f.resolve(&a, "@ops_room").await.unwrap();
    assert_eq!(f.resolve(&a, "https://t.me/ops_room").await.unwrap(), ops);
    let gone = TelegramError::PeerInvalid {
        code: "USERNAME_NOT_OCCUPIED".into(),
    };
    f.fail_resolve("@ops_room", gone.clone());
    assert_eq!(f.resolve(&a, " @ops_room ").await, Err(gone));
    f.clear_resolve_failure("@ops_room");
    assert_eq!(f.resolve(&a, "@ops_room").await.unwrap(), ops);
}

#[tokio::test]
async fn dialogs_list_sent_chats_and_added_ones() {
    let f = FakeMessenger::new();
    let a = account(1, "a");
    send(&f, &a, &peer(10), 1).await.unwrap();
    send(&f, &a, &peer(11), 2).await.unwrap();
    send(&f, &account(2, "b"), &peer(12), 3).await.unwrap();
    f.add_dialog(
        "a",
        Dialog {
            peer: peer(99),
            username: Some("news".into()),
        },
    );
    let all = f.dialogs(&a, None).await.unwrap();
    let ids: Vec<i64> = all.iter().map(|d| d.peer.peer_id).collect();
    assert_eq!(ids, [11, 10, 99]);
    let found = f.dialogs(&a, Some("NEWS")).await.unwrap();
    assert_eq!(found.len(), 1);
}
