//! `template apply` / `template export` through the real binaries:
//! dry runs, idempotence, prune, all-or-nothing and the round trip.

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::Value;

use crate::templates::{count, create, daemon};

const FILE: &str = r#"
[[template]]
account = "sales-tr"
name = "daily-report"
chats = ["@ops_channel", "-1001234567890"]
cron = "0 9 * * 1-5"
timezone = "Europe/Istanbul"
text = """
Günaydın!
Rapor hazır."""
parse_mode = "plain"
misfire = "once"
active = true

[[template]]
account = "sales-tr"
name = "ping"
chats = ["-42"]
every = "90m"
text = "ping"
"#;

fn apply(d: &TestDaemon, content: &str, extra: &[&str]) -> std::process::Output {
    let path = d.dir.path().join("templates.toml");
    std::fs::write(&path, content).unwrap();
    let mut args = vec!["template", "apply", "-f", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    d.ctl(&args)
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn apply_dry_run_idempotence_prune_and_round_trip(db: Db) {
    let d = daemon(db);
    let plan = stdout(&apply(&d, FILE, &["--dry-run"]));
    assert!(
        plan.contains("+ create sales-tr/daily-report") && plan.contains("+ create sales-tr/ping"),
        "{plan}"
    );
    assert!(plan.contains("dry run"), "{plan}");
    assert_eq!(count(&d), 0);

    assert!(stdout(&apply(&d, FILE, &[])).contains("applied 2 change(s)"));
    let again = stdout(&apply(&d, FILE, &[]));
    assert!(
        again.contains("no changes") && again.contains("= 2 unchanged"),
        "{again}"
    );

    // An operator-made template of another account survives --prune.
    create(
        &d,
        &[
            "--name", "manual", "--chat", "-7", "--cron", "@hourly", "--text", "m",
        ],
    );
    d.ctl_json(&[
        "template",
        "create",
        "--account",
        "ops",
        "--name",
        "keep",
        "--chat",
        "-8",
        "--cron",
        "@daily",
        "--text",
        "k",
    ]);
    let changed = FILE
        .replace("0 9 * * 1-5", "0 10 * * 1-5")
        .replace("every = \"90m\"", "every = \"2h\"");
    let plan = stdout(&apply(&d, &changed, &["--prune", "--dry-run"]));
    assert!(
        plan.contains("~ update sales-tr/daily-report: cron \"0 9 * * 1-5\" → \"0 10 * * 1-5\""),
        "{plan}"
    );
    assert!(
        plan.contains("~ update sales-tr/ping: every \"1h30m\" → \"2h\""),
        "{plan}"
    );
    assert!(
        plan.contains("- delete sales-tr/manual") && !plan.contains("ops/keep"),
        "{plan}"
    );
    stdout(&apply(&d, &changed, &["--prune"]));
    let names: Vec<String> = d
        .ctl_json(&["template", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}/{}",
                t["account"].as_str().unwrap(),
                t["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        ["ops/keep", "sales-tr/daily-report", "sales-tr/ping"]
    );

    // export → apply round-trips with no changes, to a file and to stdout.
    let path = d.dir.path().join("export.toml");
    d.ctl_ok(&["template", "export", "-f", path.to_str().unwrap()]);
    let exported = std::fs::read_to_string(&path).unwrap();
    assert_eq!(exported, d.ctl_ok(&["template", "export"]));
    assert!(
        exported.contains("Rapor hazır") && exported.contains("account = \"ops\""),
        "{exported}"
    );
    let again = stdout(&apply(&d, &exported, &["--prune"]));
    assert!(
        again.contains("no changes") && again.contains("= 3 unchanged"),
        "{again}"
    );
    let json: Value = serde_json::from_str(&stdout(&d.ctl(&[
        "-o",
        "json",
        "template",
        "apply",
        "-f",
        path.to_str().unwrap(),
    ])))
    .unwrap();
    assert_eq!(
        (json["applied"].as_bool(), json["unchanged"].as_u64()),
        (Some(false), Some(3))
    );
}
microbot_tests::per_backend!(apply_dry_run_idempotence_prune_and_round_trip);

fn apply_is_all_or_nothing(db: Db) {
    let d = daemon(db);
    let bad = format!(
        "{FILE}\n[[template]]\naccount = \"sales-tr\"\nname = \"broken\"\nchats = [\"-1\"]\ncron = \"0 0 30 2 *\"\ntext = \"x\"\n"
    );
    let out = apply(&d, &bad, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("template[3] (sales-tr/broken): cron: ") && err.contains("never fires"),
        "{err}"
    );
    assert_eq!(count(&d), 0);

    for (content, needle) in [
        (
            FILE.replace("misfire = \"once\"", "misfir = \"once\""),
            "misfir",
        ),
        (
            FILE.replace("name = \"ping\"", "name = \"daily-report\""),
            "duplicate of template[1]",
        ),
        (
            FILE.replace(
                "account = \"sales-tr\"\nname = \"ping\"",
                "account = \"ghost\"\nname = \"ping\"",
            ),
            "template[2] (ghost/ping): account:",
        ),
    ] {
        let out = apply(&d, &content, &[]);
        assert_eq!(out.status.code(), Some(1), "{needle}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{needle}: {err}");
        assert_eq!(count(&d), 0);
    }
    // The same file without the bad entry goes in whole.
    stdout(&apply(&d, FILE, &[]));
    assert_eq!(count(&d), 2);
}
microbot_tests::per_backend!(apply_is_all_or_nothing);
