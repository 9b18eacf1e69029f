//! A template that fell behind: an `every 1s` template owing 20 slots after
//! an outage sends one message a second to its chat (the chat's limit), so
//! sending its backlog in order would keep it 20 s behind forever. A
//! backlog older than `scheduler.misfire_grace` follows the template's
//! misfire policy instead: `skip` and `once` send the newest due slot and
//! record the older ones `missed`; `all` sends every one.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::store::states::DeliveryState;
use crate::telegram::fake::FakeMessenger;

async fn a_backlog_older_than_the_grace_follows_the_policy_instead_of_trailing(
    store: crate::store::Store,
) {
    let a = account(&store, "alpha", "active").await;
    let now = Utc.with_ymd_and_hms(2027, 3, 1, 12, 0, 0).unwrap();
    let behind = now - chrono::Duration::seconds(20);
    let mut ids = Vec::new();
    for policy in ["skip", "once", "all"] {
        let x = target(&store, a, &format!("@chat_{policy}")).await;
        let t = template(
            &store,
            a,
            policy,
            ("every", "1s"),
            policy,
            (Some(behind), behind),
            &[x],
        )
        .await;
        ids.push((policy, t));
    }
    let fake = Arc::new(FakeMessenger::new());
    let grace = [("MICROBOT_SCHEDULER_MISFIRE_GRACE", "5s")];
    let run = Running::start_with(&store, fake.clone(), 6000, now, &grace);
    let caught_up = |t: i64| {
        let store = store.clone();
        async move {
            rows(&store).await.iter().any(|r| {
                r.template_id == t
                    && r.slot >= to_ms(now)
                    && r.state == DeliveryState::Sent.as_str()
            })
        }
    };
    eventually("skip and once send a slot after the outage", || async {
        caught_up(ids[0].1).await && caught_up(ids[1].1).await
    })
    .await;
    run.stop().await;
    let old = to_ms(now - chrono::Duration::seconds(5));
    let all = rows(&store).await;
    for (policy, t) in ids {
        let backlog: Vec<_> = all
            .iter()
            .filter(|r| r.template_id == t && r.slot < old)
            .collect();
        assert_eq!(backlog.len(), 15, "{policy}: one row per owed slot");
        let missed: Vec<_> = backlog
            .iter()
            .filter(|r| r.state == DeliveryState::Missed.as_str())
            .collect();
        if policy == "all" {
            assert!(
                missed.is_empty(),
                "all: nothing of the backlog is dropped: {missed:?}"
            );
        } else {
            assert_eq!(
                missed.len(),
                backlog.len(),
                "{policy}: the backlog older than the grace is missed, not sent late: {:?}",
                backlog
                    .iter()
                    .map(|r| (
                        r.slot - to_ms(now),
                        r.state.as_str(),
                        r.last_error.as_deref()
                    ))
                    .collect::<Vec<_>>()
            );
            assert!(
                missed.iter().all(|r| r
                    .last_error
                    .as_deref()
                    .unwrap_or("")
                    .contains("misfire_grace")),
                "{policy}: {missed:?}"
            );
        }
    }
}
crate::store::testing::per_backend!(
    a_backlog_older_than_the_grace_follows_the_policy_instead_of_trailing
);
