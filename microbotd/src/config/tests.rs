//! Tests of loading, overrides and validation.

use std::path::PathBuf;

use super::*;

fn env(dir: &Path) -> Environment {
    Environment::user_in(dir)
}

fn dry() -> Vec<(String, String)> {
    vec![("MICROBOT_TELEGRAM_MODE".into(), "dry-run".into())]
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("microbotd.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn no_file_gives_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load_from(None, &env(dir.path()), &dry()).unwrap();
    assert_eq!(
        c.daemon.socket,
        dir.path().join("run/microbot/control.sock")
    );
    assert_eq!(c.daemon.state_dir, dir.path().join(".local/state/microbot"));
    assert_eq!(
        c.database.url,
        format!(
            "sqlite://{}",
            dir.path()
                .join(".local/state/microbot/microbot.db")
                .display()
        )
    );
    assert_eq!(c.telegram.rate_limit_per_minute, 20);
    assert_eq!(
        c.scheduler.misfire_grace,
        std::time::Duration::from_secs(600)
    );
    assert_eq!(c.backup.keep_days, 30);
    assert_eq!(
        c.daemon.slow_call_warn,
        std::time::Duration::from_millis(500)
    );
    assert!(c.source.is_none());
}

#[test]
fn env_overrides_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "[telegram]\nrate_limit_per_minute = 5\nmode = \"dry-run\"\n",
    );
    let vars = vec![
        ("MICROBOT_TELEGRAM_RATE_LIMIT_PER_MINUTE".into(), "7".into()),
        ("MICROBOT_SOCKET".into(), "/ignored/by/daemon".into()),
        ("MICROBOT_SCHEDULER_MISFIRE_GRACE".into(), "1h".into()),
    ];
    let c = Config::load_from(Some(&p), &env(dir.path()), &vars).unwrap();
    assert_eq!(c.telegram.rate_limit_per_minute, 7);
    assert_eq!(
        c.scheduler.misfire_grace,
        std::time::Duration::from_secs(3600)
    );
}

#[test]
fn unknown_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "[daemon]\nsockt = \"/x\"\n");
    let err = Config::load_from(Some(&p), &env(dir.path()), &dry())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("daemon.sockt") || err.contains("sockt"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn syntax_error_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "[daemon]\nlog_level = \"info\"\nsocket = \n");
    let err = Config::load_from(Some(&p), &env(dir.path()), &dry())
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 3"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn bad_values_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[database]\nurl = \"mysql://x/y\"\n", "database.url"),
        (
            "[scheduler]\ndefault_timezone = \"Mars/Base\"\n",
            "scheduler.default_timezone",
        ),
        (
            "[daemon]\nslow_call_warn = \"5 parsecs\"\n",
            "daemon.slow_call_warn",
        ),
        ("[telegram]\nmode = \"carrier-pigeon\"\n", "telegram.mode"),
        (
            "[daemon]\nstate_dir = \"relative/dir\"\n",
            "daemon.state_dir",
        ),
        (
            "[telegram]\nrate_limit_per_minute = 0\n",
            "telegram.rate_limit_per_minute",
        ),
    ] {
        let p = write(dir.path(), text);
        let vars: Vec<(String, String)> = if key == "telegram.mode" {
            vec![]
        } else {
            dry()
        };
        let err = Config::load_from(Some(&p), &env(dir.path()), &vars)
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{text}: {err}");
    }
}

#[test]
fn live_mode_needs_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let err = Config::load_from(None, &env(dir.path()), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("api_id and api_hash"), "{err}");
    let p = write(
        dir.path(),
        "[telegram]\napi_id = 12345\napi_hash = \"0123456789abcdef\"\n\
         allow_plain_sessions = true\n",
    );
    let c = Config::load_from(Some(&p), &env(dir.path()), &[]).unwrap();
    assert_eq!(c.telegram.mode, TelegramMode::Live);
    let shown = format!("{:?}\n{}", c, c.to_redacted_toml());
    assert!(!shown.contains("0123456789abcdef"), "{shown}");
}

#[test]
fn api_hash_from_systemd_credential() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("telegram_api_hash"), "feedface\n").unwrap();
    std::fs::write(creds.join("session_key"), [7u8; 32]).unwrap();
    let vars = vec![
        ("MICROBOT_TELEGRAM_API_ID".into(), "42".into()),
        ("CREDENTIALS_DIRECTORY".into(), creds.display().to_string()),
    ];
    let c = Config::load_from(None, &env(dir.path()), &vars).unwrap();
    assert_eq!(c.telegram.api_hash.as_ref().unwrap().expose(), "feedface");
    assert!(c.to_redacted_toml().contains("systemd credential"));
}

#[test]
fn missing_explicit_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Config::load_from(
        Some(&dir.path().join("nope.toml")),
        &env(dir.path()),
        &dry(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("nope.toml"), "{err}");
}

#[test]
fn empty_credential_means_not_set() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("telegram_api_hash"), "\n").unwrap();
    let p = write(
        dir.path(),
        "[telegram]\napi_id = 7\napi_hash = \"fromfile\"\nallow_plain_sessions = true\n",
    );
    let vars = vec![("CREDENTIALS_DIRECTORY".into(), creds.display().to_string())];
    let c = Config::load_from(Some(&p), &env(dir.path()), &vars).unwrap();
    assert_eq!(c.telegram.api_hash.as_ref().unwrap().expose(), "fromfile");
    std::fs::write(creds.join("telegram_api_hash"), "fromcred\n").unwrap();
    let c = Config::load_from(Some(&p), &env(dir.path()), &vars).unwrap();
    assert_eq!(c.telegram.api_hash.as_ref().unwrap().expose(), "fromcred");
}

#[test]
fn cluster_keys_and_node_id_from_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load_from(None, &env(dir.path()), &dry()).unwrap();
    assert!(!c.daemon.node_id_configured);
    assert_eq!(c.cluster.lease, Duration::from_secs(15));
    let p = write(
        dir.path(),
        "[daemon]\nnode_id = \"db-2\"\n[cluster]\nlease = \"30s\"\n",
    );
    let mut vars = dry();
    vars.push(("MICROBOT_CLUSTER_RETRY".into(), "500ms".into()));
    let c = Config::load_from(Some(&p), &env(dir.path()), &vars).unwrap();
    assert_eq!(c.daemon.node_id, "db-2");
    assert!(c.daemon.node_id_configured);
    assert_eq!(
        (c.cluster.lease, c.cluster.renew, c.cluster.retry),
        (
            Duration::from_secs(30),
            Duration::from_secs(10),
            Duration::from_millis(500)
        )
    );
    vars.push(("MICROBOT_CLUSTER_RENEW".into(), "30s".into()));
    match Config::load_from(Some(&p), &env(dir.path()), &vars).unwrap_err() {
        ConfigError::Invalid { key, .. } => assert_eq!(key, "cluster.renew"),
        other => panic!("{other}"),
    }
}

#[test]
fn proxy_is_checked_and_its_password_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "[telegram]\nproxy = \"http://u:hunter2@h:8080\"\n",
    );
    let err = Config::load_from(Some(&p), &env(dir.path()), &dry())
        .unwrap_err()
        .to_string();
    assert!(err.contains("telegram.proxy"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    let p = write(
        dir.path(),
        "[telegram]\nproxy = \"socks5://u:hunter2@127.0.0.1:1080\"\n",
    );
    let c = Config::load_from(Some(&p), &env(dir.path()), &dry()).unwrap();
    assert_eq!(
        c.telegram.proxy.as_ref().map(|s| s.expose()),
        Some("socks5://u:hunter2@127.0.0.1:1080")
    );
    let shown = format!("{:?}\n{}", c, c.to_redacted_toml());
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("proxy = \"socks5://u:***@127.0.0.1:1080\""),
        "{shown}"
    );
}

/// A 32-byte key file of `mode` in `dir`.
fn key_file(dir: &std::path::Path, name: &str, mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, [7u8; 32]).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

#[test]
fn live_mode_needs_a_session_key_or_the_explicit_opt_out() {
    let dir = tempfile::tempdir().unwrap();
    let live = "[telegram]\napi_id = 12345\napi_hash = \"0123456789abcdef\"\n";
    let p = write(dir.path(), live);
    let err = Config::load_from(Some(&p), &env(dir.path()), &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("telegram.session_key_file")
            && err.contains("credential session_key")
            && err.contains("allow_plain_sessions"),
        "{err}"
    );
    assert!(!err.contains('\n'), "one line: {err}");
    // Dry-run needs no key.
    let c = Config::load_from(None, &env(dir.path()), &dry()).unwrap();
    assert!(c.telegram.session_key.is_none());
    assert!(c.to_redacted_toml().contains("no session key"));
}

#[test]
fn session_key_from_a_private_file_or_the_credential_shown_by_source_only() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "session.key", 0o600);
    let live = format!(
        "[telegram]\napi_id = 12345\napi_hash = \"0123456789abcdef\"\nsession_key_file = {:?}\n",
        key.display().to_string()
    );
    let p = write(dir.path(), &live);
    let c = Config::load_from(Some(&p), &env(dir.path()), &[]).unwrap();
    let id = crate::seal::SessionKey::from_bytes([7; 32]).id();
    assert_eq!(c.telegram.session_key.as_ref().unwrap().id(), id);
    let shown = format!("{:?}\n{}", c, c.to_redacted_toml());
    assert!(shown.contains(&format!("session key id {id}")), "{shown}");
    assert!(shown.contains("session.key"), "{shown}");
    assert!(
        !shown.contains("0707") && !shown.contains("7, 7"),
        "{shown}"
    );
    // Group-readable: refused, naming the key.
    key_file(dir.path(), "session.key", 0o640);
    let err = Config::load_from(Some(&p), &env(dir.path()), &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("telegram.session_key_file") && err.contains("readable by group"),
        "{err}"
    );
    // The credential wins; a lone newline means "not set".
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("session_key"), "\n").unwrap();
    let vars = vec![("CREDENTIALS_DIRECTORY".into(), creds.display().to_string())];
    let err = Config::load_from(Some(&p), &env(dir.path()), &vars).unwrap_err();
    assert!(err.to_string().contains("readable by group"), "{err}");
    std::fs::write(creds.join("session_key"), [8u8; 32]).unwrap();
    let c = Config::load_from(Some(&p), &env(dir.path()), &vars).unwrap();
    let cred_id = crate::seal::SessionKey::from_bytes([8; 32]).id();
    assert_eq!(c.telegram.session_key.as_ref().unwrap().id(), cred_id);
    assert!(
        c.to_redacted_toml().contains(&format!(
            "from systemd credential session_key (key id {cred_id})"
        )),
        "{}",
        c.to_redacted_toml()
    );
}
