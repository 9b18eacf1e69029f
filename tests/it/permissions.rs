//! Who may use the socket: mode 0660, SO_PEERCRED roles, refusals.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use microbot_tests::daemon::{Db, TestDaemon, bin};

/// Runs microbotctl as uid 65534 with the given primary group and no others.
fn ctl_as_nobody(d: &TestDaemon, gid: u32, args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args([
            "--reuid=65534",
            &format!("--regid={gid}"),
            "--clear-groups",
            "--",
        ])
        .arg(bin("microbotctl"))
        .arg("--socket")
        .arg(&d.socket)
        .args(args)
        .output()
        .unwrap()
}

fn open_up(d: &TestDaemon) {
    // Let uid 65534 traverse the temp dirs to reach the socket.
    for p in [d.dir.path(), d.socket.parent().unwrap()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn socket_is_0660() {
    let d = TestDaemon::start(Db::Sqlite);
    let mode = std::fs::metadata(&d.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
}

#[test]
fn outsiders_are_refused_operators_admitted() {
    if !microbot_tests::root_or_opted_out("outsiders_are_refused_operators_admitted") {
        return;
    }
    // The operator group is nogroup (65534); the admin group does not exist.
    let d = TestDaemon::builder(Db::Sqlite)
        .env("MICROBOT_DAEMON_OPERATOR_GROUP", "nogroup")
        .env("MICROBOT_DAEMON_ADMIN_GROUP", "microbot-no-such-group")
        .start();
    open_up(&d);
    // The socket belongs to the operator group...
    let meta = std::fs::metadata(&d.socket).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), 65534);
    let ok = ctl_as_nobody(&d, 65534, &["status"]);
    assert!(ok.status.success(), "operator refused: {ok:?}");
    // ...so give a non-member a way in through the file mode, and the
    // daemon itself must still refuse it by its credentials.
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let refused = ctl_as_nobody(&d, 1, &["status"]);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("permission denied"), "{err}");
    assert!(err.contains("uid 65534"), "{err}");
    // A supplementary group counts (SO_PEERGROUPS at connect time).
    let ok = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=1", "--groups=65534", "--"])
        .arg(bin("microbotctl"))
        .arg("--socket")
        .arg(&d.socket)
        .arg("status")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "supplementary operator refused: {ok:?}"
    );
}

/// Audit rows (as JSON objects) whose uid is `uid`.
fn audit_of(d: &TestDaemon, uid: u32) -> Vec<serde_json::Value> {
    let rows = d.ctl_json(&["audit", "--uid", &uid.to_string()]);
    rows.as_array().unwrap().clone()
}

#[test]
fn every_refusal_is_audited_and_logged() {
    if !microbot_tests::root_or_opted_out("every_refusal_is_audited_and_logged") {
        return;
    }
    let d = TestDaemon::builder(Db::Sqlite)
        .env("MICROBOT_DAEMON_OPERATOR_GROUP", "nogroup")
        .env("MICROBOT_DAEMON_ADMIN_GROUP", "microbot-no-such-group")
        .start();
    open_up(&d);
    // An operator's admin calls.
    for args in [
        &["backup", "create", "--output", "/dev/null"][..],
        &["db", "vacuum"][..],
        &["scheduler", "stop", "--all"][..],
        &["log-level", "debug"][..],
    ] {
        let out = ctl_as_nobody(&d, 65534, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
    }
    // An outsider's call.
    std::fs::set_permissions(&d.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = ctl_as_nobody(&d, 1, &["status"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // The outsider's row is written by a task of its own: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let rows = loop {
        let rows = audit_of(&d, 65534);
        if rows.len() >= 5 || std::time::Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(
        methods,
        [
            "backup.create",
            "db.vacuum",
            "scheduler.stop",
            "log.set_level",
            "/microbot.v1.System/Status"
        ],
        "{rows:?}"
    );
    for r in &rows {
        let result = r["result"].as_str().unwrap();
        assert!(result.starts_with("PERMISSION_DENIED: "), "{r}");
        assert!(r["pid"].as_i64().is_some(), "{r}");
    }
    assert!(
        rows[0]["result"]
            .as_str()
            .unwrap()
            .contains("backup create needs admin rights"),
        "{rows:?}"
    );
    assert!(
        rows[4]["result"]
            .as_str()
            .unwrap()
            .contains("uid 65534 may not use microbotd"),
        "{rows:?}"
    );
    let log = d.log();
    let warned = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("refused control call"))
        .count();
    assert_eq!(warned, 5, "{log}");
}

#[test]
fn operators_see_the_cluster_but_only_admins_release() {
    if !microbot_tests::root_or_opted_out("operators_see_the_cluster_but_only_admins_release") {
        return;
    }
    let d = TestDaemon::builder(Db::Sqlite)
        .env("MICROBOT_DAEMON_OPERATOR_GROUP", "nogroup")
        .env("MICROBOT_DAEMON_ADMIN_GROUP", "microbot-no-such-group")
        .start();
    open_up(&d);
    let status = ctl_as_nobody(&d, 65534, &["cluster", "status"]);
    assert!(status.status.success(), "{status:?}");
    let release = ctl_as_nobody(&d, 65534, &["cluster", "release", "sales"]);
    assert_eq!(release.status.code(), Some(1), "{release:?}");
    let err = String::from_utf8_lossy(&release.stderr);
    assert!(err.contains("cluster release needs admin rights"), "{err}");
}
