//! Attachments refused — too large, too many, a caption too long, a
//! directory, an unreadable file, bytes that are not the kind's, an album
//! mixing documents with photos — each with exit 1, one line, and nothing
//! written (templates and the media table compared before and after).

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::{Value, json};

use crate::maintenance::{sql, stderr};
use crate::media::{dry_run, file, p, png};

/// Everything the database holds of templates and files, to compare
/// before and after a refusal.
fn snapshot(d: &TestDaemon) -> (Value, String) {
    (
        d.ctl_json(&["template", "list"]),
        sql(
            d,
            "SELECT COUNT(*) || ' ' || COALESCE(SUM(size), 0) FROM media",
        ),
    )
}

fn refused(d: &TestDaemon, args: &[&str], want: &str) {
    let before = snapshot(d);
    let out = d.ctl(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: {err}");
    assert_eq!(
        err.lines().filter(|l| !l.starts_with("hint:")).count(),
        1,
        "one line: {err}"
    );
    assert_eq!(snapshot(d), before, "{args:?} wrote something");
}

fn bad_attachments_are_refused_and_write_nothing(db: Db) {
    let d = dry_run(db, "[templates]\nmax_media_bytes = \"1KiB\"\n");
    d.ctl_ok(&["account", "add", "poster", "--phone", "+905321234567"]);
    let (photo, _) = file(&d, "ok.png", &png("ok"));
    let mut big = png("big");
    big.resize(1025, b'x');
    let (big, _) = file(&d, "big.png", &big);
    let (text, _) = file(&d, "notes.png", b"just some text");
    let (video_png, _) = file(&d, "clip.mp4", &png("not a video"));
    let (doc, _) = file(&d, "r.pdf", b"%PDF-1.4");
    let dir = d.dir.path().join("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let missing = d.dir.path().join("missing.png");
    let base = [
        "template",
        "create",
        "--account",
        "poster",
        "--name",
        "t",
        "--chat",
        "@media_room",
        "--cron",
        "0 9 * * *",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    let run = |extra: &[&str], want: &str| {
        let args = with(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&d, &args, want);
    };
    run(
        &["--text", "hi", "--photo", p(&big)],
        "big.png is 1025 bytes; a file may be at most 1024 (templates.max_media_bytes)",
    );
    let eleven: Vec<&str> = (0..11).flat_map(|_| ["--photo", p(&photo)]).collect();
    let mut args = vec!["--text", "hi"];
    args.extend(eleven);
    run(&args, "11 attachments; a message may carry at most 10");
    let long = "a".repeat(1025);
    run(
        &["--text", &long, "--photo", p(&photo)],
        "1025 UTF-16 code units; with attachments the text is their caption, at most 1024",
    );
    run(
        &["--text", "hi", "--photo", p(&dir)],
        "not a regular file, refused",
    );
    run(&["--text", "hi", "--photo", p(&missing)], "cannot read");
    run(
        &["--text", "hi {name}", "--photo", p(&photo)],
        "unknown placeholder {name}",
    );
    run(
        &["--text", "hi", "--photo", p(&text)],
        "notes.png is not a JPEG, PNG or WebP image",
    );
    run(
        &["--text", "hi", "--video", p(&video_png)],
        "clip.mp4 is not an MP4",
    );
    run(
        &["--text", "hi", "--photo", p(&photo), "--document", p(&doc)],
        "an album is photos and videos, or documents only",
    );
    assert_eq!(snapshot(&d).0, json!([]));

    // Edits: a refused one changes nothing; --no-attachments drops the
    // files and the database forgets them.
    let t = d.ctl_json(
        &with(&["--text", "hi", "--photo", p(&photo)])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let id = t["id"].as_i64().unwrap().to_string();
    refused(
        &d,
        &["template", "edit", &id, "--photo", p(&big)],
        "templates.max_media_bytes",
    );
    assert_eq!(sql(&d, "SELECT COUNT(*) FROM media"), "1");
    let t = d.ctl_json(&["template", "edit", &id, "--no-attachments"]);
    assert_eq!(t["attachments"], json!([]), "{t}");
    assert_eq!(sql(&d, "SELECT COUNT(*) FROM media"), "0");
    let out = d.ctl(&[
        "template",
        "edit",
        &id,
        "--no-attachments",
        "--photo",
        p(&photo),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a usage error: {}",
        stderr(&out)
    );
}
microbot_tests::per_backend!(bad_attachments_are_refused_and_write_nothing);
