//! Telegram sessions sealed at rest (issue 17), through the real binaries
//! on both backends: no session byte in clear in the database or a backup
//! after a dry-run login; another key shows `sealed` and overwrites
//! nothing, the right key sends again; a restore on a host without the key
//! keeps everything; `microbotd rekey` killed half-way finishes when run
//! again. The sealed format is checked with the harness's own
//! implementation ([`microbot_tests::seal`]).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon, bin};
use microbot_tests::seal::{KeyFile, StoredSession, contains, stored_sessions, write_session};
use serde_json::Value;

use crate::doctor::{doctor, result_of};

/// The stand-in session a dry-run login stores starts with this.
const MARK: &[u8] = b"microbot-dry-run-session";

fn dry_run_with_key(db: Db, key: &KeyFile) -> TestDaemon {
    TestDaemon::builder(db)
        .config(&format!(
            "[telegram]\nmode = \"dry-run\"\n{}",
            key.config_line()
        ))
        .start()
}

fn login(d: &TestDaemon, name: &str) {
    d.ctl_ok(&["account", "add", name, "--phone", "+905321234567"]);
    let out = d.ctl_stdin(&["account", "login", name], "22222\n");
    assert!(out.status.success(), "login: {out:?}\n{}", d.log());
}

fn session_of(d: &TestDaemon, name: &str) -> StoredSession {
    stored_sessions(&d.db_url)
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
}

fn account(d: &TestDaemon, name: &str) -> Value {
    let list = d.ctl_json(&["account", "list"]);
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no {name}: {list}"))
        .clone()
}

/// Every byte of an SQLite database (and its WAL) as it is on disk.
fn sqlite_files(d: &TestDaemon) -> Vec<u8> {
    let mut all = Vec::new();
    for f in ["microbot.db", "microbot.db-wal"] {
        if let Ok(b) = std::fs::read(d.state_dir.join(f)) {
            all.extend(b);
        }
    }
    assert!(!all.is_empty());
    all
}

/// The uncompressed tar stream of a backup, and its manifest.
fn backup_contents(file: &Path) -> (Vec<u8>, Value) {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(file).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    let mut archive = tar::Archive::new(raw.as_slice());
    let mut manifest = Value::Null;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some("manifest.json") {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            manifest = serde_json::from_str(&text).unwrap();
        }
    }
    (raw, manifest)
}

fn no_session_in_clear_in_the_database_or_a_backup_and_restore_without_the_key_keeps_all(db: Db) {
    let keys = tempfile::tempdir().unwrap();
    let key = KeyFile::random(keys.path(), "a.key");
    let d = dry_run_with_key(db, &key);
    login(&d, "sales");
    let s = session_of(&d, "sales");
    let blob = s.session.clone().expect("a login stores a session");
    assert!(!contains(&blob, MARK), "{db:?}: session bytes in clear");
    assert_eq!(s.key_id.as_deref(), Some(key.id().as_str()));
    let plain = key
        .open(s.id, &blob)
        .expect("sealed in the documented format");
    assert!(
        plain.starts_with(MARK),
        "{}",
        String::from_utf8_lossy(&plain)
    );
    if db == Db::Sqlite {
        assert!(!contains(&sqlite_files(&d), MARK), "raw SQLite file");
    }
    let file = d.dir.path().join("b.tar.gz");
    d.ctl_ok(&["backup", "create", "--output", file.to_str().unwrap()]);
    let (tar, manifest) = backup_contents(&file);
    assert!(
        !contains(&tar, MARK),
        "{db:?}: backup holds a session in clear"
    );
    assert_eq!(manifest["session_key_ids"], serde_json::json!([key.id()]));
    assert_eq!(manifest["sessions_in_clear"], 0);

    // A host with another key: everything restored, the account sealed.
    let other = KeyFile::random(keys.path(), "b.key");
    let dst = dry_run_with_key(db, &other);
    let r = dst.ctl_json(&["backup", "restore", file.to_str().unwrap()]);
    assert_eq!(r["tables"][0]["rows"], 1, "{r}");
    let a = account(&dst, "sales");
    assert_eq!(a["state"], "sealed", "{a}");
    let why = a["last_error"].as_str().unwrap();
    assert!(
        why.contains(&key.id()) && why.contains("credential session_key"),
        "{why}"
    );
    assert_eq!(session_of(&dst, "sales").session, Some(blob.clone()));
    let (code, report) = doctor(&dst);
    assert_eq!(code, Some(1), "{report}");
    let (result, detail) = result_of(&report, "sealed sessions");
    assert_eq!(result, "FAIL", "{detail}");
    assert!(
        detail.contains(&format!("sales (key {})", key.id())),
        "{detail}"
    );
}
microbot_tests::per_backend!(
    no_session_in_clear_in_the_database_or_a_backup_and_restore_without_the_key_keeps_all
);

/// Lines in the dry-run ledger (one per message sent).
fn sent(d: &TestDaemon) -> usize {
    std::fs::read_to_string(d.state_dir.join("dry-run-ledger.jsonl"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn wait_until(d: &TestDaemon, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out: {what}\n{}", d.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Points the daemon's config at another session key file.
fn use_key(d: &TestDaemon, from: &KeyFile, to: &KeyFile) {
    let text = std::fs::read_to_string(&d.config_path).unwrap();
    let text = text.replace(&from.config_line(), &to.config_line());
    std::fs::write(&d.config_path, text).unwrap();
}

fn a_wrong_key_shows_sealed_overwrites_nothing_and_the_right_key_sends_again(db: Db) {
    let keys = tempfile::tempdir().unwrap();
    let right = KeyFile::random(keys.path(), "right.key");
    let wrong = KeyFile::random(keys.path(), "wrong.key");
    let mut d = dry_run_with_key(db, &right);
    login(&d, "sales");
    d.ctl_ok(&[
        "template",
        "create",
        "--account",
        "sales",
        "--name",
        "tick",
        "--chat",
        "@ops_room",
        "--every",
        "1s",
        "--text",
        "tick",
        "--misfire",
        "skip",
    ]);
    wait_until(&d, "a first send", || sent(&d) > 0);
    d.terminate();
    let before = session_of(&d, "sales");

    use_key(&d, &right, &wrong);
    d.spawn().expect("the daemon starts with another key");
    let a = account(&d, "sales");
    assert_eq!(a["state"], "sealed", "{a}");
    assert!(
        a["last_error"].as_str().unwrap().contains(&right.id()),
        "{a}"
    );
    assert!(
        d.log()
            .contains("sealed under a session key this daemon does not have")
    );
    let quiet = sent(&d);
    // A few 1 s slots pass: none is sent for a sealed account.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(sent(&d), quiet, "a sealed account sent");
    d.terminate();
    assert_eq!(session_of(&d, "sales"), before, "nothing overwritten");

    use_key(&d, &wrong, &right);
    d.spawn().expect("the daemon starts with the right key");
    assert_eq!(account(&d, "sales")["state"], "active");
    wait_until(&d, "sends again", || sent(&d) > quiet);
}
microbot_tests::per_backend!(
    a_wrong_key_shows_sealed_overwrites_nothing_and_the_right_key_sends_again
);

/// Accounts straight in the database (a daemon made the schema), each with
/// a session sealed under `key` — quicker than hundreds of logins.
fn many_sealed_accounts(d: &TestDaemon, key: &KeyFile, n: usize) {
    for i in 0..n {
        d.ctl_ok(&[
            "account",
            "add",
            &format!("acct{i:03}"),
            "--phone",
            "+905321234567",
        ]);
    }
    for s in stored_sessions(&d.db_url) {
        let plain = format!("session of {}", s.name);
        let sealed = key.seal(s.id, plain.as_bytes());
        write_session(&d.db_url, &s.name, &sealed, Some(&key.id()));
    }
}

fn rekey_command(d: &TestDaemon, new: &KeyFile) -> Command {
    let mut c = Command::new(bin("microbotd"));
    c.arg("--config")
        .arg(&d.config_path)
        .arg("rekey")
        .arg("--new-key-file")
        .arg(&new.path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn rekey_killed_half_way_finishes_when_run_again(db: Db) {
    const ACCOUNTS: usize = 150;
    let keys = tempfile::tempdir().unwrap();
    let old = KeyFile::random(keys.path(), "old.key");
    let new = KeyFile::random(keys.path(), "new.key");
    let mut d = dry_run_with_key(db, &old);
    many_sealed_accounts(&d, &old, ACCOUNTS);
    if db == Db::Sqlite {
        // Offline only: the running daemon holds the database lock.
        let out = rekey_command(&d, &new)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("another microbotd is already using"), "{err}");
    }
    d.terminate();

    // Its progress goes into a one-page pipe nobody reads: rekey blocks
    // after a few dozen lines, so the kill lands half-way for sure.
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    nix::fcntl::fcntl(&write_end, nix::fcntl::FcntlArg::F_SETPIPE_SZ(4096)).unwrap();
    let mut child = rekey_command(&d, &new)
        .stdout(Stdio::from(write_end))
        .spawn()
        .unwrap();
    let under_new = || {
        stored_sessions(&d.db_url)
            .iter()
            .filter(|s| s.key_id.as_deref() == Some(new.id().as_str()))
            .count()
    };
    wait_until(&d, "rekey under way", || under_new() > 0);
    child.kill().unwrap();
    child.wait().unwrap();
    drop(read_end);
    let done = under_new();
    assert!(done > 0 && done < ACCOUNTS, "{db:?}: {done} re-sealed");
    for s in stored_sessions(&d.db_url) {
        let key = if s.key_id.as_deref() == Some(new.id().as_str()) {
            &new
        } else {
            &old
        };
        assert!(
            key.open(s.id, s.session.as_ref().unwrap()).is_some(),
            "{} torn",
            s.name
        );
    }

    let out = rekey_command(&d, &new)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("re-sealing {} sessions", ACCOUNTS - done)),
        "{text}"
    );
    assert!(text.contains("done: every session is sealed"), "{text}");
    for s in stored_sessions(&d.db_url) {
        assert_eq!(s.key_id.as_deref(), Some(new.id().as_str()), "{}", s.name);
        let plain = new.open(s.id, s.session.as_ref().unwrap()).unwrap();
        assert_eq!(plain, format!("session of {}", s.name).into_bytes());
    }
    use_key(&d, &old, &new);
    d.spawn().unwrap();
    let (_, report) = doctor(&d);
    assert_eq!(result_of(&report, "sealed sessions").0, "OK", "{report}");
}
microbot_tests::per_backend!(rekey_killed_half_way_finishes_when_run_again);

fn plain_sessions_are_sealed_on_the_first_start_with_a_key(db: Db) {
    let keys = tempfile::tempdir().unwrap();
    let key = KeyFile::random(keys.path(), "k.key");
    let mut d = TestDaemon::start(db);
    login(&d, "sales");
    let before = session_of(&d, "sales");
    assert!(
        before.session.as_ref().unwrap().starts_with(MARK),
        "no key: in clear"
    );
    assert_eq!(before.key_id, None);
    d.terminate();
    let text = std::fs::read_to_string(&d.config_path).unwrap();
    let text = text.replace(
        "mode = \"dry-run\"\n",
        &format!("mode = \"dry-run\"\n{}", key.config_line()),
    );
    std::fs::write(&d.config_path, text).unwrap();
    d.spawn().unwrap();
    let after = session_of(&d, "sales");
    assert_eq!(after.key_id.as_deref(), Some(key.id().as_str()));
    let blob = after.session.unwrap();
    assert!(!contains(&blob, MARK));
    assert_eq!(key.open(after.id, &blob), before.session);
    assert!(
        d.log()
            .contains("sealed Telegram sessions that were stored in clear")
            && d.log().contains("sealed=1"),
        "{}",
        d.log()
    );
    assert_eq!(account(&d, "sales")["state"], "active");
}
microbot_tests::per_backend!(plain_sessions_are_sealed_on_the_first_start_with_a_key);

fn a_sealed_blob_copied_to_another_account_fails_to_open_with_a_clear_error(db: Db) {
    let keys = tempfile::tempdir().unwrap();
    let key = KeyFile::random(keys.path(), "k.key");
    let d = dry_run_with_key(db, &key);
    login(&d, "alpha");
    login(&d, "bravo");
    let alpha = session_of(&d, "alpha");
    write_session(
        &d.db_url,
        "bravo",
        alpha.session.as_ref().unwrap(),
        alpha.key_id.as_deref(),
    );
    let (code, report) = doctor(&d);
    assert_eq!(code, Some(1), "{report}");
    let (result, detail) = result_of(&report, "sealed sessions");
    assert_eq!(result, "FAIL", "{detail}");
    assert!(
        detail.contains("bravo: session does not open under key")
            && detail.contains("belongs to another account"),
        "{detail}"
    );
    assert_eq!(session_of(&d, "alpha"), alpha, "the original is untouched");
}
microbot_tests::per_backend!(
    a_sealed_blob_copied_to_another_account_fails_to_open_with_a_clear_error
);
