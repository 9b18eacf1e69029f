//! `scheduler` and `deliveries` commands through the real binaries.

use microbot_tests::daemon::{Db, TestDaemon};

fn scheduler_status_start_stop_and_an_empty_delivery_log(db: Db) {
    let d = TestDaemon::start(db);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    let st = d.ctl_json(&["scheduler", "status"]);
    assert_eq!(st[0]["account"], "sales-tr", "{st}");
    // Not logged in yet: it cannot send.
    assert_eq!(st[0]["state"], "new");
    assert_eq!(st[0]["queued"], 0);
    let usage = d.ctl(&["scheduler", "stop"]);
    assert_eq!(
        usage.status.code(),
        Some(2),
        "--account or --all is required"
    );
    d.ctl_ok(&["scheduler", "stop", "--account", "sales-tr"]);
    let list = d.ctl_json(&["account", "list"]);
    assert_eq!(list[0]["scheduler"], "stopped", "{list}");
    d.ctl_ok(&["scheduler", "start", "--all"]);
    let list = d.ctl_json(&["account", "list"]);
    assert_eq!(list[0]["scheduler"], "running", "{list}");
    let missing = d.ctl(&["scheduler", "stop", "--account", "nobody"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    let table = d.ctl_ok(&["scheduler", "status"]);
    assert!(table.contains("dispatcher last turned at"), "{table}");
    assert_eq!(
        d.ctl_json(&["deliveries", "list", "--since", "24h"]),
        serde_json::json!([])
    );
    let bad = d.ctl(&["deliveries", "list", "--state", "lost"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid argument: state"));
    let retry = d.ctl(&["deliveries", "retry", "42"]);
    assert_eq!(retry.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&retry.stderr).contains("delivery 42 not found"));
}
microbot_tests::per_backend!(scheduler_status_start_stop_and_an_empty_delivery_log);
