//! Downtime: a 90-minute outage of a `*/5 * * * *` template, replayed with
//! a clock that starts after the outage, under each misfire policy.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};

use super::*;
use crate::telegram::fake::FakeMessenger;

async fn ninety_minutes_down_gives_0_1_18_sends_and_every_other_slot_missed(
    store: crate::store::Store,
) {
    let a = account(&store, "alpha", "active").await;
    // The daemon went down at 00:02:30; the first slot it owed is 00:05.
    let down = Utc.with_ymd_and_hms(2027, 3, 1, 0, 2, 30).unwrap();
    let first = Utc.with_ymd_and_hms(2027, 3, 1, 0, 5, 0).unwrap();
    let mut ids = Vec::new();
    for policy in ["skip", "once", "all"] {
        let x = target(&store, a, &format!("@chat_{policy}")).await;
        let t = template(
            &store,
            a,
            policy,
            ("cron", "*/5 * * * *"),
            policy,
            (Some(first), down),
            &[x],
        )
        .await;
        ids.push((policy, t));
    }
    let fake = Arc::new(FakeMessenger::new());
    let back = down + chrono::Duration::minutes(90);
    let run = Running::start(&store, fake.clone(), 600, back);
    eventually("all three fired", || async {
        let n: i64 = on_pool!(store, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM templates WHERE next_slot = $1")
        .bind(to_ms(Utc.with_ymd_and_hms(2027, 3, 1, 1, 35, 0).unwrap())).fetch_one(p).await)
        .unwrap();
        n == 3
    })
    .await;
    // Every queued slot goes out: 1 for `once`, 18 for `all` (these drain
    // at one a second per chat).
    assert!(
        fake.wait_for_sends(19, Duration::from_secs(90)).await,
        "sent: {:?}",
        fake.sent().len()
    );
    run.stop().await;
    let slots_to = |chat: &str| -> Vec<i64> {
        let mut v: Vec<i64> = fake
            .sent()
            .iter()
            .filter(|m| m.chat_label == chat)
            .map(|m| to_ms(m.slot.expect("a scheduled send")))
            .collect();
        v.sort_unstable();
        v
    };
    let every_five: Vec<i64> = (1..=18)
        .map(|i| to_ms(first + chrono::Duration::minutes(5 * (i - 1))))
        .collect();
    assert_eq!(slots_to("@chat_skip"), Vec::<i64>::new());
    assert_eq!(slots_to("@chat_once"), every_five[17..].to_vec());
    assert_eq!(
        slots_to("@chat_all"),
        every_five,
        "each owed slot sent once"
    );
    let all = rows(&store).await;
    for ((policy, t), want_sent) in ids.into_iter().zip([0usize, 1, 18]) {
        let mine: Vec<_> = all.iter().filter(|r| r.template_id == t).collect();
        let missed = mine.iter().filter(|r| r.state == "missed").count();
        let to_send = mine.len() - missed;
        assert_eq!(to_send, want_sent, "{policy}: slots sent or queued");
        assert_eq!(
            missed,
            18 - want_sent,
            "{policy}: every unsent slot is `missed`"
        );
        let mut slots: Vec<_> = mine.iter().map(|r| r.slot).collect();
        slots.dedup();
        assert_eq!(slots.len(), 18, "{policy}: one row per slot");
        assert!(
            mine.iter().filter(|r| r.state == "missed").all(|r| r
                .last_error
                .as_deref()
                .unwrap_or("")
                .contains("missed"))
        );
    }
    let once = all.iter().find(|r| {
        r.state != "missed"
            && fake
                .sent()
                .iter()
                .any(|m| m.random_id == r.random_id && m.chat_label == "@chat_once")
    });
    assert_eq!(
        once.map(|r| r.slot),
        Some(to_ms(Utc.with_ymd_and_hms(2027, 3, 1, 1, 30, 0).unwrap())),
        "once sends the newest missed slot"
    );
}
crate::store::testing::per_backend!(
    ninety_minutes_down_gives_0_1_18_sends_and_every_other_slot_missed
);
