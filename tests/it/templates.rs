//! Templates through the real binaries: every command, validation errors
//! that write nothing, and the declarative apply/export cycle.

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::Value;

pub fn daemon(db: Db) -> TestDaemon {
    let d = TestDaemon::start(db);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    d.ctl_ok(&["account", "add", "ops", "--phone", "+905321234568"]);
    d
}

pub fn create(d: &TestDaemon, extra: &[&str]) -> Value {
    let mut args = vec!["template", "create", "--account", "sales-tr"];
    args.extend_from_slice(extra);
    d.ctl_json(&args)
}

pub fn count(d: &TestDaemon) -> usize {
    d.ctl_json(&["template", "list"]).as_array().unwrap().len()
}

/// Runs a command expected to fail with exit 1; returns stderr.
fn fails(d: &TestDaemon, args: &[&str]) -> String {
    let out = d.ctl(args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn create_list_show_edit_enable_disable_delete(db: Db) {
    let d = daemon(db);
    let t = create(
        &d,
        &[
            "--name",
            "daily-report",
            "--chat",
            "t.me/Ops_Channel",
            "--chat",
            "-1001234567890",
            "--cron",
            "0 9 * * 1-5",
            "--tz",
            "Europe/Istanbul",
            "--text",
            "Günaydın",
        ],
    );
    let id = t["id"].as_i64().unwrap();
    assert_eq!(
        t["chats"],
        serde_json::json!(["@ops_channel", "-1001234567890"])
    );
    assert_eq!(
        (t["schedule_kind"].as_str(), t["misfire"].as_str()),
        (Some("cron"), Some("once"))
    );
    let fires = t["next_fires"].as_array().unwrap();
    assert_eq!(fires.len(), 5);
    assert!(
        fires
            .iter()
            .all(|f| f.as_str().unwrap().ends_with("T09:00:00+03:00")),
        "{t}"
    );
    assert!(t["next_slot"].is_string());

    let every = create(
        &d,
        &[
            "--name",
            "ping",
            "--chat",
            "-42",
            "--every",
            "90m",
            "--text",
            "p",
            "--inactive",
            "--misfire",
            "skip",
            "--parse-mode",
            "html",
        ],
    );
    assert_eq!(every["schedule_expr"], "1h30m");
    assert_eq!(every["active"], false);
    assert_eq!(every["next_fires"], serde_json::json!([]));
    let every_id = every["id"].as_i64().unwrap().to_string();

    let list = d.ctl_json(&["template", "list"]);
    let keys: Vec<&String> = list[0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 10, "{list}");
    assert!(
        list[0]["next_fire"].as_str().unwrap().ends_with("+03:00"),
        "{list}"
    );
    assert_eq!(
        d.ctl_json(&["template", "list", "--active"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        d.ctl_json(&["template", "list", "--account", "ops"]),
        serde_json::json!([])
    );
    let table = d.ctl_ok(&["template", "list"]);
    assert!(
        table.contains("daily-report") && table.contains("NEXT_FIRE"),
        "{table}"
    );
    let shown = d.ctl_ok(&["template", "show", &id.to_string()]);
    assert!(
        shown.contains("next fires:") && shown.contains("+03:00"),
        "{shown}"
    );

    // Edit: text only keeps the slot; a new schedule moves it.
    let slot = t["next_slot"].clone();
    let e = d.ctl_json(&["template", "edit", &id.to_string(), "--text", "Merhaba"]);
    assert_eq!(
        (e["text"].as_str(), &e["next_slot"]),
        (Some("Merhaba"), &slot)
    );
    let e = d.ctl_json(&[
        "template",
        "edit",
        &id.to_string(),
        "--every",
        "2h",
        "--chat",
        "@other_chat",
    ]);
    assert_eq!(
        (e["schedule_kind"].as_str(), e["schedule_expr"].as_str()),
        (Some("every"), Some("2h"))
    );
    assert_eq!(e["chats"], serde_json::json!(["@other_chat"]));
    assert_ne!(e["next_slot"], slot, "a new schedule moves the slot");
    let e = d.ctl_json(&[
        "template",
        "edit",
        &id.to_string(),
        "--cron",
        "@daily",
        "--tz",
        "UTC",
    ]);
    assert!(
        e["next_fires"][0]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00+00:00"),
        "{e}"
    );

    let on = d.ctl_json(&["template", "enable", &every_id]);
    assert_eq!(on["active"], true);
    assert_eq!(on["next_fires"].as_array().unwrap().len(), 5);
    let off = d.ctl_json(&["template", "disable", &every_id]);
    assert_eq!(
        (off["active"].as_bool(), &off["next_slot"]),
        (Some(false), &on["next_slot"])
    );

    let del = d.ctl_json(&["template", "delete", &every_id]);
    assert_eq!(del["cancelled_deliveries"], 0);
    assert!(fails(&d, &["template", "show", &every_id]).contains("not found"));
    assert!(fails(&d, &["template", "delete", &every_id]).contains("not found"));
    assert_eq!(count(&d), 1);

    let audit = d.log();
    assert!(audit.contains("template created"), "{audit}");
}
microbot_tests::per_backend!(create_list_show_edit_enable_disable_delete);

fn invalid_fields_are_named_and_nothing_is_written(db: Db) {
    let d = daemon(db);
    let base = [
        "template",
        "create",
        "--account",
        "sales-tr",
        "--name",
        "x",
        "--text",
        "hi",
    ];
    let cases: &[(&[&str], &str)] = &[
        (
            &["--chat", "@ops_channel", "--cron", "61 * * * *"],
            "invalid argument: cron: minute field",
        ),
        (
            &["--chat", "@ops_channel", "--cron", "0 0 30 2 *"],
            "never fires",
        ),
        (
            &["--chat", "@ops_channel", "--every", "0s"],
            "invalid argument: every:",
        ),
        (
            &[
                "--chat",
                "@ops_channel",
                "--cron",
                "@daily",
                "--tz",
                "Mars/Base",
            ],
            "invalid argument: tz:",
        ),
        (
            &["--chat", "t.me/+invite", "--cron", "@daily"],
            "invalid argument: chat:",
        ),
        (
            &[
                "--chat",
                "@ops_channel",
                "--chat",
                "@OPS_channel",
                "--cron",
                "@daily",
            ],
            "listed twice",
        ),
    ];
    for (extra, needle) in cases {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        let err = fails(&d, &args);
        assert!(err.contains(needle), "{extra:?}: {err}");
    }
    let long = "a".repeat(4097);
    let err = fails(
        &d,
        &[
            "template",
            "create",
            "--account",
            "sales-tr",
            "--name",
            "x",
            "--chat",
            "-42",
            "--cron",
            "@daily",
            "--text",
            &long,
        ],
    );
    assert!(err.contains("invalid argument: text: 4097 UTF-16"), "{err}");
    let err = fails(
        &d,
        &[
            "template",
            "create",
            "--account",
            "nobody",
            "--name",
            "x",
            "--chat",
            "-42",
            "--cron",
            "@daily",
            "--text",
            "t",
        ],
    );
    assert!(err.contains("account \"nobody\" not found"), "{err}");
    let err = fails(
        &d,
        &[
            "template",
            "create",
            "--account",
            "sales-tr",
            "--name",
            "bad name",
            "--chat",
            "-42",
            "--cron",
            "@daily",
            "--text",
            "t",
        ],
    );
    assert!(err.contains("invalid argument: name:"), "{err}");
    // Both schedules, or none: a usage error from clap.
    let out = d.ctl(&[
        "template",
        "create",
        "--account",
        "sales-tr",
        "--name",
        "x",
        "--chat",
        "-42",
        "--cron",
        "@daily",
        "--every",
        "1h",
        "--text",
        "t",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(count(&d), 0);

    let t = create(
        &d,
        &[
            "--name", "x", "--chat", "-42", "--cron", "@daily", "--text", "t",
        ],
    );
    let err = fails(
        &d,
        &[
            "template",
            "create",
            "--account",
            "sales-tr",
            "--name",
            "x",
            "--chat",
            "-42",
            "--cron",
            "@daily",
            "--text",
            "t",
        ],
    );
    assert!(err.contains("already exists"), "{err}");
    let id = t["id"].as_i64().unwrap().to_string();
    let err = fails(&d, &["template", "edit", &id, "--cron", "0 0 31 4 *"]);
    assert!(err.contains("never fires"), "{err}");
    assert_eq!(
        d.ctl_json(&["template", "show", &id])["schedule_expr"],
        "@daily"
    );
    assert_eq!(count(&d), 1);
}
microbot_tests::per_backend!(invalid_fields_are_named_and_nothing_is_written);
