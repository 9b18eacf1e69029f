//! The lease protocol on a throwaway PostgreSQL: fair split, takeover after
//! a crash, hand-over on release, a partitioned node going silent before
//! its lease expires, clock skew, and the fencing predicate.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use microbot_tests::proxy::TcpProxy;

use super::*;
use crate::config::ClusterConfig;
use crate::events::Events;
use crate::store::{Pool, Store};

/// Short but nested like the defaults: retry < renew < lease, with room
/// between a node going silent (renew) and its lease expiring (lease).
const FAST: ClusterConfig = ClusterConfig {
    lease: Duration::from_millis(5000),
    renew: Duration::from_millis(2000),
    retry: Duration::from_millis(200),
};

/// A fresh database URL, or `None` (said aloud) where the operator opted
/// out of the PostgreSQL tests.
pub(super) fn pg_url() -> Option<String> {
    let url = microbot_tests::pg::fresh_database_url();
    if url.is_none() {
        microbot_tests::pg::say_skipped("a cluster test");
    }
    url
}

pub(super) async fn open(url: &str) -> Store {
    let store = Store::open(url, 4).await.unwrap();
    store.migrate().await.unwrap();
    store
}

pub(super) async fn add_accounts(store: &Store, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let a = store
            .account_create(&format!("acct{i}"), &format!("+9055500000{i:02}"), 0)
            .await
            .unwrap();
        ids.push(a.id);
    }
    ids
}

pub(super) fn manager(store: &Store, node: &str) -> LeaseManager {
    LeaseManager::new(store.clone(), node.into(), FAST, Events::channel().0).0
}

pub(super) fn held_ids(m: &LeaseManager) -> BTreeSet<i64> {
    m.leases()
        .held_accounts()
        .iter()
        .map(|(id, _)| *id)
        .collect()
}

/// (owner, epoch, expires_at) of one account's lease row.
pub(super) async fn lease_row(store: &Store, account: i64) -> (Option<String>, i64, i64) {
    let Pool::Postgres(p) = store.pool() else {
        unreachable!()
    };
    sqlx::query_as("SELECT owner, epoch, expires_at FROM account_leases WHERE account_id = $1")
        .bind(account)
        .fetch_one(p)
        .await
        .unwrap()
}

/// Two managers that have split `ids` between them (A first, alone).
async fn split(store: &Store, a: &mut LeaseManager, b: &mut LeaseManager) {
    assert!(a.turn().await);
    assert!(b.turn().await);
    assert!(a.turn().await, "A gives its surplus back");
    assert!(b.turn().await, "B takes what A gave back");
    let _ = store;
}

#[tokio::test]
async fn two_managers_split_seven_accounts_fairly() {
    let Some(url) = pg_url() else { return };
    let store = open(&url).await;
    let ids = add_accounts(&store, 7).await;
    let (mut a, mut b) = (manager(&store, "a"), manager(&store, "b"));
    assert!(a.turn().await);
    assert_eq!(held_ids(&a).len(), 7, "alone, A holds everything");
    assert!(b.turn().await);
    assert!(held_ids(&b).is_empty(), "nothing is free yet");
    split(&store, &mut a, &mut b).await;
    let (ha, hb) = (held_ids(&a), held_ids(&b));
    assert_eq!((ha.len(), hb.len()), (4, 3), "A {ha:?} B {hb:?}");
    assert!(ha.is_disjoint(&hb));
    assert_eq!(
        ha.union(&hb).copied().collect::<Vec<_>>(),
        ids,
        "every account has one owner"
    );
    for id in &hb {
        assert_eq!(a.leases().held(*id), None);
        assert_eq!(b.leases().held(*id), Some(2), "taken twice: epoch 2");
        assert_eq!(lease_row(&store, *id).await.0.as_deref(), Some("b"));
    }
    for id in &ha {
        assert_eq!(a.leases().held(*id), Some(1));
    }
    // A steady state: further rounds move nothing.
    assert!(a.turn().await && b.turn().await);
    assert_eq!((held_ids(&a), held_ids(&b)), (ha, hb));
}

#[tokio::test]
async fn a_crashed_node_loses_its_accounts_after_expiry_not_before() {
    let Some(url) = pg_url() else { return };
    let store = open(&url).await;
    add_accounts(&store, 7).await;
    let (mut a, mut b) = (manager(&store, "a"), manager(&store, "b"));
    split(&store, &mut a, &mut b).await;
    let of_a = held_ids(&a);
    let expiry = {
        let mut max = 0;
        for id in &of_a {
            max = max.max(lease_row(&store, *id).await.2);
        }
        max
    };
    drop(a); // killed: no release
    assert!(b.turn().await);
    assert!(
        held_ids(&b).is_disjoint(&of_a),
        "A's leases are still valid: B must not take them"
    );
    for _ in 0..200 {
        let before = store.db_now_ms().await.unwrap();
        assert!(b.turn().await);
        let after = store.db_now_ms().await.unwrap();
        let taken = !held_ids(&b).is_disjoint(&of_a);
        assert!(!taken || after >= expiry, "taken before the lease expired");
        if before > expiry {
            assert_eq!(
                held_ids(&b).len(),
                7,
                "the first round after expiry takes all"
            );
            for id in &of_a {
                assert_eq!(b.leases().held(*id), Some(2), "a new epoch fences A out");
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("B never took A's accounts");
}

#[tokio::test]
async fn after_a_crash_the_next_round_is_due_when_the_dead_nodes_leases_lapse() {
    let Some(url) = pg_url() else { return };
    let store = open(&url).await;
    add_accounts(&store, 4).await;
    // A retry long enough that waiting for it would be visibly late.
    let slow_retry = ClusterConfig {
        lease: Duration::from_millis(5000),
        renew: Duration::from_millis(4000),
        retry: Duration::from_millis(3000),
    };
    let mk = |node: &str| {
        LeaseManager::new(store.clone(), node.into(), slow_retry, Events::channel().0).0
    };
    let (mut a, mut b) = (mk("a"), mk("b"));
    split(&store, &mut a, &mut b).await;
    let of_a = held_ids(&a);
    assert_eq!(of_a.len(), 2);
    let mut expiry = 0;
    for id in &of_a {
        expiry = expiry.max(lease_row(&store, *id).await.2);
    }
    drop(a); // killed: no release, no more heartbeats
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let before = store.db_now_ms().await.unwrap();
    assert!(b.turn().await);
    let until_expiry = Duration::from_millis(u64::try_from(expiry - before).unwrap());
    assert!(
        b.next_round() < slow_retry.retry,
        "the round after a lapse must not wait a whole retry ({:?})",
        b.next_round()
    );
    assert!(
        b.next_round() <= until_expiry + Duration::from_millis(25),
        "next round in {:?}, A's last lease expires in {until_expiry:?}",
        b.next_round()
    );
    tokio::time::sleep(b.next_round()).await;
    assert!(b.turn().await);
    if held_ids(&b).is_disjoint(&of_a) {
        // A's liveness lapsed first (its heartbeat precedes its renew by
        // a moment): this round knew A dead, the next one is the leases'.
        assert!(b.next_round() < slow_retry.retry);
        tokio::time::sleep(b.next_round()).await;
        assert!(b.turn().await);
    }
    assert_eq!(
        held_ids(&b).len(),
        4,
        "B holds A's accounts right after expiry"
    );
}

#[tokio::test]
async fn a_graceful_release_hands_over_at_once() {
    let Some(url) = pg_url() else { return };
    let store = open(&url).await;
    add_accounts(&store, 7).await;
    let (mut a, mut b) = (manager(&store, "a"), manager(&store, "b"));
    split(&store, &mut a, &mut b).await;
    a.release_all().await;
    assert!(held_ids(&a).is_empty());
    assert!(b.turn().await);
    assert_eq!(held_ids(&b).len(), 7, "B's next round takes everything");
}

/// A stopping node tells the others: the running survivor takes its
/// accounts long before its own next round would have come.
#[tokio::test]
async fn a_stopping_node_wakes_the_others_to_take_its_accounts() {
    let Some(url) = pg_url() else { return };
    let store = open(&url).await;
    add_accounts(&store, 4).await;
    // Rounds far apart: only the notification can explain a quick take.
    let slow = ClusterConfig {
        lease: Duration::from_secs(120),
        renew: Duration::from_secs(100),
        retry: Duration::from_secs(60),
    };
    let mk =
        |node: &str| LeaseManager::new(store.clone(), node.into(), slow, Events::channel().0).0;
    let (mut a, mut b) = (mk("a"), mk("b"));
    split(&store, &mut a, &mut b).await;
    assert_eq!(held_ids(&b).len(), 2);
    let b_view = b.leases().clone();
    let stop_b = tokio_util::sync::CancellationToken::new();
    // B's first round runs at once; its next one would be a minute later.
    let b_task = tokio::spawn(b.run(stop_b.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.release_all().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while b_view.held_accounts().len() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "B did not take A's accounts on A's notification"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop_b.cancel();
    b_task.await.unwrap();
}

#[tokio::test]
async fn a_partitioned_node_goes_silent_before_its_lease_expires() {
    let Some(url) = pg_url() else { return };
    let cluster = microbot_tests::pg::cluster().unwrap();
    let proxy = TcpProxy::start(([127, 0, 0, 1], cluster.port()).into());
    let store = open(&url).await;
    let cut_off = open(&proxy.rewrite_url(&url, cluster.port())).await;
    add_accounts(&store, 7).await;
    let (mut a, mut b) = (manager(&cut_off, "a"), manager(&store, "b"));
    split(&store, &mut a, &mut b).await;
    let of_a: Vec<(i64, i64)> = a.leases().held_accounts();
    let leases_a = a.leases().clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(a.run(stop.clone()));
    proxy.cut();
    // A keeps running its rounds against a database that no longer answers.
    let (first, _) = of_a[0];
    while leases_a.held(first).is_some() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let now = store.db_now_ms().await.unwrap();
    for (id, epoch) in &of_a {
        assert_eq!(leases_a.held(*id), None, "silent on every account at once");
        let (owner, e, expires) = lease_row(&store, *id).await;
        assert_eq!((owner.as_deref(), e), (Some("a"), *epoch));
        assert!(
            expires > now,
            "A went silent only after its lease expired in the database"
        );
    }
    let expiry = {
        let mut max = 0;
        for (id, _) in &of_a {
            max = max.max(lease_row(&store, *id).await.2);
        }
        max
    };
    let mut took_over = false;
    for _ in 0..200 {
        let before = store.db_now_ms().await.unwrap();
        assert!(b.turn().await);
        let after = store.db_now_ms().await.unwrap();
        let holds_a = of_a.iter().any(|(id, _)| b.leases().held(*id).is_some());
        assert!(
            !holds_a || after >= expiry,
            "taken before the lease expired"
        );
        if before > expiry {
            assert_eq!(held_ids(&b).len(), 7, "within lease + one retry");
            took_over = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(took_over, "B never took A's accounts");
    for (id, _) in &of_a {
        assert_eq!(leases_a.held(*id), None);
    }
    // Healed: A's old epochs are fenced out; whatever it holds again, it
    // took anew under a higher epoch.
    proxy.restore();
    let mut rejoined = false;
    for _ in 0..200 {
        assert!(b.turn().await);
        let held_a = leases_a.held_accounts().len();
        if held_a > 0 && held_a + held_ids(&b).len() == 7 {
            rejoined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rejoined, "A took its share back after the partition healed");
    for (id, epoch) in leases_a.held_accounts() {
        if let Some((_, old)) = of_a.iter().find(|(a, _)| *a == id) {
            assert!(epoch > *old, "account {id}: epoch {epoch} after {old}");
        }
    }
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn the_fence_stops_stale_and_expired_writes() {
    let Some(url) = pg_url() else { return };
    let store = open(&url).await;
    let ids = add_accounts(&store, 1).await;
    let id = ids[0];
    let mut a = manager(&store, "a");
    assert!(a.turn().await);
    let epoch = a.leases().held(id).unwrap();
    let Pool::Postgres(p) = store.pool() else {
        unreachable!()
    };
    let sql = format!(
        "UPDATE accounts SET last_error = 'written' WHERE id = $1 AND {}",
        lease_fence(crate::store::Backend::Postgres, "$1", "$2", "$3")
    );
    let write = |node: &'static str, epoch: i64| {
        let sql = sql.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(node)
                .bind(epoch)
                .execute(p)
                .await
                .unwrap()
                .rows_affected()
        }
    };
    assert_eq!(
        write("a", epoch).await,
        1,
        "the owner under its epoch writes"
    );
    assert_eq!(
        write("a", epoch - 1).await,
        0,
        "a stale epoch changes nothing"
    );
    assert_eq!(write("b", epoch).await, 0, "another node changes nothing");
    sqlx::query("UPDATE account_leases SET expires_at = expires_at - 3600000")
        .execute(p)
        .await
        .unwrap();
    assert_eq!(
        write("a", epoch).await,
        0,
        "an expired lease changes nothing"
    );
    // SQLite is single-node: the same statement text writes under epoch 0.
    let (lite, _dir) = crate::store::testing::sqlite().await;
    let lite_id = add_accounts(&lite, 1).await[0];
    let sql = format!(
        "UPDATE accounts SET last_error = 'x' WHERE id = $1 AND {}",
        lease_fence(crate::store::Backend::Sqlite, "$1", "$2", "$3")
    );
    let Pool::Sqlite(lp) = lite.pool() else {
        unreachable!()
    };
    let n = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lite_id)
        .bind("node")
        .bind(0_i64)
        .execute(lp)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(n, 1);
}

/// A whole daemon (in process) whose clock is `skew` off.
async fn skewed_daemon(
    url: &str,
    node: &str,
    skew: chrono::Duration,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), crate::DaemonError>>,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::testing::test_config(dir.path());
    config.database.url = url.to_string();
    config.daemon.node_id = node.to_string();
    config.daemon.socket = dir.path().join("control.sock");
    config.cluster = FAST;
    let listener = tokio::net::UnixListener::bind(&config.daemon.socket).unwrap();
    let clock = Arc::new(crate::clock::OffsetClock::starting_at(
        chrono::Utc::now() + skew,
    ));
    let overrides = crate::Overrides {
        messenger: Some(Arc::new(crate::telegram::fake::FakeMessenger::new())),
        clock: Some(clock),
        ..Default::default()
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(crate::run_with(
        config,
        listener,
        async {
            let _ = rx.await;
        },
        overrides,
    ));
    (tx, handle, dir)
}

#[tokio::test]
async fn a_node_with_a_wrong_clock_neither_steals_nor_keeps_leases() {
    let Some(url) = pg_url() else { return };
    let store = open(&url).await;
    let ids = add_accounts(&store, 3).await;
    let mut b = manager(&store, "b");
    assert!(b.turn().await);
    // Ten minutes ahead: by its own clock B's leases expired long ago.
    let (stop, daemon, _dir) = skewed_daemon(&url, "ahead", chrono::Duration::minutes(10)).await;
    let joined = async {
        loop {
            let nodes = store.cluster_nodes(5000).await.unwrap();
            if nodes.iter().any(|n| n.node_id == "ahead") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), joined)
        .await
        .expect("the skewed daemon joins");
    // B gives its surplus back (fair share 2 of 3) but nothing it still
    // holds is ever owned by the skewed node.
    for _ in 0..10 {
        assert!(b.turn().await, "B keeps renewing");
        for id in &ids {
            if let Some(epoch) = b.leases().held(*id) {
                let row = lease_row(&store, *id).await;
                assert_eq!(
                    (row.0.as_deref(), row.1),
                    (Some("b"), epoch),
                    "account {id} stolen"
                );
            }
        }
        tokio::time::sleep(FAST.retry).await;
    }
    assert_eq!(
        b.leases().held_accounts().len(),
        2,
        "B keeps its fair share"
    );
    let before: Vec<_> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(lease_row(&store, *id).await);
        }
        v
    };
    // B dies without releasing. Its leases expire by the DATABASE clock;
    // the skewed node takes them then, under new epochs.
    let expiry = before
        .iter()
        .filter(|r| r.0.as_deref() == Some("b"))
        .map(|r| r.2)
        .max()
        .unwrap();
    drop(b);
    let taken = async {
        loop {
            let rows = store.account_leases().await.unwrap();
            if rows
                .iter()
                .all(|r| r.owner.as_deref() == Some("ahead") && !r.expired)
            {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let rows = tokio::time::timeout(Duration::from_secs(60), taken)
        .await
        .expect("the skewed node takes the accounts after expiry");
    assert!(store.db_now_ms().await.unwrap() >= expiry);
    assert!(rows.iter().all(|r| r.epoch == 2), "{rows:?}");
    // Its leases expire in the database (as if renews had stopped landing):
    // it does not keep them on its own clock's say; what it holds again it
    // takes anew under a higher epoch.
    let Pool::Postgres(p) = store.pool() else {
        unreachable!()
    };
    sqlx::query("UPDATE account_leases SET expires_at = 0")
        .execute(p)
        .await
        .unwrap();
    let retaken = async {
        loop {
            let rows = store.account_leases().await.unwrap();
            if rows.iter().all(|r| r.epoch == 3 && !r.expired) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), retaken)
        .await
        .expect("expired leases are taken anew, not kept");
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(60), daemon)
        .await
        .expect("the daemon stops")
        .unwrap()
        .unwrap();
    let rows = store.account_leases().await.unwrap();
    assert!(
        rows.iter().all(|r| r.owner.is_none()),
        "released at shutdown: {rows:?}"
    );
    let nodes = store.cluster_nodes(5000).await.unwrap();
    assert!(
        nodes.iter().all(|n| n.node_id != "ahead"),
        "a stopped node leaves the census: {nodes:?}"
    );
}
