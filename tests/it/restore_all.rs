//! Backup and restore over every table, through the real binaries: a
//! database with accounts (one with a session), targets, templates, their
//! chats, sent deliveries, audit rows and daemon state round-trips into a
//! fresh daemon of either backend field for field; a restore that fails
//! inside its transaction leaves every row as it was; backups taken while
//! messages go out are consistent snapshots.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::Value;

use crate::maintenance::{sql, stderr, unpack};

/// Every table a backup holds, parents first (maintenance/tables.rs).
const TABLES: [&str; 9] = [
    "accounts",
    "targets",
    "templates",
    "template_targets",
    "media",
    "template_media",
    "deliveries",
    "audit",
    "daemon_state",
];

fn daemon(db: Db) -> TestDaemon {
    TestDaemon::builder(db)
        .config("[telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = 6000\n")
        .start()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count(d: &TestDaemon, query: &str) -> usize {
    sql(d, query).parse().unwrap()
}

/// Something in every table, then everything at rest (schedulers stopped,
/// nothing open).
fn populate(d: &TestDaemon) {
    let photo = d.dir.path().join("daily.png");
    std::fs::write(&photo, b"\x89PNG\r\n\x1a\ndaily chart").unwrap();
    d.ctl_ok(&["account", "add", "ops", "--phone", "+905321234567"]);
    d.ctl_ok(&["account", "add", "idle", "--phone", "+4915112345678"]);
    let login = d.ctl_stdin(&["account", "login", "ops"], "22222\n");
    assert!(login.status.success(), "{}", stderr(&login));
    d.ctl_ok(&[
        "template",
        "create",
        "--account",
        "ops",
        "--name",
        "tick",
        "--every",
        "1s",
        "--chat",
        "@restore_one",
        "--chat",
        "@restore_two",
        "--text",
        "tick ✓ «quoted»",
    ]);
    d.ctl_ok(&[
        "template",
        "create",
        "--account",
        "ops",
        "--name",
        "daily",
        "--chat",
        "@restore_two",
        "--cron",
        "0 9 * * 1-5",
        "--tz",
        "Europe/Istanbul",
        "--text",
        "*daily*",
        "--parse-mode",
        "markdown",
        "--misfire",
        "skip",
        "--inactive",
        "--photo",
        photo.to_str().unwrap(),
    ]);
    wait_until("a few sends", || {
        count(d, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'") >= 4
    });
    let tick = sql(d, "SELECT id FROM templates WHERE name = 'tick'");
    d.ctl_ok(&["template", "disable", &tick]);
    wait_until("nothing open", || {
        count(d, "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'") == 0
    });
    d.ctl_ok(&["scheduler", "stop", "--all"]);
    sql(
        d,
        "INSERT INTO daemon_state (key, value) VALUES ('probe', 'v1 ✓')",
    );
}

/// Each table's rows in an archive, as JSON objects keyed by column. Rows
/// about backups themselves are left out of `audit` (a create is audited
/// after its snapshot, a restore after it ran).
fn tables(file: &Path) -> BTreeMap<String, Vec<Value>> {
    let members = unpack(file);
    TABLES
        .iter()
        .map(|t| {
            let path = format!("data/{t}.jsonl");
            let data = &members.iter().find(|(p, _)| *p == path).unwrap().1;
            let rows = String::from_utf8_lossy(data)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .filter(|r| {
                    !(*t == "audit"
                        && r["method"]
                            .as_str()
                            .is_some_and(|m| m.starts_with("backup.")))
                })
                .collect();
            (t.to_string(), rows)
        })
        .collect()
}

fn backup(d: &TestDaemon, name: &str) -> std::path::PathBuf {
    let file = d.dir.path().join(name);
    d.ctl_ok(&["backup", "create", "--output", file.to_str().unwrap()]);
    file
}

fn every_table_round_trips(src_db: Db, dst_db: Db) {
    let src = daemon(src_db);
    populate(&src);
    let file = backup(&src, "all.tar.gz");
    let want = tables(&file);
    for (t, rows) in &want {
        assert!(!rows.is_empty(), "the test put nothing in {t}");
    }
    let dst = daemon(dst_db);
    let r = dst.ctl_json(&["backup", "restore", file.to_str().unwrap()]);
    assert_eq!(r["schedulers_stopped"], 2, "{r}");
    let got = tables(&backup(&dst, "again.tar.gz"));
    for t in TABLES {
        let (want, got) = (&want[t], &got[t]);
        assert_eq!(got.len(), want.len(), "{t}: {src_db:?} → {dst_db:?}");
        for (w, g) in want.iter().zip(got) {
            assert_eq!(g, w, "{t}: a field changed, {src_db:?} → {dst_db:?}");
        }
    }
}

// Every source backend into every destination backend, each its own test.
microbot_tests::per_backend_pair!(every_table_round_trips);

/// Every row of every table as the database's own CLI prints it.
fn dump(d: &TestDaemon) -> String {
    TABLES
        .iter()
        .map(|t| {
            format!(
                "== {t}\n{}\n",
                sql(d, &format!("SELECT * FROM {t} ORDER BY 1"))
            )
        })
        .collect()
}

/// A trigger in the target database fails the insert of the archive's last
/// table (`daemon_state`) — after every other table was deleted and
/// written again inside the restore's transaction. The archive itself is
/// sound (verify passes it), so only the rollback stands between the
/// database and a half-done restore.
fn a_restore_failing_inside_its_transaction_changes_nothing(db: Db) {
    let d = daemon(db);
    populate(&d);
    let file = backup(&d, "good.tar.gz");
    let verified = d.ctl_json(&["backup", "verify", file.to_str().unwrap()]);
    assert_eq!(verified["ok"], true, "{verified}");
    // Changes since the backup, which a half-done restore would lose.
    d.ctl_ok(&["account", "add", "later", "--phone", "+905551112233"]);
    sql(
        &d,
        "UPDATE daemon_state SET value = 'v2' WHERE key = 'probe'",
    );
    if db == Db::Sqlite {
        sql(
            &d,
            "CREATE TRIGGER injected BEFORE INSERT ON daemon_state WHEN NEW.key = 'probe' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
        );
    } else {
        sql(
            &d,
            "CREATE FUNCTION injected() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN IF NEW.key = 'probe' THEN RAISE EXCEPTION 'injected failure'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER injected BEFORE INSERT ON daemon_state \
             FOR EACH ROW EXECUTE FUNCTION injected()",
        );
    }
    let before = dump(&d);
    let out = d.ctl(&["backup", "restore", "--force", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("data/daemon_state.jsonl") && err.contains("injected failure"),
        "names the row and the cause: {err}"
    );
    // The refusal itself is audited: the only new row.
    let after = dump(&d);
    let without = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.contains("backup.restore"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        without(&after),
        without(&before),
        "a failed restore changed data"
    );
    assert_eq!(
        count(
            &d,
            "SELECT COUNT(*) FROM audit WHERE method = 'backup.restore'"
        ),
        1,
        "the failed restore is audited"
    );
    // Nothing behind the rows either: new rows get fresh ids (PostgreSQL's
    // sequences are not rolled back with the transaction).
    d.ctl_ok(&["account", "add", "after", "--phone", "+905551112244"]);
}
microbot_tests::per_backend!(a_restore_failing_inside_its_transaction_changes_nothing);

/// Backups taken one after another while a template sends to three chats
/// every second: each is a snapshot — every delivery's template, target and
/// account are in it, sent rows only grow from one to the next — and each
/// restores into a fresh daemon.
fn backups_taken_while_sending_are_consistent(db: Db) {
    let d = daemon(db);
    d.add_logged_in("ops", "+905321234567");
    d.ctl_ok(&[
        "template",
        "create",
        "--account",
        "ops",
        "--name",
        "tick",
        "--every",
        "1s",
        "--chat",
        "@during_one",
        "--chat",
        "@during_two",
        "--chat",
        "@during_three",
        "--text",
        "tick",
    ]);
    wait_until("sends under way", || {
        count(&d, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'") >= 3
    });
    let mut sent_before: HashSet<i64> = HashSet::new();
    let mut files = Vec::new();
    for n in 0..4 {
        let file = backup(&d, &format!("b{n}.tar.gz"));
        let t = tables(&file);
        let ids = |table: &str| -> HashSet<i64> {
            t[table].iter().map(|r| r["id"].as_i64().unwrap()).collect()
        };
        let (accounts, templates, targets) = (ids("accounts"), ids("templates"), ids("targets"));
        let mut sent = HashSet::new();
        for r in &t["deliveries"] {
            assert!(accounts.contains(&r["account_id"].as_i64().unwrap()), "{r}");
            assert!(
                templates.contains(&r["template_id"].as_i64().unwrap()),
                "{r}"
            );
            assert!(targets.contains(&r["target_id"].as_i64().unwrap()), "{r}");
            if r["state"] == "sent" {
                assert!(r["sent_at"].is_i64(), "a sent row has its time: {r}");
                sent.insert(r["id"].as_i64().unwrap());
            }
        }
        assert!(
            sent.is_superset(&sent_before),
            "backup {n} lost sent rows of the one before"
        );
        sent_before = sent;
        files.push(file);
        // The next backup sees newer sends.
        let now = count(&d, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'");
        wait_until("another send", || {
            count(&d, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'") > now
        });
    }
    for f in &files {
        let fresh = TestDaemon::start(db);
        let r = fresh.ctl(&["backup", "restore", f.to_str().unwrap()]);
        assert!(r.status.success(), "{}: {}", f.display(), stderr(&r));
    }
}
microbot_tests::per_backend!(backups_taken_while_sending_are_consistent);
