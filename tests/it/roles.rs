//! Roles end to end through the real binaries: every admin-only command,
//! run by an operator, is refused and audited; every operator command is
//! allowed. The operator is uid 65534 in group `nogroup` (the daemon's
//! operator group here); the admin group does not exist, so only root is
//! an admin. Needs root to switch users.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon, bin};

const NOBODY: u32 = 65534;

fn as_operator(d: &TestDaemon, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
            "--",
        ])
        .arg(bin("microbotctl"))
        .arg("--socket")
        .arg(&d.socket)
        .args(args)
        .env("HOME", "/nonexistent")
        .output()
        .unwrap()
}

fn start(db: Db) -> TestDaemon {
    let d = TestDaemon::builder(db)
        .env("MICROBOT_DAEMON_OPERATOR_GROUP", "nogroup")
        .env("MICROBOT_DAEMON_ADMIN_GROUP", "microbot-no-such-group")
        .start();
    // uid 65534 must reach the socket and read the files it is handed.
    for p in [d.dir.path(), d.socket.parent().unwrap()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    d
}

/// Each admin-only command of docs/DESIGN.md with the audit method its
/// refusal is written under.
fn admin_only(backup: &str) -> Vec<(Vec<&str>, &'static str)> {
    vec![
        (
            vec!["account", "add", "x", "--phone", "+905321234599"],
            "account.add",
        ),
        (vec!["account", "login", "ops"], "account.start_login"),
        (vec!["account", "logout", "ops"], "account.logout"),
        (vec!["account", "resume", "ops"], "account.resume"),
        (vec!["account", "remove", "ops"], "account.remove"),
        (vec!["backup", "create", "--output", "-"], "backup.create"),
        (
            vec!["backup", "restore", "--force", backup],
            "backup.restore",
        ),
        (vec!["db", "vacuum"], "db.vacuum"),
        (vec!["log-level", "debug"], "log.set_level"),
        (vec!["scheduler", "start", "--all"], "scheduler.start"),
        (vec!["scheduler", "stop", "--all"], "scheduler.stop"),
        (vec!["cluster", "release", "ops"], "cluster.release"),
    ]
}

fn operator_admin_calls_are_refused_and_audited(db: Db) {
    if !microbot_tests::root_or_opted_out("operator_admin_calls_are_refused_and_audited") {
        return;
    }
    let d = start(db);
    d.ctl_ok(&["account", "add", "ops", "--phone", "+905321234567"]);
    let backup = d.dir.path().join("b.tar.gz");
    d.ctl_ok(&["backup", "create", "--output", backup.to_str().unwrap()]);
    std::fs::set_permissions(&backup, std::fs::Permissions::from_mode(0o644)).unwrap();
    let calls = admin_only(backup.to_str().unwrap());
    for (args, _) in &calls {
        let out = as_operator(&d, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("permission denied"), "{args:?}: {err}");
    }
    // Nothing changed: the account is still there, still new.
    let list = d.ctl_json(&["account", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["state"], "new", "{list}");
    let want: Vec<&str> = calls.iter().map(|(_, m)| *m).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let rows = loop {
        let rows = d.ctl_json(&["audit", "--uid", &NOBODY.to_string()]);
        let rows = rows.as_array().unwrap().clone();
        if rows.len() >= want.len() || Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(methods, want, "every refusal audited, in order");
    for r in &rows {
        let result = r["result"].as_str().unwrap();
        assert!(result.starts_with("PERMISSION_DENIED: "), "{r}");
    }
}
microbot_tests::per_backend!(operator_admin_calls_are_refused_and_audited);

fn operator_commands_are_allowed(db: Db) {
    if !microbot_tests::root_or_opted_out("operator_commands_are_allowed") {
        return;
    }
    let d = start(db);
    d.add_logged_in("ops", "+905321234567");
    let backup = d.dir.path().join("b.tar.gz");
    d.ctl_ok(&["backup", "create", "--output", backup.to_str().unwrap()]);
    std::fs::set_permissions(&backup, std::fs::Permissions::from_mode(0o644)).unwrap();
    let apply = d.dir.path().join("t.toml");
    std::fs::write(
        &apply,
        "[[template]]\nname = \"applied\"\naccount = \"ops\"\nchats = [\"@ops_room\"]\n\
         cron = \"0 9 * * *\"\ntext = \"hi\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&apply, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ok = |args: &[&str]| -> String {
        let out = as_operator(&d, args);
        assert!(
            out.status.success(),
            "{args:?} refused to an operator: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&["health"]);
    ok(&["status"]);
    ok(&["account", "list"]);
    let created = ok(&[
        "-o",
        "json",
        "template",
        "create",
        "--account",
        "ops",
        "--name",
        "daily",
        "--chat",
        "@ops_room",
        "--cron",
        "0 9 * * *",
        "--text",
        "hello",
        "--inactive",
    ]);
    let id = serde_json::from_str::<serde_json::Value>(&created).unwrap()["id"].to_string();
    ok(&["template", "list"]);
    ok(&["template", "show", &id]);
    ok(&["template", "edit", &id, "--text", "hello again"]);
    ok(&["template", "enable", &id]);
    ok(&["template", "disable", &id]);
    ok(&[
        "template",
        "apply",
        "-f",
        apply.to_str().unwrap(),
        "--dry-run",
    ]);
    ok(&["template", "apply", "-f", apply.to_str().unwrap()]);
    ok(&["template", "export"]);
    ok(&["template", "delete", &id]);
    ok(&["scheduler", "status"]);
    ok(&["scheduler", "stop", "--account", "ops"]);
    ok(&["scheduler", "start", "--account", "ops"]);
    ok(&["cron", "validate", "0 9 * * *"]);
    ok(&["deliveries", "list"]);
    ok(&["db", "check"]);
    ok(&["backup", "verify", backup.to_str().unwrap()]);
    ok(&["stats"]);
    ok(&["audit"]);
    ok(&["cluster", "status"]);
    // `doctor` exits 1 on a FAIL it finds, not on a refusal.
    let out = as_operator(&d, &["doctor"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("permission denied"), "{err}");
    // None of it was refused.
    let refused: Vec<serde_json::Value> = d
        .ctl_json(&["audit", "--uid", &NOBODY.to_string()])
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["result"]
                .as_str()
                .unwrap_or("")
                .starts_with("PERMISSION_DENIED")
        })
        .cloned()
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}
microbot_tests::per_backend!(operator_commands_are_allowed);
