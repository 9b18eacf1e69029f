//! Losing an account's lease (taken over, expired, released) closes this
//! node's Telegram connection for it, so the session is connected from one
//! node at a time; taking the lease again sends again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::*;
use crate::cluster::{Held, HeldMap};
use crate::telegram::fake::FakeMessenger;

const WAIT: Duration = Duration::from_secs(60);

/// A lease row for `account` owned by the test node under epoch 0 (what
/// the fence of a clustered daemon checks on PostgreSQL; SQLite's fence
/// wants epoch 0).
async fn own_lease(store: &Store, account: i64) {
    on_pool!(store, p => sqlx::query(
        "INSERT INTO account_leases (account_id, owner, epoch, expires_at)
         VALUES ($1, 'test-node', 0, $2)"
    ).bind(account).bind(i64::MAX / 2).execute(p).await.map(|_| ()))
    .unwrap();
}

fn holding(account: i64) -> HeldMap {
    HeldMap::from([(
        account,
        Held {
            epoch: 0,
            deadline: Instant::now() + Duration::from_secs(3600),
        },
    )])
}

async fn a_lost_lease_releases_the_connection_and_a_regained_one_sends_again(
    store: crate::store::Store,
) {
    let now = Utc::now();
    let a = account(&store, "roaming", "active").await;
    let c = target(&store, a, "@roamingchat").await;
    let once = |at| (Some(at), at);
    let first = template(
        &store,
        a,
        "first",
        ("cron", "0 0 1 1 *"),
        "once",
        once(now + chrono::Duration::seconds(1)),
        &[c],
    )
    .await;
    own_lease(&store, a).await;
    let fake = Arc::new(FakeMessenger::new());
    let run = Running::start_clustered(&store, fake.clone(), 600, now);
    run.ctx.leases.publish(holding(a));
    assert!(fake.wait_for_sends(1, WAIT).await);
    assert_eq!(fake.sent()[0].template_id, Some(first));
    assert!(fake.released().is_empty(), "released while still held");

    // Another node took the account: the connection here goes.
    run.ctx.leases.publish(HeldMap::new());
    eventually("released", || async {
        fake.released() == vec!["roaming".to_string()]
    })
    .await;

    // Held again: a new slot is claimed and sent from here.
    let later = run.ctx.now() + chrono::Duration::seconds(1);
    let second = template(
        &store,
        a,
        "second",
        ("cron", "0 0 1 1 *"),
        "once",
        once(later),
        &[c],
    )
    .await;
    run.change(Change::Template(second));
    run.ctx.leases.publish(holding(a));
    assert!(fake.wait_for_sends(2, WAIT).await);
    assert_eq!(fake.sent()[1].template_id, Some(second));
    assert_eq!(fake.released().len(), 1, "released once per loss");
    run.stop().await;
}
crate::store::testing::per_backend!(
    a_lost_lease_releases_the_connection_and_a_regained_one_sends_again
);
