//! Send options after the send: pin, and delete the previous message of
//! the template in that chat. A failure of either is noted on the
//! delivery, which stays `sent`.

use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::telegram::TelegramError;
use crate::telegram::fake::{FakeMessenger, FollowUp};

async fn set_options(store: &Store, template: i64, options: &str) {
    on_pool!(store, p => sqlx::query("UPDATE templates SET send_options = $2 WHERE id = $1")
        .bind(template).bind(options).execute(p).await.map(|_| ()))
    .unwrap();
}

async fn set_message_id(store: &Store, delivery: i64, message_id: i64) {
    on_pool!(store, p => sqlx::query("UPDATE deliveries SET message_id = $2 WHERE id = $1")
        .bind(delivery).bind(message_id).execute(p).await.map(|_| ()))
    .unwrap();
}

fn forbidden() -> TelegramError {
    TelegramError::Rpc {
        code: 403,
        name: "MESSAGE_DELETE_FORBIDDEN".into(),
    }
}

async fn a_failed_pin_or_delete_is_noted_and_the_send_stands(store: crate::store::Store) {
    // Replaces the message sent in slot 1 (id 500); the delete fails.
    let (_a, t, c) = outbox(&store, "alpha", &["@alpha1"]).await;
    set_options(&store, t, "replace-previous").await;
    let old = delivery(&store, t, c[0], 1, "sent", 10).await;
    set_message_id(&store, old, 500).await;
    let new = delivery(&store, t, c[0], 2, "pending", 11).await;
    let fake = Arc::new(FakeMessenger::new());
    fake.fail_follow_up(forbidden());
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    eventually("sent", || async { state_of(&store, new).await == "sent" }).await;
    let row = rows(&store)
        .await
        .into_iter()
        .find(|r| r.id == new)
        .unwrap();
    let note = row.last_error.unwrap_or_default();
    assert!(
        note.contains("previous message 500 not deleted")
            && note.contains("MESSAGE_DELETE_FORBIDDEN"),
        "{note}"
    );
    assert_eq!(fake.follow_ups(), []);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].silent && !sent[0].no_preview);
    run.stop().await;

    // Pins (the pin fails), then deletes the previous message.
    let (_b, t, c) = outbox(&store, "beta", &["@beta1"]).await;
    set_options(&store, t, "silent,pin,pin-notify,replace-previous").await;
    let old = delivery(&store, t, c[0], 1, "sent", 20).await;
    set_message_id(&store, old, 700).await;
    let new = delivery(&store, t, c[0], 2, "pending", 21).await;
    let fake = Arc::new(FakeMessenger::new());
    fake.fail_follow_up(forbidden());
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    eventually("sent", || async { state_of(&store, new).await == "sent" }).await;
    let row = rows(&store)
        .await
        .into_iter()
        .find(|r| r.id == new)
        .unwrap();
    assert!(
        row.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("sent, but not pinned")),
        "{row:?}"
    );
    assert_eq!(
        fake.follow_ups(),
        [FollowUp::Delete {
            account: "beta".into(),
            peer_id: peer_of("@beta1"),
            message_id: 700,
        }]
    );
    assert!(fake.sent()[0].silent);
    run.stop().await;
}
crate::store::testing::per_backend!(a_failed_pin_or_delete_is_noted_and_the_send_stands);
