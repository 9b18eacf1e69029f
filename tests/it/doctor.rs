//! `doctor`, `db check|vacuum`, `audit` and `log-level` through the real
//! binaries; every WARN / FAIL `doctor` claims to check is made to happen.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::Value;

/// SQL on the test daemon's SQLite file.
fn sqlite(d: &TestDaemon, stmt: &str) {
    let path = d.state_dir.join("microbot.db");
    let out = Command::new("sqlite3")
        .args(["-cmd", ".timeout 10000"])
        .arg(&path)
        .arg(stmt)
        .output()
        .expect("sqlite3 installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `doctor -o json` (any exit code) and the check named `name`.
pub(crate) fn doctor(d: &TestDaemon) -> (Option<i32>, Value) {
    let out = d.ctl(&["-o", "json", "doctor"]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), v)
}

pub(crate) fn result_of(v: &Value, name: &str) -> (String, String) {
    let c = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {v}"));
    (
        c["result"].as_str().unwrap().to_string(),
        c["detail"].as_str().unwrap().to_string(),
    )
}

fn backup_file(dir: &Path, name: &str, days_old: u64) {
    let p = dir.join(name);
    std::fs::write(&p, b"x").unwrap();
    let t = SystemTime::now() - Duration::from_secs(days_old * 24 * 3600 + 60);
    filetime::set_file_mtime(&p, filetime::FileTime::from_system_time(t)).unwrap();
}

/// Free space of the file system holding `dir`, in percent.
fn free_pct(dir: &Path) -> f64 {
    let s = nix::sys::statvfs::statvfs(dir).unwrap();
    s.blocks_available() as f64 * 100.0 / s.blocks() as f64
}

/// The runbook's disk thresholds: under 5 % FAIL, under 15 % WARN.
fn level(free_pct: f64) -> &'static str {
    if free_pct < 5.0 {
        "FAIL"
    } else if free_pct < 15.0 {
        "WARN"
    } else {
        "OK"
    }
}

#[test]
fn doctor_reports_each_condition_it_checks() {
    let backups = tempfile::tempdir().unwrap();
    let d = TestDaemon::builder(Db::Sqlite)
        .config(&format!(
            "[backup]\ndir = {:?}\n",
            backups.path().display().to_string()
        ))
        .start();
    // A fresh daemon: no backups (FAIL), the dispatcher already turning (OK).
    let free_before = free_pct(&d.state_dir);
    let (code, v) = doctor(&d);
    let free_after = free_pct(&d.state_dir);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(result_of(&v, "daemon").0, "OK");
    assert_eq!(result_of(&v, "database").0, "OK");
    // Both disks are the test's temp dir: its free space as measured
    // here, and the level the runbook's thresholds give it.
    for disk in ["disk (state dir)", "disk (database)"] {
        let (r, detail) = result_of(&v, disk);
        let shown: f64 = detail.split(" % free").next().unwrap().parse().unwrap();
        let (lo, hi) = (free_before.min(free_after), free_before.max(free_after));
        assert!(
            shown >= lo.floor() - 1.0 && shown <= hi.ceil() + 1.0,
            "{disk}: {detail}, measured {lo:.1}–{hi:.1} %"
        );
        if level(free_before) == level(free_after) {
            assert_eq!(r, level(free_before), "{disk}: {detail}");
        }
        assert!(
            detail.ends_with(&d.state_dir.display().to_string()),
            "{detail}"
        );
    }
    assert_eq!(result_of(&v, "deliveries (24 h)").0, "OK");
    assert_eq!(result_of(&v, "accounts").0, "OK");
    assert_eq!(
        result_of(&v, "active sessions"),
        ("OK".into(), "0/0 accounts logged in".into())
    );
    let (r, detail) = result_of(&v, "backups");
    assert_eq!(r, "FAIL", "{detail}");
    assert!(detail.contains("no backup"), "{detail}");
    let (r, detail) = result_of(&v, "dispatcher");
    // The dispatcher beats at least every 5 s while its loop turns.
    assert_eq!(r, "OK", "{detail}");
    assert!(detail.contains("ago"), "{detail}");

    // Backup ages: 10 days FAIL, 3 days WARN, fresh OK.
    backup_file(backups.path(), "microbot-20200101T000000Z.tar.gz", 10);
    assert_eq!(result_of(&doctor(&d).1, "backups").0, "FAIL");
    backup_file(backups.path(), "microbot-20200102T000000Z.tar.gz", 3);
    assert_eq!(result_of(&doctor(&d).1, "backups").0, "WARN");
    d.ctl_ok(&["backup", "create"]);
    assert_eq!(result_of(&doctor(&d).1, "backups").0, "OK");

    // Failed and missed deliveries in the last 24 h.
    let now = now_ms();
    sqlite(
        &d,
        &format!(
            "INSERT INTO deliveries (account_id, template_id, target_id, slot, state, random_id, created_at, updated_at)
             VALUES (1, 1, 1, 1, 'failed', 7, {now}, {now}), (1, 1, 1, 2, 'missed', 8, {now}, {now}),
                    (1, 1, 1, 3, 'failed', 9, 0, 0)"
        ),
    );
    let (r, detail) = result_of(&doctor(&d).1, "deliveries (24 h)");
    assert_eq!(r, "WARN");
    assert!(detail.starts_with("1 failed, 1 missed"), "{detail}");

    // A logged-out account; one in flood wait; one limited.
    for n in ["a", "b", "c"] {
        d.ctl_ok(&["account", "add", n, "--phone", "+905321234567"]);
    }
    sqlite(
        &d,
        "UPDATE accounts SET state = 'logged_out' WHERE name = 'a'",
    );
    let (r, detail) = result_of(&doctor(&d).1, "accounts");
    assert_eq!(r, "WARN");
    assert!(detail.contains("1 logged out (a)"), "{detail}");
    let (r, detail) = result_of(&doctor(&d).1, "active sessions");
    assert_eq!(r, "WARN");
    assert!(
        detail.starts_with("0/3 accounts logged in; not: a, b, c"),
        "{detail}"
    );
    assert_eq!(result_of(&doctor(&d).1, "telegram limits").0, "OK");
    sqlite(
        &d,
        &format!(
            "UPDATE accounts SET state = 'active', flood_wait_until = {} WHERE name = 'b';
             UPDATE accounts SET state = 'limited' WHERE name = 'c'",
            now + 3_600_000
        ),
    );
    let (r, detail) = result_of(&doctor(&d).1, "telegram limits");
    assert_eq!(r, "WARN");
    assert!(
        detail.contains("flood wait: [b]") && detail.contains("limited: [c]"),
        "{detail}"
    );

    // Bloat after deleting many rows; gone after `db vacuum`.
    assert_eq!(result_of(&doctor(&d).1, "database bloat").0, "OK");
    sqlite(
        &d,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
         INSERT INTO daemon_state (key, value) SELECT 'fill' || i, printf('%.2000c', 'x') FROM n;
         DELETE FROM daemon_state WHERE key LIKE 'fill%';",
    );
    let (r, detail) = result_of(&doctor(&d).1, "database bloat");
    assert_eq!(r, "WARN", "{detail}");
    assert!(detail.contains("run microbotctl db vacuum"), "{detail}");
    let vac = d.ctl_json(&["db", "vacuum", "--reindex"]);
    assert!(
        vac["size_after"].as_u64() < vac["size_before"].as_u64(),
        "{vac}"
    );
    assert_eq!(result_of(&doctor(&d).1, "database bloat").0, "OK");

    // The table form names every check and says FAILED/passed.
    let table = String::from_utf8_lossy(&d.ctl(&["doctor"]).stdout).into_owned();
    assert!(
        table.contains("telegram limits") && table.contains("WARN"),
        "{table}"
    );
}

fn db_check_on_every_backend(db: Db) {
    let d = TestDaemon::start(db);
    let c = d.ctl_json(&["db", "check"]);
    assert_eq!(c["reachable"], true);
    assert_eq!(c["schema_version"], c["latest_schema_version"]);
    assert_eq!(
        c["backend"],
        if db == Db::Sqlite {
            "sqlite"
        } else {
            "postgres"
        }
    );
    assert!(c["pool_size"].as_u64().unwrap() >= 1, "{c}");
    let v = d.ctl_json(&["db", "vacuum"]);
    assert!(v["size_before"].as_u64().unwrap() > 0, "{v}");
    assert!(d.ctl_ok(&["audit"]).contains("db.vacuum"));
}
microbot_tests::per_backend!(db_check_on_every_backend);

#[test]
fn db_check_fails_when_the_database_is_gone() {
    if microbot_tests::pg::cluster().is_none() {
        return microbot_tests::pg::say_skipped("db_check_fails_when_the_database_is_gone");
    }
    // A daemon on a PostgreSQL database that is dropped under it.
    let d = TestDaemon::start(Db::Postgres);
    let name = d.db_url.rsplit('/').next().unwrap().to_string();
    let admin = d.db_url.replace(&format!("/{name}"), "/postgres");
    let out = Command::new("psql")
        .args([
            admin.as_str(),
            "-Atqc",
            &format!("DROP DATABASE {name} WITH (FORCE)"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = d.ctl(&["db", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database unreachable (postgres)"), "{err}");
}

#[test]
fn audit_and_log_level() {
    let d = TestDaemon::start(Db::Sqlite);
    let out = d.ctl_ok(&["log-level", "debug"]);
    assert_eq!(out.trim(), "log level: info,microbotd=debug → debug");
    let bad = d.ctl(&["log-level", "verbose"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("invalid argument: level:"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let j = d.ctl_json(&["log-level", "info,microbotd=trace"]);
    assert_eq!(j["old"], "debug");
    let audit = d.ctl_json(&["audit", "--since", "24h"]);
    let rows = audit.as_array().unwrap();
    let methods: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["method"].as_str().unwrap(), r["result"].as_str().unwrap()))
        .collect();
    assert_eq!(methods.len(), 3, "{audit}");
    assert_eq!(methods[0], ("log.set_level", "ok"));
    assert!(methods[1].1.starts_with("INVALID_ARGUMENT"), "{audit}");
    for key in ["at", "uid", "pid", "method", "target", "result"] {
        assert!(rows[0].get(key).is_some(), "{key} in {audit}");
    }
    let me = rows[0]["uid"].as_i64().unwrap();
    assert_eq!(
        d.ctl_json(&["audit", "--uid", &me.to_string()])
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(
        d.ctl_json(&["audit", "--uid", &(me + 1).to_string()])
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A bad --since is a usage error, as for every command that takes one.
    let bad = d.ctl(&["audit", "--since", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("since"));
}
