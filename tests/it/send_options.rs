//! Send options (`--silent`, `--no-preview`, `--pin`, `--pin-notify`,
//! `--replace-previous`) through the real binaries in dry-run: what the
//! ledger records, show/edit, export → apply, refusals, and a backup
//! restored into every backend.

use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon, ledger_messages};
use serde_json::{Value, json};

fn dry_run(db: Db) -> TestDaemon {
    TestDaemon::builder(db)
        .config("[telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = 6000\n")
        .start()
}

fn login(d: &TestDaemon) {
    d.add_logged_in("poster", "+905321234567");
}

fn actions(lines: &[Value], action: &str) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| l["action"] == action)
        .cloned()
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits until every delivery of the account is settled.
pub(crate) fn drained(d: &TestDaemon) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = d.ctl_json(&["deliveries", "list", "--account", "poster", "--limit", "0"]);
        let open = rows
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["state"] == "pending" || r["state"] == "sending");
        if !open {
            return rows;
        }
        assert!(Instant::now() < deadline, "still open: {rows}\n{}", d.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn options_reach_the_ledger_and_replace_previous_deletes_the_last_message(db: Db) {
    let d = dry_run(db);
    login(&d);
    let t = d.ctl_json(&[
        "template",
        "create",
        "--account",
        "poster",
        "--name",
        "status",
        "--chat",
        "@status_room",
        "--every",
        "1s",
        "--text",
        "status https://example.com",
        "--silent",
        "--no-preview",
        "--pin",
        "--replace-previous",
    ]);
    assert_eq!(
        t["options"],
        json!(["silent", "no-preview", "pin", "replace-previous"]),
        "{t}"
    );
    let id = t["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger_messages(&d.ledger(), id).len() < 3 {
        assert!(Instant::now() < deadline, "no sends:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    d.ctl_ok(&["template", "disable", &id.to_string()]);
    let rows = drained(&d);
    let lines = d.ledger();
    let sent = ledger_messages(&lines, id);
    assert!(sent.len() >= 3);
    for m in &sent {
        assert_eq!(
            (&m["silent"], &m["no_preview"]),
            (&json!(true), &json!(true)),
            "{m}"
        );
    }
    let ids: Vec<i64> = sent
        .iter()
        .map(|m| m["message_id"].as_i64().unwrap())
        .collect();
    // Every message was pinned, silently.
    let pinned: Vec<i64> = actions(&lines, "pin")
        .iter()
        .inspect(|p| assert_eq!(p["notify"], false, "{p}"))
        .map(|p| p["message_id"].as_i64().unwrap())
        .collect();
    assert_eq!(pinned, ids, "pins follow the sends");
    // Each message but the newest was deleted once its successor went.
    let deleted: Vec<i64> = actions(&lines, "delete")
        .iter()
        .inspect(|p| assert_eq!(p["chat"], "@status_room", "{p}"))
        .map(|p| p["message_id"].as_i64().unwrap())
        .collect();
    assert_eq!(deleted, ids[..ids.len() - 1], "{lines:?}");
    for r in rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["state"] == "sent")
    {
        assert_eq!(
            r.get("error"),
            Some(&Value::Null),
            "nothing failed after the send: {r}"
        );
    }

    // A template without options writes plain lines (no flags).
    let plain = d.ctl_json(&[
        "template",
        "create",
        "--account",
        "poster",
        "--name",
        "plain",
        "--chat",
        "@plain_room",
        "--every",
        "1s",
        "--text",
        "plain",
    ]);
    assert_eq!(plain["options"], json!([]));
    let pid = plain["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger_messages(&d.ledger(), pid).is_empty() {
        assert!(Instant::now() < deadline, "no sends:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    d.ctl_ok(&["template", "disable", &pid.to_string()]);
    let m = &ledger_messages(&d.ledger(), pid)[0];
    assert!(
        m.get("silent").is_none() && m.get("no_preview").is_none(),
        "{m}"
    );
}
microbot_tests::per_backend!(
    options_reach_the_ledger_and_replace_previous_deletes_the_last_message
);

fn options_are_shown_edited_exported_refused_and_restored(db: Db) {
    let d = TestDaemon::start(db);
    d.ctl_ok(&["account", "add", "poster", "--phone", "+905321234567"]);
    let base = [
        "template",
        "create",
        "--account",
        "poster",
        "--name",
        "notice",
        "--chat",
        "@ops_room",
        "--cron",
        "0 9 * * *",
        "--text",
        "hello",
    ];
    // --pin-notify alone is a usage error; nothing is written.
    let mut args = base.to_vec();
    args.push("--pin-notify");
    let out = d.ctl(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(d.ctl_json(&["template", "list"]), json!([]));

    args = base.to_vec();
    args.extend(["--pin", "--pin-notify", "--silent"]);
    let t = d.ctl_json(&args);
    let id = t["id"].as_i64().unwrap().to_string();
    assert_eq!(t["options"], json!(["silent", "pin", "pin-notify"]));
    let table = d.ctl_ok(&["template", "show", &id]);
    assert!(table.contains("silent"), "{table}");

    // Export → apply changes nothing; the file names the options.
    let file = d.dir.path().join("t.toml");
    d.ctl_ok(&["template", "export", "-f", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("silent = true") && text.contains("pin_notify = true"),
        "{text}"
    );
    assert!(
        !text.contains("no_preview"),
        "false options are left out: {text}"
    );
    let plan = d.ctl_json(&["template", "apply", "-f", file.to_str().unwrap()]);
    assert_eq!(
        (&plan["unchanged"], &plan["changes"]),
        (&json!(1), &json!([])),
        "{plan}"
    );

    // apply sees a changed option, and refuses pin_notify without pin.
    let changed = text.replace("silent = true", "silent = false\nno_preview = true");
    std::fs::write(&file, &changed).unwrap();
    let plan = d.ctl_json(&[
        "template",
        "apply",
        "--dry-run",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        plan["changes"][0]["details"],
        json!(["options silent,pin,pin-notify → no-preview,pin,pin-notify"]),
        "{plan}"
    );
    std::fs::write(&file, text.replace("pin = true\n", "")).unwrap();
    let out = d.ctl(&["template", "apply", "-f", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("pin_notify: pin-notify needs pin"),
        "{}",
        stderr(&out)
    );

    // edit: --pin=false takes pin-notify with it; --no-preview adds.
    let t = d.ctl_json(&["template", "edit", &id, "--pin=false", "--no-preview"]);
    assert_eq!(t["options"], json!(["silent", "no-preview"]), "{t}");
    let out = d.ctl(&["template", "edit", &id, "--pin-notify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("pin-notify"), "{}", stderr(&out));
    let t = d.ctl_json(&["template", "show", &id]);
    assert_eq!(
        t["options"],
        json!(["silent", "no-preview"]),
        "refused edit wrote nothing"
    );
    d.ctl_json(&[
        "template",
        "edit",
        &id,
        "--replace-previous",
        "--silent=false",
    ]);

    // A backup carries the options into every backend.
    let backup = d.dir.path().join("b.tar.gz");
    d.ctl_ok(&["backup", "create", "--output", backup.to_str().unwrap()]);
    for dst_db in Db::all() {
        let dst = TestDaemon::start(dst_db);
        dst.ctl_ok(&["backup", "restore", backup.to_str().unwrap()]);
        let t = dst.ctl_json(&["template", "show", &id]);
        assert_eq!(
            t["options"],
            json!(["no-preview", "replace-previous"]),
            "{db:?} → {dst_db:?}"
        );
    }
}
microbot_tests::per_backend!(options_are_shown_edited_exported_refused_and_restored);

fn placeholders_are_filled_in_at_send_time_in_the_template_zone(db: Db) {
    use chrono::{DateTime, Datelike, FixedOffset};
    let d = dry_run(db);
    login(&d);
    let base = [
        "template",
        "create",
        "--account",
        "poster",
        "--name",
        "report",
        "--chat",
        "@report_room",
        "--every",
        "1s",
        "--tz",
        "Asia/Tokyo",
        "--text",
    ];
    // Unknown and unclosed placeholders: one line, exit 1, nothing written.
    for (text, want) in [
        ("hi {name}", "unknown placeholder {name}"),
        ("hi {date", "is never closed"),
    ] {
        let mut args = base.to_vec();
        args.push(text);
        let out = d.ctl(&args);
        assert_eq!(out.status.code(), Some(1), "{text}");
        let err = stderr(&out);
        assert!(
            err.contains("text: at character 4: ") && err.contains(want),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert_eq!(d.ctl_json(&["template", "list"]), json!([]));

    let mut args = base.to_vec();
    args.push("{weekday} {date} {time} ({slot}) {{literal}");
    let t = d.ctl_json(&args);
    let id = t["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let m = loop {
        if let Some(m) = ledger_messages(&d.ledger(), id).into_iter().next() {
            break m;
        }
        assert!(Instant::now() < deadline, "no sends:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(200));
    };
    d.ctl_ok(&["template", "disable", &id.to_string()]);
    // Tokyo is UTC+9 all year.
    let slot = DateTime::parse_from_rfc3339(m["slot"].as_str().unwrap()).unwrap();
    let local = slot.with_timezone(&FixedOffset::east_opt(9 * 3600).unwrap());
    let weekday = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][local.weekday().num_days_from_monday() as usize];
    let want = format!(
        "{weekday} {} {} ({}) {{literal}}",
        local.format("%Y-%m-%d"),
        local.format("%H:%M"),
        local.format("%Y-%m-%dT%H:%M:%S+09:00"),
    );
    assert_eq!(m["text"], want, "{m}");
    // What is stored (and shown) keeps the placeholders.
    let shown = d.ctl_json(&["template", "show", &id.to_string()]);
    assert_eq!(shown["text"], "{weekday} {date} {time} ({slot}) {{literal}");
}
microbot_tests::per_backend!(placeholders_are_filled_in_at_send_time_in_the_template_zone);
