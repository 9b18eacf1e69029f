//! Several daemons on one database, through the real binaries: SQLite is
//! single-node (a second daemon on the file refuses to start); on
//! PostgreSQL two daemons split the accounts, `cluster status` shows who
//! holds what, SIGTERM hands over at once, `cluster release` is audited and
//! `doctor` warns about accounts nobody holds.

use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::Value;

/// Long leases: anything that moves within the test moved by release or
/// hand-over, not by expiry.
const SLOW_LEASES: &str = "[cluster]\nlease = \"60s\"\nrenew = \"40s\"\nretry = \"300ms\"\n";

fn doctor_check(d: &TestDaemon, name: &str) -> (String, String) {
    let out = d.ctl(&["-o", "json", "doctor"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {v}"))
        .clone();
    (
        c["result"].as_str().unwrap().to_string(),
        c["detail"].as_str().unwrap().to_string(),
    )
}

/// Polls `cluster status -o json` until `done` holds (at most 30 s).
fn wait_for_status(d: &TestDaemon, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = d.ctl_json(&["cluster", "status"]);
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}: {s:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn owners(s: &Value) -> Vec<Option<String>> {
    s["leases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (l["expired"] == false)
                .then(|| l["owner"].as_str().map(str::to_string))
                .flatten()
        })
        .collect()
}

#[test]
fn sqlite_is_single_node_and_refuses_a_second_daemon() {
    let mut a = TestDaemon::builder(Db::Sqlite)
        .env("MICROBOT_DAEMON_NODE_ID", "solo")
        .start();
    assert_eq!(a.ctl_json(&["status"])["node_id"], "solo");
    assert!(
        a.log()
            .lines()
            .any(|l| l.contains("microbotd starting") && l.contains("solo")),
        "{}",
        a.log()
    );
    let s = a.ctl_json(&["cluster", "status"]);
    assert_eq!(s["clustered"], false);
    assert_eq!(s["node_id"], "solo");
    assert!(a.ctl_ok(&["cluster", "status"]).contains("single-node"));
    let release = a.ctl(&["cluster", "release", "nobody"]);
    assert_eq!(release.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&release.stderr).contains("single-node"));

    let mut b = TestDaemon::builder(Db::Sqlite)
        .env("MICROBOT_DATABASE_URL", &a.db_url)
        .prepare();
    let err = b
        .spawn()
        .expect_err("a second daemon on the same SQLite file");
    let lines: Vec<_> = err
        .lines()
        .filter(|l| l.starts_with("microbotd:"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("another microbotd is already using the SQLite database"),
        "{err}"
    );
    // The kernel drops the lock with the process, even on kill -9.
    a.kill9();
    b.spawn().expect("starts once the first daemon is gone");
}

#[test]
fn postgres_nodes_share_accounts_hand_over_and_release() {
    if microbot_tests::pg::cluster().is_none() {
        return microbot_tests::pg::say_skipped(
            "postgres_nodes_share_accounts_hand_over_and_release",
        );
    }
    let mut a = TestDaemon::builder(Db::Postgres)
        .env("MICROBOT_DAEMON_NODE_ID", "node-a")
        .config(SLOW_LEASES)
        .start();
    for name in ["alpha", "beta", "gamma"] {
        a.ctl_ok(&["account", "add", name, "--phone", "+905321234567"]);
    }
    let b = TestDaemon::builder(Db::Postgres)
        .env("MICROBOT_DAEMON_NODE_ID", "node-b")
        .env("MICROBOT_DATABASE_URL", &a.db_url)
        .config(SLOW_LEASES)
        .start();
    assert_eq!(b.ctl_json(&["status"])["node_id"], "node-b");
    let s = wait_for_status(&b, "both nodes hold a share", |s| {
        let o = owners(s);
        o.len() == 3
            && o.iter().all(Option::is_some)
            && o.contains(&Some("node-a".into()))
            && o.contains(&Some("node-b".into()))
    });
    assert_eq!(s["clustered"], true);
    let nodes = s["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{s:#}");
    assert!(nodes.iter().all(|n| n["live"] == true));
    let held: u64 = nodes
        .iter()
        .map(|n| n["accounts_held"].as_u64().unwrap())
        .sum();
    assert_eq!(held, 3);
    assert!(
        s["leases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["epoch"].as_i64().unwrap() >= 1)
    );
    let table = b.ctl_ok(&["cluster", "status"]);
    assert!(
        table.contains("node-a") && table.contains("EPOCH"),
        "{table}"
    );
    assert_eq!(doctor_check(&b, "account leases").0, "OK");

    // SIGTERM gives a's leases back: b takes them long before they expire.
    assert!(a.terminate().success());
    wait_for_status(&b, "b takes over after a's SIGTERM", |s| {
        owners(s).iter().all(|o| o.as_deref() == Some("node-b"))
            && s["nodes"].as_array().unwrap().len() == 1
    });

    // An operator moves one account: nobody holds it until its lease runs out.
    let r = b.ctl_json(&["cluster", "release", "alpha"]);
    assert_eq!(r["previous_owner"], "node-b");
    let s = b.ctl_json(&["cluster", "status"]);
    let alpha = s["leases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["account"] == "alpha")
        .unwrap()
        .clone();
    assert_eq!(alpha["owner"], Value::Null, "{s:#}");
    let (level, detail) = doctor_check(&b, "account leases");
    assert_eq!(level, "WARN", "{detail}");
    assert!(
        detail.contains("alpha") && !detail.contains("beta"),
        "{detail}"
    );
    let audit = b.ctl_json(&["audit", "--since", "1h"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|row| { row["method"] == "cluster.release" && row["target"] == "account alpha" }),
        "{audit:#}"
    );
    let missing = b.ctl(&["cluster", "release", "no-such"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
}
