//! One-shot templates (`--at LOCAL_DATETIME`) through the real binaries in
//! dry-run: a past or malformed time is refused (and `cron validate --at`
//! explains it), a future one fires once at its instant in the template's
//! zone, and never again — not after a restart, not when enabled again;
//! export → apply leaves the finished template as it is.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::{Value, json};

fn sends(d: &TestDaemon, template: i64) -> Vec<Value> {
    d.ledger()
        .into_iter()
        .filter(|l| l["template_id"] == template)
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn a_one_shot_fires_once_and_never_again(db: Db) {
    let mut d = TestDaemon::builder(db)
        .config("[telegram]\nmode = \"dry-run\"\n")
        .start();
    d.add_logged_in("poster", "+905321234567");
    let create = |at: &str| {
        d.ctl(&[
            "-o",
            "json",
            "template",
            "create",
            "--account",
            "poster",
            "--name",
            "notice",
            "--chat",
            "@maint_room",
            "--tz",
            "Asia/Tokyo",
            "--text",
            "maintenance at 10",
            "--at",
            at,
        ])
    };
    for (at, want) in [
        (
            "2020-01-01T10:00",
            "at: 2020-01-01T10:00 in Asia/Tokyo is 2020-01-01T10:00:00+09:00, which is already past",
        ),
        ("tomorrow", "at: \"tomorrow\" is not a local date and time"),
    ] {
        let out = create(at);
        assert_eq!(out.status.code(), Some(1), "{at}");
        assert!(stderr(&out).contains(want), "{}", stderr(&out));
    }
    assert_eq!(
        d.ctl_json(&["template", "list"]),
        json!([]),
        "nothing written"
    );
    let out = d.ctl(&[
        "cron",
        "validate",
        "--at",
        "2020-01-01T10:00",
        "--tz",
        "Asia/Tokyo",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("which is already past"),
        "{}",
        stderr(&out)
    );

    // Tokyo is UTC+9 all year: the local time 3 s from now.
    let instant = Utc::now() + chrono::Duration::seconds(3);
    let local = (instant + chrono::Duration::hours(9))
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string();
    let checked = d.ctl_json(&["cron", "validate", "--at", &local, "--tz", "Asia/Tokyo"]);
    assert_eq!(checked["valid"], true, "{checked}");
    let out = create(&local);
    assert!(out.status.success(), "{}", stderr(&out));
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (&t["schedule_kind"], &t["finished"]),
        (&json!("at"), &json!(false)),
        "{t}"
    );
    let id = t["id"].as_i64().unwrap();
    let sid = id.to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while sends(&d, id).is_empty() {
        assert!(Instant::now() < deadline, "not sent:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let slot: DateTime<Utc> = sends(&d, id)[0]["slot"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        slot.timestamp(),
        instant.timestamp(),
        "fires at its instant in its zone"
    );
    let shown = d.ctl_json(&["template", "show", &sid]);
    assert_eq!(shown["finished"], true, "{shown}");
    assert_eq!(shown["next_fires"], json!([]));
    let table = d.ctl_ok(&["template", "show", &sid]);
    assert!(table.contains("(finished"), "{table}");

    // Restarted, enabled again, re-applied: still the one message.
    d.terminate();
    d.spawn().expect("restart");
    d.ctl_ok(&["template", "disable", &sid]);
    d.ctl_ok(&["template", "enable", &sid]);
    let file = d.dir.path().join("t.toml");
    d.ctl_ok(&["template", "export", "-f", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("at = \"{local}\"")), "{text}");
    let plan = d.ctl_json(&["template", "apply", "-f", file.to_str().unwrap()]);
    assert_eq!(plan["unchanged"], 1, "{plan}");
    // Give a wrongly planned slot time to come due before looking.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(sends(&d, id).len(), 1, "{:?}", sends(&d, id));
    let rows = d.ctl_json(&["deliveries", "list", "--account", "poster", "--limit", "0"]);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(d.ctl_json(&["template", "show", &sid])["finished"], true);
}
microbot_tests::per_backend!(a_one_shot_fires_once_and_never_again);
