//! Tests of the dry-run messenger: de-duplication across restarts, crash
//! recovery of the ledger, concurrent appends and the `22222` login.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::telegram::{ParseMode, PeerKind};

fn account(id: i64, name: &str) -> AccountKey {
    AccountKey {
        id,
        name: name.into(),
    }
}

fn ledger_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("dry-run-ledger.jsonl")
}

async fn send(m: &DryRunMessenger, acct: &AccountKey, target: &str, random_id: i64) -> Sent {
    let peer = m.resolve(acct, target).await.unwrap();
    let msg = OutgoingText {
        peer: &peer,
        chat_label: target,
        text: "hello",
        parse_mode: ParseMode::Plain,
        random_id,
        template_id: Some(7),
        slot: Some(Utc.with_ymd_and_hms(2025, 3, 30, 1, 30, 0).unwrap()),
        silent: false,
        no_preview: false,
        attachments: &[],
    };
    m.send_text(acct, &msg).await.unwrap()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn ledger_line_has_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let m = DryRunMessenger::open(&ledger_in(&dir)).unwrap();
    send(&m, &account(1, "sales-tr"), "@ops_room", 42).await;
    let line: serde_json::Value = serde_json::from_str(&lines(&ledger_in(&dir))[0]).unwrap();
    assert_eq!(line["account"], "sales-tr");
    assert_eq!(line["chat"], "@ops_room");
    assert_eq!(line["text"], "hello");
    assert_eq!(line["random_id"], 42);
    assert_eq!(line["template_id"], 7);
    assert_eq!(line["slot"], "2025-03-30T01:30:00Z");
    assert_eq!(line["message_id"], 1);
    assert!(line["peer_id"].is_i64());
    let sent_at = line["sent_at"].as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(sent_at).unwrap();
}

#[tokio::test]
async fn duplicate_random_id_returns_original_even_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    let a = account(1, "sales");
    let first = {
        let m = DryRunMessenger::open(&path).unwrap();
        let first = send(&m, &a, "@ops_room", 99).await;
        assert!(!first.duplicate);
        let again = send(&m, &a, "@ops_room", 99).await;
        assert_eq!(
            (again.message_id, again.duplicate),
            (first.message_id, true)
        );
        first
    };
    let m = DryRunMessenger::open(&path).unwrap();
    let again = send(&m, &a, "@ops_room", 99).await;
    assert_eq!(
        (again.message_id, again.duplicate),
        (first.message_id, true)
    );
    assert_eq!(lines(&path).len(), 1);
    // Same random_id, but another chat or another account: a new message.
    assert!(!send(&m, &a, "@other_chat", 99).await.duplicate);
    assert!(
        !send(&m, &account(2, "support"), "@ops_room", 99)
            .await
            .duplicate
    );
    assert_eq!(lines(&path).len(), 3);
}

#[tokio::test]
async fn message_ids_increase_per_account_and_continue_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    let (a, b) = (account(1, "a"), account(2, "b"));
    {
        let m = DryRunMessenger::open(&path).unwrap();
        assert_eq!(send(&m, &a, "@ops_room", 1).await.message_id, 1);
        assert_eq!(send(&m, &a, "@ops_room", 2).await.message_id, 2);
        assert_eq!(send(&m, &b, "@ops_room", 3).await.message_id, 1);
    }
    let m = DryRunMessenger::open(&path).unwrap();
    assert_eq!(send(&m, &a, "@ops_room", 4).await.message_id, 3);
    assert_eq!(send(&m, &b, "@ops_room", 5).await.message_id, 2);
}

#[tokio::test]
async fn torn_last_line_is_dropped_and_next_append_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    let a = account(1, "a");
    {
        let m = DryRunMessenger::open(&path).unwrap();
        send(&m, &a, "@ops_room", 1).await;
    }
    let mut data = std::fs::read(&path).unwrap();
    let good_len = data.len();
    data.extend_from_slice(br#"{"account":"a","account_id":1,"chat":"@o"#);
    std::fs::write(&path, &data).unwrap();

    let m = DryRunMessenger::open(&path).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, good_len);
    assert_eq!(send(&m, &a, "@ops_room", 2).await.message_id, 2);
    let all = lines(&path);
    assert_eq!(all.len(), 2);
    for l in &all {
        serde_json::from_str::<LedgerEntry>(l).unwrap();
    }
}

#[tokio::test]
async fn complete_last_record_without_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    let a = account(1, "a");
    {
        let m = DryRunMessenger::open(&path).unwrap();
        send(&m, &a, "@ops_room", 1).await;
    }
    let data = std::fs::read(&path).unwrap();
    std::fs::write(&path, &data[..data.len() - 1]).unwrap();
    let m = DryRunMessenger::open(&path).unwrap();
    assert!(send(&m, &a, "@ops_room", 1).await.duplicate);
    send(&m, &a, "@ops_room", 2).await;
    assert_eq!(lines(&path).len(), 2);
}

#[tokio::test]
async fn corrupt_middle_line_is_an_error_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    {
        let m = DryRunMessenger::open(&path).unwrap();
        for r in 1..=3 {
            send(&m, &account(1, "a"), "@ops_room", r).await;
        }
    }
    let mut all = lines(&path);
    all[1] = "{not json".into();
    std::fs::write(&path, all.join("\n") + "\n").unwrap();
    match DryRunMessenger::open(&path) {
        Err(DryRunError::Corrupt { line, .. }) => assert_eq!(line, 2),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("corrupt ledger opened"),
    }
    let err = DryRunMessenger::open(&path).err().unwrap().to_string();
    assert!(err.contains("line 2"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sends_all_land_as_complete_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    let m = Arc::new(DryRunMessenger::open(&path).unwrap());
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let m = Arc::clone(&m);
            tokio::spawn(async move {
                let a = account(i % 4, &format!("acct{}", i % 4));
                // Every task also repeats its send: exactly one line each.
                let first = send(&m, &a, "@ops_room", 1000 + i).await;
                let again = send(&m, &a, "@ops_room", 1000 + i).await;
                assert_eq!(
                    (again.message_id, again.duplicate),
                    (first.message_id, true)
                );
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let entries: Vec<LedgerEntry> = lines(&path)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 64);
    for acct in 0..4 {
        let ids: Vec<i64> = entries
            .iter()
            .filter(|e| e.account_id == acct)
            .map(|e| e.message_id)
            .collect();
        // Ids are handed out in file order: strictly increasing, no gaps.
        assert_eq!(ids, (1..=16).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn dropped_send_future_still_records_and_dedups() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    let m = DryRunMessenger::open(&path).unwrap();
    let a = account(1, "a");
    let peer = m.resolve(&a, "@ops_room").await.unwrap();
    let msg = OutgoingText {
        peer: &peer,
        chat_label: "@ops_room",
        text: "hi",
        parse_mode: ParseMode::Plain,
        random_id: 5,
        template_id: None,
        slot: None,
        silent: false,
        no_preview: false,
        attachments: &[],
    };
    // Poll once so the blocking append starts, then drop the future.
    {
        let fut = m.send_text(&a, &msg);
        let _ = tokio::time::timeout(std::time::Duration::from_nanos(1), fut).await;
    }
    // The dropped call's message reaches the ledger by itself — no retry
    // needed (one would record it either way, proving nothing).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while lines(&path).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the dropped send was never recorded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let retry = m.send_text(&a, &msg).await.unwrap();
    assert_eq!(lines(&path).len(), 1);
    assert_eq!(retry.message_id, 1);
}

#[tokio::test]
async fn login_with_code_22222() {
    let dir = tempfile::tempdir().unwrap();
    let m = DryRunMessenger::open(&ledger_in(&dir)).unwrap();
    let a = account(3, "sales-tr");
    let phone = Secret::new("+90 555 000 0000");
    let code = |s: &str| Secret::new(s);
    assert_eq!(
        m.submit_code(&a, &code(DRY_RUN_CODE)).await,
        Err(TelegramError::NoLoginInProgress)
    );
    let start = m.request_code(&a, &phone).await.unwrap();
    assert_eq!(
        start,
        LoginStart::CodeSent {
            via: "dry-run (use code 22222)".into()
        }
    );
    assert_eq!(
        m.submit_code(&a, &code("12345")).await,
        Err(TelegramError::CodeInvalid)
    );
    let SignIn::Done(user) = m.submit_code(&a, &code("22222")).await.unwrap() else {
        panic!("expected Done");
    };
    assert_eq!(user.user_id, DryRunMessenger::user_id_for(&a));
    assert!(user.user_id > 0);
    assert_eq!(
        m.request_code(&a, &phone).await.unwrap(),
        LoginStart::AlreadyAuthorized(user)
    );
    assert_eq!(
        m.submit_password(&a, &code("pw")).await,
        Err(TelegramError::NoLoginInProgress)
    );
    m.log_out(&a).await.unwrap();
    assert_eq!(
        m.submit_code(&a, &code("22222")).await,
        Err(TelegramError::NoLoginInProgress)
    );
    assert!(matches!(
        m.request_code(&a, &Secret::new("not a phone")).await,
        Err(TelegramError::PhoneInvalid { .. })
    ));
}

#[tokio::test]
async fn resolve_and_dialogs() {
    let dir = tempfile::tempdir().unwrap();
    let m = DryRunMessenger::open(&ledger_in(&dir)).unwrap();
    let a = account(1, "a");
    let ch = m.resolve(&a, "-1001234567890").await.unwrap();
    assert_eq!(ch.kind, PeerKind::Channel);
    assert_eq!(
        m.resolve(&a, "not valid!").await,
        Err(TelegramError::PeerInvalid {
            code: "USERNAME_INVALID".into()
        })
    );
    send(&m, &a, "@ops_room", 1).await;
    send(&m, &a, "-1001234567890", 2).await;
    send(&m, &a, "@ops_room", 3).await;
    send(&m, &account(2, "b"), "@elsewhere", 4).await;

    let all = m.dialogs(&a, None).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].username.as_deref(), Some("ops_room"));
    assert_eq!(all[1].peer, ch_with_title(ch, "-1001234567890"));
    let found = m.dialogs(&a, Some("OP")).await.unwrap();
    assert_eq!(found.len(), 1);
    assert!(m.dialogs(&a, Some("nothing")).await.unwrap().is_empty());
}

fn ch_with_title(mut p: ResolvedPeer, title: &str) -> ResolvedPeer {
    p.title = title.into();
    p
}

#[tokio::test]
async fn empty_and_oversized_texts_are_refused_without_recording() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    let m = DryRunMessenger::open(&path).unwrap();
    let a = account(1, "a");
    let peer = m.resolve(&a, "@ops_room").await.unwrap();
    let long = "x".repeat(4097);
    for (text, want_too_long) in [("  ", false), (long.as_str(), true)] {
        let msg = OutgoingText {
            peer: &peer,
            chat_label: "@ops_room",
            text,
            parse_mode: ParseMode::Plain,
            random_id: 1,
            template_id: None,
            slot: None,
            silent: false,
            no_preview: false,
            attachments: &[],
        };
        let err = m.send_text(&a, &msg).await.unwrap_err();
        assert_eq!(err == TelegramError::MessageTooLong, want_too_long);
    }
    assert!(lines(&path).is_empty());
}

#[tokio::test]
async fn a_second_open_of_the_same_ledger_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    let first = DryRunMessenger::open(&path).unwrap();
    assert!(matches!(
        DryRunMessenger::open(&path),
        Err(DryRunError::Locked { .. })
    ));
    drop(first);
    // Released on drop. Another test's process spawn can briefly share the
    // file description (between its fork and exec), so allow it a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match DryRunMessenger::open(&path) {
            Ok(_) => break,
            Err(DryRunError::Locked { .. }) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("the ledger stays locked after its messenger is gone: {e}"),
        }
    }
}

async fn send_album(
    m: &DryRunMessenger,
    a: &AccountKey,
    files: &[crate::telegram::Attachment],
) -> Result<Sent, TelegramError> {
    let peer = m.resolve(a, "@ops_room").await.unwrap();
    let msg = OutgoingText {
        peer: &peer,
        chat_label: "@ops_room",
        text: "caption",
        parse_mode: ParseMode::Plain,
        random_id: 5,
        template_id: Some(7),
        slot: None,
        silent: false,
        no_preview: false,
        attachments: files,
    };
    m.send_text(a, &msg).await
}

/// An album: each file's digest is of the bytes loaded from the media
/// source, its items take consecutive ids, and a repeat of its random_id
/// (even after a reopen) answers with the same ids.
#[tokio::test]
async fn albums_record_loaded_digests_and_repeat_their_ids() {
    use crate::telegram::fake::MemoryMedia;
    use crate::telegram::media::sha256_hex;
    use crate::telegram::{Attachment, MediaKind};
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_in(&dir);
    let media = Arc::new(MemoryMedia::default());
    let photo = media.insert(b"photo bytes");
    let video = media.insert(b"video bytes");
    let item = |kind, name: &str, sha256: &str| Attachment {
        kind,
        file_name: name.into(),
        mime: "application/octet-stream".into(),
        size: 11,
        sha256: sha256.into(),
    };
    let files = [
        item(MediaKind::Photo, "p.png", &photo),
        item(MediaKind::Video, "v.mp4", &video),
        item(MediaKind::Photo, "p2.png", &photo),
    ];
    let a = account(1, "sales");
    let m = DryRunMessenger::open(&path)
        .unwrap()
        .with_media(media.clone());
    send(&m, &a, "@ops_room", 1).await;
    let first = send_album(&m, &a, &files).await.unwrap();
    assert_eq!((first.message_id, first.album_ids.clone()), (2, vec![3, 4]));
    let line: serde_json::Value = serde_json::from_str(&lines(&path)[1]).unwrap();
    let digests: Vec<&str> = line["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["sha256"].as_str().unwrap())
        .collect();
    assert_eq!(
        digests,
        [
            sha256_hex(b"photo bytes"),
            sha256_hex(b"video bytes"),
            sha256_hex(b"photo bytes")
        ]
    );
    assert_eq!(line["attachments"][1]["kind"], "video");
    assert_eq!(line["album_ids"], serde_json::json!([3, 4]));
    drop(m);
    let m = DryRunMessenger::open(&path)
        .unwrap()
        .with_media(media.clone());
    let again = send_album(&m, &a, &files).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(again.album_ids, vec![3, 4]);
    // The next message's id comes after the album's last item.
    assert_eq!(send(&m, &a, "@ops_room", 6).await.message_id, 5);
    // Bytes that are not stored fail the send with their digest.
    let missing = [item(MediaKind::Photo, "gone.png", &sha256_hex(b"gone"))];
    let peer = m.resolve(&a, "@ops_room").await.unwrap();
    let msg = OutgoingText {
        peer: &peer,
        chat_label: "@ops_room",
        text: "caption",
        parse_mode: ParseMode::Plain,
        random_id: 8,
        template_id: None,
        slot: None,
        silent: false,
        no_preview: false,
        attachments: &missing,
    };
    assert!(matches!(
        m.send_text(&a, &msg).await,
        Err(TelegramError::MediaMissing { .. })
    ));
}
