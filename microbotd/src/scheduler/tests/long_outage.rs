//! A three-day outage of an every-minute template: far more missed slots
//! than are written one row each, yet every one of them is counted — by
//! the row standing for the oldest ones, in `deliveries list` and `stats`.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::scheduler::misfire::MAX_MISSED_ROWS;
use crate::stats::{By, summarize};
use crate::telegram::fake::FakeMessenger;

const MINUTE: i64 = 60_000;
/// Slots owed over three days of `* * * * *`, plus the on-time one.
const OWED: i64 = 3 * 24 * 60 + 1;

async fn three_days_down_counts_every_missed_slot(store: crate::store::Store) {
    let a = account(&store, "alpha", "active").await;
    let first = Utc.with_ymd_and_hms(2027, 3, 1, 0, 1, 0).unwrap();
    let down = first - chrono::Duration::seconds(30);
    let chats = [
        target(&store, a, "@one").await,
        target(&store, a, "@two").await,
    ];
    let t = template(
        &store,
        a,
        "minutely",
        ("cron", "* * * * *"),
        "skip",
        (Some(first), down),
        &chats,
    )
    .await;
    // Back 10 s after the last owed slot: that one is on time and sent,
    // every older one is missed.
    let back = first + chrono::Duration::days(3) + chrono::Duration::seconds(10);
    let run = Running::start(&store, Arc::new(FakeMessenger::new()), 600, back);
    eventually("the template fired", || async {
        let n: i64 = on_pool!(store, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM templates WHERE next_slot > $1")
            .bind(to_ms(back)).fetch_one(p).await)
        .unwrap();
        n == 1
    })
    .await;
    run.stop().await;

    let missed_slots = OWED - 1;
    let first_ms = to_ms(first);
    let list = store
        .deliveries_list(
            None,
            Some(crate::store::states::DeliveryState::Missed),
            None,
            i64::MAX,
        )
        .await
        .unwrap();
    let all = rows(&store).await;
    let mut retries = Vec::new();
    for chat in chats {
        let mut mine: Vec<_> = all
            .iter()
            .filter(|r| r.template_id == t && r.target_id == chat && r.state == "missed")
            .collect();
        mine.sort_by_key(|r| r.slot);
        assert_eq!(
            mine.len(),
            MAX_MISSED_ROWS + 1,
            "the newest one by one, plus one range row"
        );
        // Continuity: the range row sits at the first owed slot, then the
        // rows one a minute up to the on-time slot.
        assert_eq!(mine[0].slot, first_ms);
        let singles: Vec<i64> = mine[1..].iter().map(|r| r.slot).collect();
        let want: Vec<i64> = (OWED - 1 - MAX_MISSED_ROWS as i64..OWED - 1)
            .map(|i| first_ms + i * MINUTE)
            .collect();
        assert_eq!(singles, want);
        let range = (singles[0] - first_ms) / MINUTE;
        assert_eq!(range + MAX_MISSED_ROWS as i64, missed_slots);
        // `deliveries list` shows the count on the range row.
        let shown = list.iter().find(|d| d.id == mine[0].id).expect("listed");
        let error = shown.last_error.as_deref().unwrap_or_default();
        assert!(
            error.contains(&format!("stands for {range} missed slots")),
            "{error}"
        );
        assert_eq!(shown.slots, range);
        retries.push((shown.id, mine[1].id));
    }
    // `stats` counts every missed slot of both chats.
    let since = first - chrono::Duration::days(1);
    let counts = store.stats_counts(to_ms(since), None).await.unwrap();
    let lateness = store.stats_lateness(to_ms(since), None).await.unwrap();
    let by_template = summarize(By::Template, since, back, &counts, &lateness);
    assert_eq!(by_template.len(), 1, "{by_template:?}");
    assert_eq!(by_template[0].missed, 2 * missed_slots);
    let on_time = to_ms(first + chrono::Duration::days(3));
    let sent: Vec<_> = all
        .iter()
        .filter(|r| r.state != "missed" && r.slot <= to_ms(back))
        .map(|r| r.slot)
        .collect();
    assert_eq!(sent, [on_time, on_time], "the on-time slot, on both chats");
    // One message cannot make up for a range row: it is not retried; a
    // single missed slot is.
    for (range, single) in retries {
        assert_eq!(store.delivery_retry(range, 0).await.unwrap(), None);
        assert!(store.delivery_retry(single, 0).await.unwrap().is_some());
    }
}
crate::store::testing::per_backend!(three_days_down_counts_every_missed_slot);
