//! Playing systemd for the real binary: the harness's datagram
//! `NOTIFY_SOCKET` receives READY (with STATUS), WATCHDOG, RELOADING and
//! STOPPING; SIGHUP reloads; `systemd-socket-activate` hands over the
//! control socket; `JOURNAL_STREAM` changes the log format; and the unit
//! files pass `scripts/check-units.sh`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon, bin};
use microbot_tests::in_ci;
use nix::sys::signal::Signal;

const WAIT: Duration = Duration::from_secs(60);

/// True when `program` runs; false (skip) outside CI, a failure in CI.
fn have(program: &str, arg: &str) -> bool {
    let ok = Command::new(program).arg(arg).output().is_ok();
    assert!(
        ok || !in_ci(),
        "{program} is missing (apt-get install systemd)"
    );
    if !ok {
        eprintln!("skipped: {program} not installed");
    }
    ok
}

#[test]
fn ready_carries_a_status_line() {
    let d = TestDaemon::start(Db::Sqlite);
    let ready = d
        .notifications()
        .iter()
        .find(|m| m.lines().any(|l| l == "READY=1"))
        .expect("READY=1 was received");
    assert!(
        ready
            .lines()
            .any(|l| l.starts_with("STATUS=serving: 0 accounts, 0 active templates")),
        "{ready}"
    );
}

/// Needs the dispatcher: it beats the heartbeat the watchdog vouches for.
/// (The opposite — no beat, no ping — is `systemd::watchdog`'s unit test.)
#[test]
fn watchdog_pings_while_the_dispatcher_turns() {
    let mut d = TestDaemon::builder(Db::Sqlite)
        .env("WATCHDOG_USEC", "2000000")
        .start();
    d.wait_for_notify("WATCHDOG=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(d.log().contains("systemd watchdog enabled"), "{}", d.log());
}

#[test]
fn no_watchdog_pings_unless_systemd_asks() {
    let mut d = TestDaemon::start(Db::Sqlite);
    d.ctl_ok(&["health"]);
    d.terminate();
    // Every datagram up to the last one read: none of them a ping.
    d.wait_for_notify("STOPPING=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !d.notifications().iter().any(|m| m.contains("WATCHDOG=1")),
        "{:?}",
        d.notifications()
    );
}

#[test]
fn sighup_applies_live_keys_and_names_restart_keys() {
    let mut d = TestDaemon::start(Db::Sqlite);
    let text = std::fs::read_to_string(&d.config_path).unwrap();
    assert!(
        text.contains("log_level = \"info,microbotd=debug\""),
        "{text}"
    );
    let text = text
        .replace(
            "log_level = \"info,microbotd=debug\"",
            "log_level = \"warn\"\nslow_call_warn = \"2s\"",
        )
        .replace(
            "mode = \"dry-run\"",
            "mode = \"dry-run\"\nrate_limit_per_minute = 7",
        )
        .replace("max_connections = 5", "max_connections = 6");
    std::fs::write(&d.config_path, text).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for_notify("RELOADING=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    d.wait_for_notify("READY=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    let reloading = d
        .notifications()
        .iter()
        .find(|m| m.contains("RELOADING=1"))
        .unwrap();
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    let log = d.log();
    for line in [
        "daemon.log_level changed: info,microbotd=debug → warn",
        "daemon.slow_call_warn changed: 500ms → 2s",
        "telegram.rate_limit_per_minute changed: 20 → 7",
        "database.max_connections changed in the file but needs a restart",
    ] {
        assert!(log.contains(line), "no {line:?} in\n{log}");
    }
    d.ctl_ok(&["health"]);
    // The new level holds: the INFO lines of a shutdown are not written.
    assert_eq!(d.terminate().code(), Some(0));
    let log = d.log();
    assert!(!log.contains("shutting down"), "{log}");
    assert!(
        log.contains("database ready"),
        "INFO before the reload: {log}"
    );
}

#[test]
fn sighup_with_a_broken_file_keeps_the_running_config() {
    let mut d = TestDaemon::start(Db::Sqlite);
    let good = std::fs::read_to_string(&d.config_path).unwrap();
    std::fs::write(&d.config_path, format!("{good}\n[daemon\n")).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for_notify("RELOADING=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    d.wait_for_notify("READY=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    let log = d.log();
    let failure: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("reload failed"))
        .collect();
    assert_eq!(failure.len(), 1, "{log}");
    assert!(
        failure[0].contains("line "),
        "names the line: {}",
        failure[0]
    );
    d.ctl_ok(&["health"]);
    // Still at the old level: the shutdown's INFO lines are written.
    assert_eq!(d.terminate().code(), Some(0));
    assert!(d.log().contains("shutting down"), "{}", d.log());
}

#[test]
fn sigterm_sends_stopping() {
    let mut d = TestDaemon::start(Db::Sqlite);
    assert_eq!(d.terminate().code(), Some(0), "{}", d.log());
    d.wait_for_notify("STOPPING=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Waits for `child` to exit after SIGTERM.
fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "no exit within {WAIT:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn socket_activation_serves_the_inherited_socket_and_leaves_it() {
    if !have("systemd-socket-activate", "--version") {
        return;
    }
    let mut d = TestDaemon::builder(Db::Sqlite).prepare();
    std::fs::create_dir_all(d.socket.parent().unwrap()).unwrap();
    let log = std::fs::File::create(d.dir.path().join("daemon.log")).unwrap();
    // systemd-socket-activate passes only LISTEN_* and the -E variables.
    let mut child = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&d.socket)
        .arg(format!("-ENOTIFY_SOCKET={}", d.notify_path().display()))
        .arg(bin("microbotd"))
        .arg("--config")
        .arg(&d.config_path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    // It binds first and starts the daemon on the first connection.
    let deadline = Instant::now() + WAIT;
    while !d.socket.exists() {
        assert!(
            Instant::now() < deadline,
            "socket never bound:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let knock = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    d.wait_for_notify("READY=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(knock);
    d.ctl_ok(&["health"]);
    let status = terminate(&mut child);
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(d.socket.exists(), "the daemon removed systemd's socket");
    assert!(!d.log().contains("removing stale socket"), "{}", d.log());
}

#[test]
fn under_journal_stream_lines_carry_no_timestamp_of_their_own() {
    let mut d = TestDaemon::builder(Db::Sqlite).prepare();
    let path = d.dir.path().join("daemon.log");
    let log = std::fs::File::create(&path).unwrap();
    let meta = log.metadata().unwrap();
    let mut child = Command::new(bin("microbotd"))
        .arg("--config")
        .arg(&d.config_path)
        .env("NOTIFY_SOCKET", d.notify_path())
        .env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    d.wait_for_notify("READY=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(terminate(&mut child).code(), Some(0));
    let text = std::fs::read_to_string(&path).unwrap();
    if Path::new("/run/systemd/journal/socket").exists() {
        // journald took the records (with fields); none went to stderr.
        assert!(!text.contains("database ready"), "{text}");
    } else {
        // No journal socket: plain stderr, and systemd would stamp each line.
        let line = text
            .lines()
            .find(|l| l.contains("database ready"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(line.trim_start().starts_with("INFO"), "{line}");
    }
}

#[test]
fn unit_files_pass_check_units() {
    if !have("systemd-analyze", "--version") {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/check-units.sh");
    let out = Command::new("bash")
        .arg(script)
        .arg(bin("microbotd"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check-units.sh:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
