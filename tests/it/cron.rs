//! `microbotctl cron validate` through the real binaries.

use microbot_tests::daemon::{Db, TestDaemon};

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn json_shape_warnings_and_exit_codes() {
    let d = TestDaemon::start(Db::Sqlite);
    let out = d.ctl(&[
        "-o",
        "json",
        "cron",
        "validate",
        "0 9 1-7 * 1",
        "--from",
        "2027-01-01T00:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error", "next", "valid", "warnings"], "{v}");
    assert_eq!(v["valid"], true);
    assert!(v["error"].is_null());
    assert_eq!(v["next"].as_array().unwrap().len(), 5);
    assert_eq!(v["next"][0], "2027-01-01T09:00:00+00:00");
    let w = v["warnings"].to_string();
    assert!(w.contains("EITHER") && w.contains("1#1"), "{w}");

    let out = d.ctl(&["-o", "json", "cron", "validate", "61 * * * *"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json_of(&out);
    assert_eq!(v["valid"], false);
    assert!(v["error"].as_str().unwrap().contains("minute field"), "{v}");
    assert_eq!(v["next"], serde_json::json!([]));

    let out = d.ctl(&["cron", "validate", "61 * * * *"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("minute field \"61\""), "{err}");

    let out = d.ctl(&["cron", "validate", "0 0 30 2 *"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("never fires"));

    let out = d.ctl(&[
        "-o",
        "json",
        "cron",
        "validate",
        "* * * * *",
        "--tz",
        "Mars/Base",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(json_of(&out)["error"].as_str().unwrap().starts_with("tz: "));
}

#[test]
fn dst_gap_and_every_from_a_given_instant() {
    let d = TestDaemon::start(Db::Sqlite);
    let v = d.ctl_json(&[
        "cron",
        "validate",
        "--tz",
        "Europe/Berlin",
        "--from",
        "2027-03-27T12:00:00Z",
        "-n",
        "2",
        "30 2 * * *",
    ]);
    assert_eq!(v["next"][0], "2027-03-28T03:00:00+02:00", "{v}");
    assert_eq!(v["next"][1], "2027-03-29T02:30:00+02:00", "{v}");
    let v = d.ctl_json(&[
        "cron",
        "validate",
        "every",
        "90m",
        "--from",
        "2027-01-01T00:00:00Z",
        "-n",
        "2",
    ]);
    assert_eq!(
        v["next"],
        serde_json::json!(["2027-01-01T01:30:00+00:00", "2027-01-01T03:00:00+00:00"])
    );
    let table = d.ctl_ok(&[
        "cron",
        "validate",
        "every 90m",
        "--from",
        "2027-01-01T00:00:00Z",
    ]);
    assert!(table.contains("2027-01-01T07:30:00+00:00"), "{table}");
}

#[test]
fn rate_warning_uses_the_daemon_setting() {
    let strict = TestDaemon::builder(Db::Sqlite)
        .config("[telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = 1\n")
        .start();
    let v = strict.ctl_json(&[
        "cron",
        "validate",
        "every 30s",
        "--from",
        "2027-01-01T00:00:00Z",
    ]);
    assert!(
        v["warnings"]
            .to_string()
            .contains("rate limit of 1 a minute"),
        "{v}"
    );
    let relaxed = TestDaemon::start(Db::Sqlite);
    let v = relaxed.ctl_json(&[
        "cron",
        "validate",
        "every 30s",
        "--from",
        "2027-01-01T00:00:00Z",
    ]);
    assert_eq!(v["warnings"], serde_json::json!([]), "{v}");
}
