//! Verify and restore hold every value of an archive to the rules of
//! create, through the real binaries: a self-consistent archive (checksums
//! recomputed) with one bad value is refused, naming member, row and reason.

use std::process::Command;

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::Value;

use crate::maintenance::{accounts, repack, stderr, unpack};

/// The sha256 of `data` in hex, by coreutils.
fn sha256(data: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

#[test]
fn verify_and_restore_check_every_value_like_create() {
    let d = TestDaemon::start(Db::Sqlite);
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    d.ctl_ok(&[
        "template",
        "create",
        "--account",
        "sales-tr",
        "--name",
        "daily",
        "--chat",
        "@ops_channel",
        "--cron",
        "0 9 * * *",
        "--tz",
        "Europe/Istanbul",
        "--text",
        "hello",
    ]);
    let good = d.dir.path().join("good.tar.gz");
    d.ctl_ok(&["backup", "create", "--output", good.to_str().unwrap()]);
    let members = unpack(&good);
    // Rewrites one member and its checksum: a self-consistent archive.
    let forged = |name: &str, member: &str, from: &str, to: &str| -> String {
        let mut m = members.clone();
        let i = m.iter().position(|(n, _)| n == member).unwrap();
        let text = String::from_utf8(m[i].1.clone()).unwrap();
        assert!(text.contains(from), "{member}: {text}");
        m[i].1 = text.replace(from, to).into_bytes();
        let sum = sha256(&m[i].1);
        let j = m.iter().position(|(n, _)| n == "manifest.json").unwrap();
        let mut v: Value = serde_json::from_slice(&m[j].1).unwrap();
        for e in v["members"].as_array_mut().unwrap() {
            if e["path"] == member {
                e["sha256"] = sum.clone().into();
            }
        }
        m[j].1 = serde_json::to_vec(&v).unwrap();
        let p = d.dir.path().join(name);
        repack(&p, &m);
        let out = d.ctl(&["backup", "verify", p.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let before = accounts(&d);
        let restore = d.ctl(&["backup", "restore", "--force", p.to_str().unwrap()]);
        assert_eq!(
            restore.status.code(),
            Some(1),
            "{name}: {}",
            stderr(&restore)
        );
        assert_eq!(
            accounts(&d),
            before,
            "{name}: a refused restore changed data"
        );
        assert!(stderr(&restore).contains("data/"), "{}", stderr(&restore));
        stderr(&out)
    };
    let templates = "data/templates.jsonl";
    let zone = forged("zone.tar.gz", templates, "Europe/Istanbul", "Mars/Olympus");
    assert!(
        zone.contains("data/templates.jsonl row 1: timezone: unknown time zone"),
        "{zone}"
    );
    let cron = forged("cron.tar.gz", templates, "0 9 * * *", "*/0 * * * *");
    assert!(
        cron.contains("data/templates.jsonl row 1: cron: "),
        "{cron}"
    );
    let long = "x".repeat(10_000);
    let text = forged(
        "text.tar.gz",
        templates,
        "\"hello\"",
        &format!("\"{long}\""),
    );
    assert!(
        text.contains("data/templates.jsonl row 1: text: 10000 UTF-16 code units"),
        "{text}"
    );
    let misfire = forged("misfire.tar.gz", templates, "\"once\"", "\"never\"");
    assert!(
        misfire.contains("data/templates.jsonl row 1: misfire: "),
        "{misfire}"
    );
    let target = forged(
        "target.tar.gz",
        "data/targets.jsonl",
        "@ops_channel",
        "@ops__channel",
    );
    assert!(
        target.contains("data/targets.jsonl row 1: spec: "),
        "{target}"
    );
    let state = forged(
        "state.tar.gz",
        "data/accounts.jsonl",
        "\"new\"",
        "\"bored\"",
    );
    assert!(
        state.contains("data/accounts.jsonl row 1: state: "),
        "{state}"
    );
    // The untouched archive still verifies.
    d.ctl_ok(&["backup", "verify", good.to_str().unwrap()]);
}
