//! Bad configuration stops start-up with one clear line and creates nothing.

use std::process::Command;

use microbot_tests::daemon::bin;

fn start_with(config: &str, dir: &std::path::Path) -> std::process::Output {
    let path = dir.join("microbotd.toml");
    std::fs::write(&path, config).unwrap();
    Command::new(bin("microbotd"))
        .arg("--config")
        .arg(&path)
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap()
}

fn base(dir: &std::path::Path) -> String {
    format!(
        "[daemon]\nsocket = \"{0}/run/control.sock\"\nstate_dir = \"{0}/state\"\n[telegram]\nmode = \"dry-run\"\n",
        dir.display()
    )
}

fn assert_one_line_failure(out: &std::process::Output, needle: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<_> = err
        .lines()
        .filter(|l| l.starts_with("microbotd:"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(needle), "wanted {needle:?} in {err}");
}

#[test]
fn malformed_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = start_with("[daemon\nsocket = 1", dir.path());
    assert_eq!(out.status.code(), Some(78));
    assert_one_line_failure(&out, "line 1");
    assert!(!dir.path().join("state").exists());
}

#[test]
fn unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = start_with(
        &format!("{}[scheduler]\nmisfire_grase = \"5m\"\n", base(dir.path())),
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(78));
    assert_one_line_failure(&out, "misfire_grase");
    assert!(!dir.path().join("state").exists());
    assert!(!dir.path().join("run").exists());
}

#[test]
fn unknown_database_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let out = start_with(
        &format!("{}[database]\nurl = \"mysql://x@y/z\"\n", base(dir.path())),
        dir.path(),
    );
    assert_one_line_failure(&out, "database.url");
    assert!(!dir.path().join("state").exists());
}

#[test]
fn unwritable_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let config = format!(
        "[daemon]\nsocket = \"{0}/run/control.sock\"\nstate_dir = \"{1}/state\"\n[telegram]\nmode = \"dry-run\"\n",
        dir.path().display(),
        file.display()
    );
    let out = start_with(&config, dir.path());
    assert_one_line_failure(&out, "daemon.state_dir");
    assert!(
        !dir.path().join("run").exists(),
        "socket dir created despite the failure"
    );
}

#[test]
fn live_mode_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let config = base(dir.path()).replace("mode = \"dry-run\"", "mode = \"live\"");
    let out = start_with(&config, dir.path());
    assert_eq!(out.status.code(), Some(78));
    assert_one_line_failure(&out, "api_id and api_hash");
    let check = Command::new(bin("microbotd"))
        .arg("--config")
        .arg(dir.path().join("microbotd.toml"))
        .arg("check-config")
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(78));
}

#[test]
fn check_config_prints_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("microbotd.toml");
    let key = microbot_tests::seal::KeyFile::write(dir.path(), "session.key", [0xab; 32]);
    std::fs::write(
        &path,
        format!(
            "[telegram]\nmode = \"live\"\napi_id = 1234\napi_hash = \"deadbeefcafe\"\n{}\
             [database]\nurl = \"postgres://bot:hunter2@db/microbot\"\n",
            key.config_line()
        ),
    )
    .unwrap();
    let out = Command::new(bin("microbotd"))
        .arg("--config")
        .arg(&path)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("api_id = 1234"), "{text}");
    assert!(!text.contains("deadbeefcafe"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("postgres://bot:***@db/microbot"), "{text}");
    // Where the session key came from and its id, never the key.
    assert!(
        text.contains(&format!("session key id {}", key.id())) && text.contains("session.key"),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("abababab"), "{text}");
}

#[test]
fn live_mode_without_a_session_key_refuses_to_start_unless_opted_out() {
    let dir = tempfile::tempdir().unwrap();
    let live = base(dir.path()).replace(
        "mode = \"dry-run\"",
        "mode = \"live\"\napi_id = 1234\napi_hash = \"deadbeefcafe\"",
    );
    let out = start_with(&live, dir.path());
    assert_eq!(out.status.code(), Some(78));
    assert_one_line_failure(&out, "telegram.session_key_file");
    assert_one_line_failure(&out, "allow_plain_sessions = true");
    let opted_out = format!("{live}allow_plain_sessions = true\n");
    std::fs::write(dir.path().join("microbotd.toml"), opted_out).unwrap();
    let check = Command::new(bin("microbotd"))
        .arg("--config")
        .arg(dir.path().join("microbotd.toml"))
        .arg("check-config")
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    assert!(String::from_utf8_lossy(&check.stdout).contains("allow_plain_sessions = true"));
}

#[test]
fn cluster_durations_must_nest_and_node_ids_be_printable() {
    for (extra, key) in [
        ("[cluster]\nrenew = \"20s\"\n", "cluster.renew"),
        ("[cluster]\nretry = \"10s\"\n", "cluster.retry"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = start_with(&format!("{}{extra}", base(dir.path())), dir.path());
        assert_eq!(out.status.code(), Some(78), "{extra}");
        assert_one_line_failure(&out, key);
        assert!(!dir.path().join("state").exists());
    }
    let dir = tempfile::tempdir().unwrap();
    let config = base(dir.path()).replace("[daemon]\n", "[daemon]\nnode_id = \"a\\tb\"\n");
    let out = start_with(&config, dir.path());
    assert_eq!(out.status.code(), Some(78));
    assert_one_line_failure(&out, "daemon.node_id");
}
