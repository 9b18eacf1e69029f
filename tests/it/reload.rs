//! SIGHUP takes effect, not merely gets stored: a reloaded
//! `telegram.rate_limit_per_minute` spaces the sends that follow, and a
//! reloaded `daemon.slow_call_warn` produces the "took longer than" line
//! the runbook (5.1) greps for.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use microbot_tests::daemon::{Db, TestDaemon};
use nix::sys::signal::Signal;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);
/// After the reload: 12 a minute, one send every 5 s once the bucket
/// (at most 10 s' worth, 2 tokens) and the sends already under way are spent.
const SLOW_RATE: u32 = 12;
const SPACING_MS: i64 = 60_000 / SLOW_RATE as i64;

/// `sent_at` of every dry-run ledger entry, in order.
fn sends(d: &TestDaemon) -> Vec<DateTime<Utc>> {
    let mut at: Vec<DateTime<Utc>> =
        std::fs::read_to_string(d.state_dir.join("dry-run-ledger.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let e: Value = serde_json::from_str(l).unwrap();
                e["sent_at"].as_str().unwrap().parse().unwrap()
            })
            .collect();
    at.sort();
    at
}

fn wait_until(what: &str, d: &TestDaemon, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn reload(d: &mut TestDaemon, edit: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(&d.config_path).unwrap();
    for (from, to) in edit {
        assert!(text.contains(from), "{from:?} in\n{text}");
        text = text.replace(from, to);
    }
    std::fs::write(&d.config_path, text).unwrap();
    d.signal(Signal::SIGHUP);
    d.wait_for_notify("RELOADING=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    d.wait_for_notify("READY=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn sighup_rate_limit_and_slow_call_threshold_take_effect() {
    let mut d = TestDaemon::builder(Db::Sqlite)
        .config("[telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = 6000\n")
        .prepare();
    let text = std::fs::read_to_string(&d.config_path).unwrap().replace(
        "log_level = \"info,microbotd=debug\"",
        "log_level = \"info,microbotd=debug\"\nslow_call_warn = \"1h\"",
    );
    std::fs::write(&d.config_path, text).unwrap();
    d.spawn().expect("daemon ready");
    d.add_logged_in("ops", "+905321234567");
    let mut create = vec![
        "template",
        "create",
        "--account",
        "ops",
        "--name",
        "tick",
        "--every",
        "1s",
        "--text",
        "tick",
        "--misfire",
        "all",
    ];
    let chats = ["@reload_1", "@reload_2", "@reload_3", "@reload_4"];
    for c in &chats {
        create.extend(["--chat", c]);
    }
    d.ctl_ok(&create);
    // At 6000 a minute the four chats of a slot go out together.
    wait_until("a few fast sends", &d, || sends(&d).len() >= 8);
    let fast = sends(&d);
    assert!(
        fast.windows(2)
            .any(|w| (w[1] - w[0]).num_milliseconds() < SPACING_MS - 500),
        "the check below could not tell the rates apart: {fast:?}"
    );
    d.ctl_ok(&["db", "check"]);
    assert!(!d.log().contains("took longer than"), "{}", d.log());

    reload(
        &mut d,
        &[
            ("slow_call_warn = \"1h\"", "slow_call_warn = \"0s\""),
            (
                "rate_limit_per_minute = 6000",
                &format!("rate_limit_per_minute = {SLOW_RATE}"),
            ),
        ],
    );
    let reloaded = Utc::now();
    d.ctl_ok(&["db", "check"]);
    let log = d.log();
    let slow: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("took longer than 0ms"))
        .collect();
    assert!(
        slow.iter()
            .any(|l| l.contains("WARN") && l.contains("/microbot.v1.")),
        "no \"took longer than\" line after the reload:\n{log}"
    );
    // Skip what the old rate and the bucket still allowed, then every send
    // is at least the new spacing after the one before.
    wait_until("sends at the reloaded rate", &d, || {
        sends(&d).iter().filter(|t| **t > reloaded).count() >= 6
    });
    let after: Vec<DateTime<Utc>> = sends(&d).into_iter().filter(|t| *t > reloaded).collect();
    for w in after[3..].windows(2) {
        assert!(
            (w[1] - w[0]).num_milliseconds() >= SPACING_MS - 500,
            "sends closer than the reloaded rate allows: {after:?}"
        );
    }
}
