//! Exactly-once: transient retries and lost replies reuse the random_id,
//! rows a crash left `sending` are re-sent and de-duplicated, templates fire
//! their slots once, changes wake the loop, and the heartbeat advances.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::telegram::fake::{DuplicateReply, FakeMessenger, Outcome};
use crate::telegram::{AccountKey, Messenger, OutgoingText, TelegramError};

const WAIT: Duration = Duration::from_secs(60);

async fn transient_errors_retry_with_the_same_random_id(store: crate::store::Store) {
    let (_a, t, c) = outbox(&store, "alpha", &["@chatx"]).await;
    let d = delivery(&store, t, c[0], 1, "pending", 77).await;
    let fake = Arc::new(FakeMessenger::new());
    fake.script_account(
        "alpha",
        [
            Outcome::Err(TelegramError::Transient("timeout".into())),
            Outcome::Err(TelegramError::Transient("timeout".into())),
        ],
    );
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    assert!(fake.wait_for_sends(1, WAIT).await);
    eventually("sent", || async { state_of(&store, d).await == "sent" }).await;
    let ids: Vec<_> = fake.attempts().iter().map(|a| a.random_id).collect();
    assert_eq!(ids, [77, 77, 77]);
    let row = rows(&store).await.into_iter().find(|r| r.id == d).unwrap();
    assert_eq!(row.attempts, 3);
    run.stop().await;
}
crate::store::testing::per_backend!(transient_errors_retry_with_the_same_random_id);

async fn a_lost_reply_then_retry_sends_exactly_one_message(store: crate::store::Store) {
    for reply in [DuplicateReply::Original, DuplicateReply::RandomIdDuplicate] {
        let name = format!("acct-{reply:?}").to_lowercase();
        let (_a, t, c) = outbox(&store, &name, &["@chatx"]).await;
        let d = delivery(&store, t, c[0], 1, "pending", 5).await;
        let fake = Arc::new(FakeMessenger::new());
        fake.set_duplicate_reply(reply);
        fake.script_account(&name, [Outcome::AcceptThenLoseReply]);
        let run = Running::start(&store, fake.clone(), 600, Utc::now());
        eventually("sent", || async { state_of(&store, d).await == "sent" }).await;
        assert_eq!(fake.sent().len(), 1, "one message at the server");
        assert_eq!(fake.send_attempts(), 2);
        let row = rows(&store).await.into_iter().find(|r| r.id == d).unwrap();
        let want = (reply == DuplicateReply::Original).then_some(fake.sent()[0].message_id);
        assert_eq!(
            row.message_id, want,
            "the original message id when Telegram returns it"
        );
        run.stop().await;
    }
}
crate::store::testing::per_backend!(a_lost_reply_then_retry_sends_exactly_one_message);

async fn rows_left_sending_by_a_crash_are_resent_once(store: crate::store::Store) {
    let (a, t, c) = outbox(&store, "alpha", &["@chatx", "@chaty"]).await;
    let fake = Arc::new(FakeMessenger::new());
    // Before the "crash" the server got the message for @x, but the
    // row was still `sending`; @y's row was `sending` and never left.
    let peer = crate::telegram::dry_run::peer::resolve_offline("@chatx").unwrap();
    let key = AccountKey {
        id: a,
        name: "alpha".into(),
    };
    fake.send_text(
        &key,
        &OutgoingText {
            peer: &peer,
            chat_label: "@chatx",
            text: "t",
            parse_mode: Default::default(),
            random_id: 1,
            template_id: Some(t),
            slot: None,
            silent: false,
            no_preview: false,
            attachments: &[],
        },
    )
    .await
    .unwrap();
    let dx = delivery(&store, t, c[0], 1, "sending", 1).await;
    let dy = delivery(&store, t, c[1], 1, "sending", 2).await;
    let dz = delivery(&store, t, c[0], 2, "pending", 3).await;
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    eventually("all sent", || async {
        state_of(&store, dx).await == "sent"
            && state_of(&store, dy).await == "sent"
            && state_of(&store, dz).await == "sent"
    })
    .await;
    let mut ids: Vec<_> = fake.sent().iter().map(|m| m.random_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3], "each message exactly once at the server");
    run.stop().await;
}
crate::store::testing::per_backend!(rows_left_sending_by_a_crash_are_resent_once);

async fn templates_fire_each_slot_once_and_changes_wake_the_loop(store: crate::store::Store) {
    let a = account(&store, "alpha", "active").await;
    let x = target(&store, a, "@chatx").await;
    let y = target(&store, a, "@chaty").await;
    let now = Utc::now();
    let fake = Arc::new(FakeMessenger::new());
    let run = Running::start(&store, fake.clone(), 600, now);
    eventually("heartbeat", || async { run.ctx.heartbeat.last().is_some() }).await;
    // Created after start: only the change notification tells the loop.
    let next = now + chrono::Duration::seconds(1);
    let t = template(
        &store,
        a,
        "every2s",
        ("every", "2s"),
        "once",
        (Some(next), next),
        &[x, y],
    )
    .await;
    run.change(Change::Template(t));
    assert!(fake.wait_for_sends(4, WAIT).await, "two slots to two chats");
    run.stop().await;
    let all = rows(&store).await;
    // Each chat got each of the first two slots, once: the sends, not the
    // rows (a UNIQUE constraint already keeps rows apart).
    for chat in ["@chatx", "@chaty"] {
        let mut slots: Vec<i64> = fake
            .sent()
            .iter()
            .filter(|m| m.chat_label == chat)
            .map(|m| crate::store::to_ms(m.slot.expect("a scheduled send")))
            .collect();
        slots.sort_unstable();
        let first = crate::store::to_ms(next);
        assert_eq!(slots[..2], [first, first + 2000], "{chat}: {slots:?}");
        let mut unique = slots.clone();
        unique.dedup();
        assert_eq!(unique, slots, "{chat}: a slot sent twice");
    }
    let sent: Vec<_> = fake.sent().iter().map(|m| m.random_id).collect();
    let mut unique = sent.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), sent.len(), "no random_id sent twice");
    assert!(all.iter().all(|r| r.random_id != 0));
    for m in fake.sent() {
        let r = all
            .iter()
            .find(|r| r.random_id == m.random_id)
            .expect("ledger row");
        assert_eq!(r.state, "sent");
        assert_eq!(Some(r.slot), m.slot.map(crate::store::to_ms));
    }
    let next_slot: Option<i64> = on_pool!(store, p => sqlx::query_scalar(
    "SELECT next_slot FROM templates WHERE id = $1").bind(t).fetch_one(p).await)
    .unwrap();
    assert!(next_slot.unwrap() > all.iter().map(|r| r.slot).max().unwrap());
}
crate::store::testing::per_backend!(templates_fire_each_slot_once_and_changes_wake_the_loop);

async fn accounts_that_cannot_send_do_not_fire_until_they_can(store: crate::store::Store) {
    let a = account(&store, "alpha", "new").await;
    let x = target(&store, a, "@chatx").await;
    let now = Utc::now();
    let t = template(
        &store,
        a,
        "t",
        ("every", "1h"),
        "once",
        (Some(now), now),
        &[x],
    )
    .await;
    let fake = Arc::new(FakeMessenger::new());
    let run = Running::start(&store, fake.clone(), 600, now);
    let beat = run.ctx.heartbeat.clone();
    eventually("a first turn", || async { beat.last().is_some() }).await;
    // A later beat: a whole turn (its fire) ran while the account was new.
    let first = beat.last();
    eventually("a second turn", || async { beat.last() > first }).await;
    assert!(
        rows(&store).await.is_empty(),
        "a `new` account does not fire"
    );
    set_account_state(&store, a, "active").await;
    run.change(Change::Account(a));
    assert!(fake.wait_for_sends(1, WAIT).await);
    eventually("sent", || async {
        rows(&store)
            .await
            .iter()
            .any(|r| r.template_id == t && r.state == "sent")
    })
    .await;
    run.stop().await;
}
crate::store::testing::per_backend!(accounts_that_cannot_send_do_not_fire_until_they_can);
