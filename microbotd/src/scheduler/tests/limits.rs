//! Telegram's limits: FLOOD_WAIT, SLOWMODE_WAIT, PEER_FLOOD, revoked auth,
//! per-chat errors, the token bucket and the 1 s per-chat gap.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::telegram::TelegramError;
use crate::telegram::fake::{FakeMessenger, Outcome};

const WAIT: Duration = Duration::from_secs(60);

async fn flood_wait_pauses_only_that_account_and_resumes(store: crate::store::Store) {
    let (a, ta, ca) = outbox(&store, "alpha", &["@alpha1"]).await;
    let (_b, tb, cb) = outbox(&store, "beta", &["@beta1"]).await;
    let da = delivery(&store, ta, ca[0], 1, "pending", 11).await;
    let db = delivery(&store, tb, cb[0], 1, "pending", 22).await;
    let fake = Arc::new(FakeMessenger::new());
    fake.script_account(
        "alpha",
        [Outcome::Err(TelegramError::FloodWait { seconds: 2 })],
    );
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    assert!(
        fake.wait_for_sends(2, WAIT).await,
        "both accounts end up sending"
    );
    // (That beta is not held up by alpha's wait is
    // `a_flood_wait_never_holds_up_another_account`.)
    let attempts: Vec<_> = fake
        .attempts()
        .into_iter()
        .filter(|x| x.account == "alpha")
        .collect();
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        attempts[0].random_id, attempts[1].random_id,
        "the retry reuses the random_id"
    );
    assert!(attempts[1].at - attempts[0].at >= chrono::Duration::milliseconds(1900));
    let acct = store.account_by_id(a).await.unwrap();
    assert!(acct.flood_wait_until.is_some());
    assert!(acct.last_error.unwrap().contains("FLOOD_WAIT"));
    eventually("rows sent", || async {
        state_of(&store, da).await == "sent" && state_of(&store, db).await == "sent"
    })
    .await;
    run.stop().await;
}
crate::store::testing::per_backend!(flood_wait_pauses_only_that_account_and_resumes);

/// Alpha is told to wait an hour: beta's message still goes out, and
/// alpha is not called again meanwhile.
async fn a_flood_wait_never_holds_up_another_account(store: crate::store::Store) {
    let (_a, ta, ca) = outbox(&store, "alpha", &["@alpha1"]).await;
    let (_b, tb, cb) = outbox(&store, "beta", &["@beta1"]).await;
    delivery(&store, ta, ca[0], 1, "pending", 11).await;
    let db = delivery(&store, tb, cb[0], 1, "pending", 22).await;
    let fake = Arc::new(FakeMessenger::new());
    fake.script_account(
        "alpha",
        [Outcome::Err(TelegramError::FloodWait { seconds: 3600 })],
    );
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    eventually("beta sent", || async {
        state_of(&store, db).await == "sent"
    })
    .await;
    run.stop().await;
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].account.name, "beta");
    let alpha = fake
        .attempts()
        .into_iter()
        .filter(|x| x.account == "alpha")
        .count();
    assert_eq!(alpha, 1, "alpha waits out its hour");
}
crate::store::testing::per_backend!(a_flood_wait_never_holds_up_another_account);

async fn slowmode_delays_only_that_chat(store: crate::store::Store) {
    let (_a, t, c) = outbox(&store, "alpha", &["@slowchat", "@fastchat"]).await;
    let slow = delivery(&store, t, c[0], 1, "pending", 1).await;
    delivery(&store, t, c[1], 1, "pending", 2).await;
    let fake = Arc::new(FakeMessenger::new());
    fake.script_chat(
        peer_of("@slowchat"),
        [Outcome::Err(TelegramError::SlowModeWait { seconds: 2 })],
    );
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    assert!(fake.wait_for_sends(2, WAIT).await);
    let sent = fake.sent();
    assert_eq!(sent[0].chat_label, "@fastchat");
    assert_eq!(sent[1].chat_label, "@slowchat");
    let tries: Vec<_> = fake
        .attempts()
        .into_iter()
        .filter(|x| x.peer_id == peer_of("@slowchat"))
        .collect();
    assert_eq!(tries.len(), 2);
    assert!(tries[1].at - tries[0].at >= chrono::Duration::milliseconds(1900));
    eventually("slow row sent", || async {
        state_of(&store, slow).await == "sent"
    })
    .await;
    let until: Option<i64> = on_pool!(store, p => sqlx::query_scalar(
    "SELECT slowmode_until FROM targets WHERE id = $1").bind(c[0]).fetch_one(p).await)
    .unwrap();
    assert!(until.is_some());
    run.stop().await;
}
crate::store::testing::per_backend!(slowmode_delays_only_that_chat);

async fn peer_flood_limits_the_account_until_resumed(store: crate::store::Store) {
    let (a, t, c) = outbox(&store, "alpha", &["@chatx", "@chaty"]).await;
    let d1 = delivery(&store, t, c[0], 1, "pending", 1).await;
    let d2 = delivery(&store, t, c[1], 1, "pending", 2).await;
    let fake = Arc::new(FakeMessenger::new());
    fake.script_account("alpha", [Outcome::Err(TelegramError::PeerFlood)]);
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    eventually("limited", || async {
        store.account_by_id(a).await.unwrap().state == "limited"
    })
    .await;
    assert_eq!(state_of(&store, d1).await, "pending", "nothing dropped");
    // The operator resumes the account. No fixed wait before: every send
    // call after the refused one must come after this moment.
    let resumed = Utc::now();
    set_account_state(&store, a, "active").await;
    run.change(Change::Account(a));
    assert!(fake.wait_for_sends(2, WAIT).await);
    eventually("sent", || async {
        state_of(&store, d1).await == "sent" && state_of(&store, d2).await == "sent"
    })
    .await;
    run.stop().await;
    let attempts = fake.attempts();
    assert_eq!(
        attempts.len(),
        3,
        "the refused call, then one each: {attempts:?}"
    );
    assert!(
        attempts[1..].iter().all(|x| x.at >= resumed),
        "sent while limited: {attempts:?}"
    );
}
crate::store::testing::per_backend!(peer_flood_limits_the_account_until_resumed);

async fn revoked_auth_logs_the_account_out(store: crate::store::Store) {
    let (a, t, c) = outbox(&store, "alpha", &["@chatx"]).await;
    let d = delivery(&store, t, c[0], 1, "pending", 1).await;
    let fake = Arc::new(FakeMessenger::new());
    fake.script_account(
        "alpha",
        [Outcome::Err(TelegramError::Unauthorized {
            code: "SESSION_REVOKED".into(),
        })],
    );
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    eventually("logged out", || async {
        store.account_by_id(a).await.unwrap().state == "logged_out"
    })
    .await;
    let acct = store.account_by_id(a).await.unwrap();
    assert!(acct.last_error.unwrap().contains("SESSION_REVOKED"));
    assert_eq!(state_of(&store, d).await, "pending");
    assert_eq!(fake.send_attempts(), 1);
    run.stop().await;
}
crate::store::testing::per_backend!(revoked_auth_logs_the_account_out);

async fn a_chat_error_fails_only_that_delivery(store: crate::store::Store) {
    let (_a, t, c) = outbox(&store, "alpha", &["@closed", "@openchat", "@gone"]).await;
    let closed = delivery(&store, t, c[0], 1, "pending", 1).await;
    let open = delivery(&store, t, c[1], 1, "pending", 2).await;
    let gone = delivery(&store, t, c[2], 1, "pending", 3).await;
    let fake = Arc::new(FakeMessenger::new());
    fake.script_chat(
        peer_of("@closed"),
        [Outcome::Err(TelegramError::ChatForbidden {
            code: "CHAT_WRITE_FORBIDDEN".into(),
        })],
    );
    fake.fail_resolve(
        "@gone",
        TelegramError::PeerInvalid {
            code: "USERNAME_NOT_OCCUPIED".into(),
        },
    );
    let run = Running::start(&store, fake.clone(), 600, Utc::now());
    eventually("all settled", || async {
        state_of(&store, closed).await == "failed"
            && state_of(&store, open).await == "sent"
            && state_of(&store, gone).await == "failed"
    })
    .await;
    let all = rows(&store).await;
    let err = |id| {
        all.iter()
            .find(|r| r.id == id)
            .unwrap()
            .last_error
            .clone()
            .unwrap()
    };
    assert!(err(closed).contains("CHAT_WRITE_FORBIDDEN"));
    assert!(err(gone).contains("USERNAME_NOT_OCCUPIED"), "{}", err(gone));
    // The resolved peer is cached on the target.
    let cached: Option<i64> = on_pool!(store, p => sqlx::query_scalar(
    "SELECT peer_id FROM targets WHERE id = $1").bind(c[1]).fetch_one(p).await)
    .unwrap();
    assert_eq!(cached, Some(peer_of("@openchat")));
    run.stop().await;
}
crate::store::testing::per_backend!(a_chat_error_fails_only_that_delivery);

async fn token_bucket_and_chat_gap_space_the_sends(store: crate::store::Store) {
    // 60 a minute: one a second after the first token.
    let (_a, t, c) = outbox(&store, "alpha", &["@chat1", "@chat2", "@chat3", "@chat4"]).await;
    for (i, chat) in c.iter().enumerate() {
        delivery(&store, t, *chat, 1, "pending", i as i64 + 1).await;
    }
    // Another account: three slots to ONE chat, plenty of tokens.
    let (_b, tb, cb) = outbox(&store, "beta", &["@samechat"]).await;
    for slot in 1..=3 {
        delivery(&store, tb, cb[0], slot, "pending", 100 + slot).await;
    }
    let fake = Arc::new(FakeMessenger::new());
    let run = Running::start(&store, fake.clone(), 60, Utc::now());
    assert!(fake.wait_for_sends(7, WAIT).await);
    let gaps = |account: &str| {
        let at: Vec<_> = fake
            .sent()
            .into_iter()
            .filter(|m| m.account.name == account)
            .map(|m| m.at)
            .collect();
        at.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
    };
    let alpha = gaps("alpha");
    assert_eq!(alpha.len(), 3);
    assert!(
        alpha
            .iter()
            .all(|g| *g >= chrono::Duration::milliseconds(900)),
        "{alpha:?}"
    );
    let beta = gaps("beta");
    assert_eq!(beta.len(), 2);
    assert!(
        beta.iter()
            .all(|g| *g >= chrono::Duration::milliseconds(950)),
        "{beta:?}"
    );
    let slots: Vec<_> = fake
        .sent()
        .into_iter()
        .filter(|m| m.account.name == "beta")
        .map(|m| m.random_id)
        .collect();
    assert_eq!(slots, [101, 102, 103], "oldest slot first");
    run.stop().await;
}
crate::store::testing::per_backend!(token_bucket_and_chat_gap_space_the_sends);
