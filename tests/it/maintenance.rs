//! Maintenance through the real binaries: backups (create → verify →
//! restore across backends, damage, retention, consistency under writes),
//! `db check|vacuum`, `doctor`, `audit` and `log-level`.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::Value;

/// Runs SQL against the test daemon's database with the backend's own CLI
/// (`sqlite3` / `psql`); returns rows as `a|b` lines.
pub(crate) fn sql(d: &TestDaemon, stmt: &str) -> String {
    let out = if let Some(path) = d.db_url.strip_prefix("sqlite://") {
        Command::new("sqlite3")
            .args(["-cmd", ".timeout 10000", path, stmt])
            .output()
    } else {
        Command::new("psql")
            .args([d.db_url.as_str(), "-v", "ON_ERROR_STOP=1", "-Atqc", stmt])
            .output()
    }
    .expect("sqlite3 / psql installed");
    assert!(
        out.status.success(),
        "{stmt}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Session bytes as lowercase hex, on either backend.
fn session_hex(d: &TestDaemon, account: &str) -> String {
    let expr = if d.db_url.starts_with("sqlite") {
        "lower(hex(session))"
    } else {
        "encode(session, 'hex')"
    };
    sql(
        d,
        &format!("SELECT {expr} FROM accounts WHERE name = '{account}'"),
    )
}

fn set_session(d: &TestDaemon, account: &str, hex: &str) {
    let lit = if d.db_url.starts_with("sqlite") {
        format!("X'{hex}'")
    } else {
        format!("'\\x{hex}'::bytea")
    };
    sql(
        d,
        &format!("UPDATE accounts SET session = {lit} WHERE name = '{account}'"),
    );
}

pub(crate) fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Members of a .tar.gz as (path, bytes).
pub(crate) fn unpack(file: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(file).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let p = e.path().unwrap().to_string_lossy().into_owned();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (p, b)
        })
        .collect()
}

/// Writes members back as a .tar.gz.
pub(crate) fn repack(file: &Path, members: &[(String, Vec<u8>)]) {
    let f = std::fs::File::create(file).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::default(),
    ));
    for (p, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, p, data.as_slice()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

fn manifest(members: &[(String, Vec<u8>)]) -> Value {
    let m = members.iter().find(|(p, _)| p == "manifest.json").unwrap();
    serde_json::from_slice(&m.1).unwrap()
}

/// Accounts as comparable rows (everything but the scheduler flag, which a
/// restore turns off on purpose).
pub(crate) fn accounts(d: &TestDaemon) -> String {
    sql(
        d,
        "SELECT id, name, phone, state, created_at, updated_at FROM accounts ORDER BY id",
    )
}

/// Audit rows except those of backups themselves (the create row is
/// written after its snapshot, the restore row after the restore).
const AUDIT: &str =
    "SELECT id, at, uid, method, result FROM audit WHERE method NOT LIKE 'backup.%' ORDER BY id";

fn backup_restores_into_a_fresh_daemon(src_db: Db, dst_db: Db) {
    {
        let src = TestDaemon::start(src_db);
        src.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
        src.ctl_ok(&["account", "add", "ops", "--phone", "+4915112345678"]);
        set_session(&src, "sales-tr", "00ff10abcdef");
        sql(
            &src,
            "INSERT INTO daemon_state (key, value) VALUES ('probe', 'v1')",
        );
        let file = src.dir.path().join("b.tar.gz");
        src.ctl_ok(&["backup", "create", "--output", file.to_str().unwrap()]);
        assert_eq!(mode(&file), 0o600, "backup files are 0600");
        let m = manifest(&unpack(&file));
        assert_eq!(
            m["backend"],
            if src_db == Db::Sqlite {
                "sqlite"
            } else {
                "postgres"
            }
        );
        assert_eq!(m["tables"][0]["name"], "accounts");
        assert_eq!(m["tables"][0]["rows"], 2);
        let verified = src.ctl_json(&["backup", "verify", file.to_str().unwrap()]);
        assert_eq!(verified["ok"], true, "{verified}");
        let src_audit = sql(&src, AUDIT);
        {
            let dst = TestDaemon::start(dst_db);
            let r = dst.ctl_json(&["backup", "restore", file.to_str().unwrap()]);
            assert_eq!(r["schedulers_stopped"], 2, "{r}");
            assert_eq!(accounts(&dst), accounts(&src), "{src_db:?} → {dst_db:?}");
            assert_eq!(session_hex(&dst, "sales-tr"), "00ff10abcdef");
            assert_eq!(session_hex(&dst, "ops"), "");
            assert_eq!(
                sql(&dst, "SELECT value FROM daemon_state WHERE key = 'probe'"),
                "v1"
            );
            let dst_audit = sql(&dst, AUDIT);
            assert!(
                dst_audit.starts_with(&src_audit),
                "audit restored:\n{dst_audit}\nvs\n{src_audit}"
            );
            assert!(
                sql(&dst, "SELECT method FROM audit ORDER BY id DESC LIMIT 1") == "backup.restore",
                "the restore is audited"
            );
            let list = dst.ctl_json(&["account", "list"]);
            assert!(
                list.as_array()
                    .unwrap()
                    .iter()
                    .all(|a| a["scheduler"] == "stopped"),
                "{list}"
            );
            // The identity sequences continue after the restored ids.
            dst.ctl_ok(&["account", "add", "third", "--phone", "+905551112233"]);
            assert_eq!(
                sql(&dst, "SELECT id FROM accounts WHERE name = 'third'"),
                "3"
            );
        }
    }
}

// Every source backend into every destination backend, each its own test.
microbot_tests::per_backend_pair!(backup_restores_into_a_fresh_daemon);

#[test]
fn verify_names_the_damage_and_restore_leaves_the_database_untouched() {
    let d = TestDaemon::start(Db::Sqlite);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    let good = d.dir.path().join("good.tar.gz");
    d.ctl_ok(&["backup", "create", "--output", good.to_str().unwrap()]);
    let bytes = std::fs::read(&good).unwrap();
    let members = unpack(&good);
    let case = |name: &str, write: &dyn Fn(&Path)| -> String {
        let p = d.dir.path().join(name);
        write(&p);
        let out = d.ctl(&["backup", "verify", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let before = accounts(&d);
        let restore = d.ctl(&["backup", "restore", "--force", p.to_str().unwrap()]);
        assert_eq!(restore.status.code(), Some(1), "{name}");
        assert_eq!(
            accounts(&d),
            before,
            "{name}: a failed restore changed data"
        );
        stderr(&out)
    };
    let flipped = case("flipped.tar.gz", &|p| {
        let mut b = bytes.clone();
        let mid = b.len() / 2;
        b[mid] ^= 0x55;
        std::fs::write(p, b).unwrap();
    });
    assert!(flipped.contains("archive"), "{flipped}");
    let truncated = case("truncated.tar.gz", &|p| {
        std::fs::write(p, &bytes[..bytes.len() - 40]).unwrap()
    });
    assert!(truncated.contains("truncated archive"), "{truncated}");
    let wrong_manifest = case("manifest.tar.gz", &|p| {
        let mut m = members.clone();
        let i = m.iter().position(|(n, _)| n == "manifest.json").unwrap();
        let mut v: Value = serde_json::from_slice(&m[i].1).unwrap();
        v["schema_version"] = 99.into();
        m[i].1 = serde_json::to_vec(&v).unwrap();
        repack(p, &m);
    });
    assert!(
        wrong_manifest.contains("manifest.json: unknown schema version 99"),
        "{wrong_manifest}"
    );
    let tampered = case("tampered.tar.gz", &|p| {
        let mut m = members.clone();
        let i = m
            .iter()
            .position(|(n, _)| n == "data/accounts.jsonl")
            .unwrap();
        m[i].1 = String::from_utf8(m[i].1.clone())
            .unwrap()
            .replace("sales-tr", "evil-tr")
            .into_bytes();
        repack(p, &m);
    });
    assert!(
        tampered.contains("data/accounts.jsonl: sha256 mismatch"),
        "{tampered}"
    );
    assert_eq!(
        d.ctl(&["backup", "verify", good.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
}

fn restore_refuses_while_a_scheduler_runs_unless_forced(db: Db) {
    let d = TestDaemon::start(db);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    let file = d.dir.path().join("b.tar.gz");
    d.ctl_ok(&["backup", "create", "--output", file.to_str().unwrap()]);
    let out = d.ctl(&["backup", "restore", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("stop the schedulers first: microbotctl scheduler stop --all"),
        "{}",
        stderr(&out)
    );
    d.ctl_ok(&["backup", "restore", "--force", file.to_str().unwrap()]);
    let list = d.ctl_json(&["account", "list"]);
    assert_eq!(list[0]["scheduler"], "stopped", "{list}");
    // With every scheduler stopped, no --force is needed.
    d.ctl_ok(&["backup", "restore", file.to_str().unwrap()]);
    let audit = d.ctl_json(&["audit", "--since", "1h"]);
    let restores: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["method"] == "backup.restore")
        .collect();
    assert!(restores.iter().any(|a| a["result"] == "ok"), "{audit}");
}
microbot_tests::per_backend!(restore_refuses_while_a_scheduler_runs_unless_forced);

fn set_age(p: &Path, days: u64) {
    let t = SystemTime::now() - Duration::from_secs(days * 24 * 3600 + 60);
    filetime::set_file_mtime(p, filetime::FileTime::from_system_time(t)).unwrap();
}

#[test]
fn retention_keeps_exactly_the_young_backups() {
    let backups = tempfile::tempdir().unwrap();
    let d = TestDaemon::builder(Db::Sqlite)
        .config(&format!(
            "[backup]\ndir = {:?}\nkeep_days = 3\n",
            backups.path().display().to_string()
        ))
        .start();
    let dir = backups.path();
    let old = dir.join("microbot-20200101T000000Z.tar.gz");
    let young = dir.join("microbot-20200102T000000Z.tar.gz");
    let foreign = dir.join("microbot-notes.tar.gz");
    for (p, days) in [(&old, 5), (&young, 2), (&foreign, 30)] {
        std::fs::write(p, b"x").unwrap();
        set_age(p, days);
    }
    // The daemon's backup.dir and keep_days are the defaults.
    let out = d.ctl_json(&["backup", "create"]);
    let written = PathBuf::from(out["file"].as_str().unwrap());
    assert_eq!(written.parent().unwrap(), dir);
    let name = written.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("microbot-") && name.ends_with("Z.tar.gz"),
        "{name}"
    );
    assert_eq!(mode(&written), 0o600);
    assert!(!old.exists() && young.exists() && foreign.exists());
    assert_eq!(out["pruned"][0], old.display().to_string());
    // --keep-days overrides; --dir elsewhere.
    let other = tempfile::tempdir().unwrap();
    let kept = other.path().join("microbot-20200103T000000Z.tar.gz");
    std::fs::write(&kept, b"x").unwrap();
    set_age(&kept, 5);
    d.ctl_ok(&[
        "backup",
        "create",
        "--dir",
        other.path().to_str().unwrap(),
        "--keep-days",
        "10",
    ]);
    assert!(kept.exists());
    let mut names: Vec<String> = std::fs::read_dir(other.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "no temp files left behind: {names:?}");
    // `-` streams to stdout.
    let out = d.ctl(&["backup", "create", "--output", "-"]);
    assert!(out.status.success());
    assert_eq!(&out.stdout[..2], &[0x1f, 0x8b]);
}

fn backup_taken_during_writes_is_consistent(db: Db) {
    let d = TestDaemon::start(db);
    let socket = d.socket.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..40 {
            let out = Command::new(microbot_tests::daemon::bin("microbotctl"))
                .args(["--socket", socket.to_str().unwrap()])
                .args([
                    "account",
                    "add",
                    &format!("acc-{i}"),
                    "--phone",
                    "+905321234567",
                ])
                .output()
                .unwrap();
            assert!(out.status.success());
        }
    });
    let mut files = Vec::new();
    for n in 0..4 {
        let f = d.dir.path().join(format!("b{n}.tar.gz"));
        d.ctl_ok(&["backup", "create", "--output", f.to_str().unwrap()]);
        files.push(f);
    }
    writer.join().unwrap();
    for f in &files {
        let members = unpack(f);
        let m = manifest(&members);
        for t in m["tables"].as_array().unwrap() {
            let path = format!("data/{}.jsonl", t["name"].as_str().unwrap());
            let data = &members.iter().find(|(p, _)| *p == path).unwrap().1;
            let lines = data
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
            assert_eq!(lines as u64, t["rows"].as_u64().unwrap(), "{path}");
        }
        let v = d.ctl_json(&["backup", "verify", f.to_str().unwrap()]);
        assert_eq!(v["ok"], true);
    }
}
microbot_tests::per_backend!(backup_taken_during_writes_is_consistent);
