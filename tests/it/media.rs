//! Attachments (`--photo`, `--video`, `--document`) through the real
//! binaries in dry-run: what the ledger records (kind, name and the SHA-256
//! of the bytes the daemon loaded from its database), albums and
//! `--replace-previous` deleting every item of the previous post, `show`,
//! refusals that write nothing, export → apply, and a backup restored into
//! every backend sending the same bytes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon, ledger_messages};
use serde_json::{Value, json};

use crate::maintenance::{sql, stderr};
use crate::send_options::drained;

pub(crate) fn dry_run(db: Db, extra: &str) -> TestDaemon {
    TestDaemon::builder(db)
        .config(&format!(
            "[telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = 6000\n{extra}"
        ))
        .start()
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes a file into the test's directory; returns its path and digest.
pub(crate) fn file(d: &TestDaemon, name: &str, bytes: &[u8]) -> (PathBuf, String) {
    let path = d.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (path, sha256(bytes))
}

pub(crate) fn png(tag: &str) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend(format!("image data {tag}").as_bytes());
    b
}

pub(crate) fn mp4(tag: &str) -> Vec<u8> {
    let mut b = b"\0\0\0\x18ftypisom".to_vec();
    b.extend(format!("video data {tag}").as_bytes());
    b
}

fn wait_for(d: &TestDaemon, template: i64, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger_messages(&d.ledger(), template).len() < n {
        assert!(Instant::now() < deadline, "no sends:\n{}", d.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn create(d: &TestDaemon, name: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "template",
        "create",
        "--account",
        "poster",
        "--name",
        name,
        "--every",
        "1s",
    ];
    args.extend(extra);
    d.ctl_json(&args)
}

pub(crate) fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// (kind, file_name, sha256) of a ledger line's attachments.
fn attached(m: &Value) -> Vec<(String, String, String)> {
    m["attachments"]
        .as_array()
        .unwrap_or_else(|| panic!("no attachments: {m}"))
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_owned(),
                a["file_name"].as_str().unwrap().to_owned(),
                a["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn owned(v: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    v.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

fn photo_album_and_document_reach_the_ledger_with_their_bytes(db: Db) {
    let d = dry_run(db, "");
    d.add_logged_in("poster", "+905321234567");
    let (photo, photo_sha) = file(&d, "chart.png", &png("chart"));
    let (a, a_sha) = file(&d, "a.png", &png("a"));
    let (b, b_sha) = file(&d, "b.mp4", &mp4("b"));
    let (c, c_sha) = file(&d, "c.png", &png("c"));
    let (doc, doc_sha) = file(&d, "report.pdf", b"%PDF-1.4 weekly report");

    let t = create(
        &d,
        "photo",
        &[
            "--chat",
            "@photo_room",
            "--text",
            "status at {time}",
            "--photo",
            p(&photo),
            "--silent",
        ],
    );
    let shown = &t["attachments"][0];
    assert_eq!(
        (&shown["kind"], &shown["file_name"], &shown["sha256"]),
        (&json!("photo"), &json!("chart.png"), &json!(photo_sha)),
        "{t}"
    );
    assert_eq!(shown["size"], png("chart").len(), "{t}");
    let photo_id = t["id"].as_i64().unwrap();
    // Order across the three flags is kept: photo, video, photo.
    let album_id = create(
        &d,
        "album",
        &[
            "--chat",
            "@album_room",
            "--text",
            "the album",
            "--photo",
            p(&a),
            "--video",
            p(&b),
            "--photo",
            p(&c),
            "--no-preview",
            "--replace-previous",
        ],
    )["id"]
        .as_i64()
        .unwrap();
    let doc_id = create(
        &d,
        "doc",
        &[
            "--chat",
            "@doc_room",
            "--text",
            "report",
            "--document",
            p(&doc),
            "--silent",
            "--no-preview",
        ],
    )["id"]
        .as_i64()
        .unwrap();
    wait_for(&d, photo_id, 1);
    wait_for(&d, doc_id, 1);
    wait_for(&d, album_id, 3);
    for id in [photo_id, album_id, doc_id] {
        d.ctl_ok(&["template", "disable", &id.to_string()]);
    }
    drained(&d);
    let lines = d.ledger();

    let m = &ledger_messages(&lines, photo_id)[0];
    assert_eq!(
        attached(m),
        owned(&[("photo", "chart.png", &photo_sha)]),
        "{m}"
    );
    assert!(m["text"].as_str().unwrap().starts_with("status at "), "{m}");
    assert_eq!(
        (&m["silent"], m.get("no_preview")),
        (&json!(true), None),
        "{m}"
    );
    assert!(m.get("album_ids").is_none(), "a single photo: {m}");

    let m = &ledger_messages(&lines, doc_id)[0];
    assert_eq!(
        attached(m),
        owned(&[("document", "report.pdf", &doc_sha)]),
        "{m}"
    );
    assert_eq!(
        (&m["silent"], &m["no_preview"]),
        (&json!(true), &json!(true))
    );

    let albums = ledger_messages(&lines, album_id);
    for m in &albums {
        assert_eq!(
            attached(m),
            owned(&[
                ("photo", "a.png", &a_sha),
                ("video", "b.mp4", &b_sha),
                ("photo", "c.png", &c_sha)
            ]),
            "{m}"
        );
        assert_eq!((&m["no_preview"], m.get("silent")), (&json!(true), None));
        assert_eq!(m["text"], "the album");
        assert_eq!(m["album_ids"].as_array().unwrap().len(), 2, "{m}");
    }
    // deliveries list and stats --by template say what each one sends.
    let rows = d.ctl_json(&["deliveries", "list", "--account", "poster", "--limit", "0"]);
    for (template, kind) in [("photo", "photo"), ("album", "album"), ("doc", "document")] {
        let kinds: Vec<&Value> = rows
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["template"] == template)
            .map(|r| &r["kind"])
            .collect();
        assert!(
            !kinds.is_empty() && kinds.iter().all(|k| **k == kind),
            "{template}: {rows}"
        );
        let stats = d.ctl_json(&["stats", "--by", "template"]);
        let row = stats
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["template"] == template)
            .unwrap_or_else(|| panic!("{stats}"));
        assert_eq!(row["kind"], kind, "{row}");
    }
    // Each album but the newest was deleted, every item of it.
    let deleted: Vec<i64> = lines
        .iter()
        .filter(|l| l["action"] == "delete" && l["chat"] == "@album_room")
        .map(|l| l["message_id"].as_i64().unwrap())
        .collect();
    let mut want = Vec::new();
    for m in &albums[..albums.len() - 1] {
        want.push(m["message_id"].as_i64().unwrap());
        want.extend(
            m["album_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_i64().unwrap()),
        );
    }
    assert_eq!(deleted, want, "{lines:?}");
}
microbot_tests::per_backend!(photo_album_and_document_reach_the_ledger_with_their_bytes);

fn export_apply_is_a_no_op_and_a_restored_backup_sends_the_same_bytes(src_db: Db, dst_db: Db) {
    let src = dry_run(src_db, "");
    src.add_logged_in("poster", "+905321234567");
    let (a, a_sha) = file(&src, "a.png", &png("restored a"));
    let (b, b_sha) = file(&src, "b.png", &png("restored b"));
    let t = create(
        &src,
        "pics",
        &[
            "--chat",
            "@restore_room",
            "--text",
            "pics",
            "--photo",
            p(&a),
            "--photo",
            p(&b),
        ],
    );
    let id = t["id"].as_i64().unwrap().to_string();
    src.ctl_ok(&["template", "disable", &id]);

    // Export writes each file beside the template file, named by digest;
    // apply of the same file is a no-op.
    let dir = src.dir.path().join("export");
    std::fs::create_dir(&dir).unwrap();
    let exported = dir.join("t.toml");
    src.ctl_ok(&["template", "export", "-f", p(&exported)]);
    let text = std::fs::read_to_string(&exported).unwrap();
    let beside = |sha: &str, name: &str| format!("media/{}/{name}", &sha[..12]);
    for (sha, name, bytes) in [
        (&a_sha, "a.png", png("restored a")),
        (&b_sha, "b.png", png("restored b")),
    ] {
        assert!(
            text.contains(sha.as_str()) && text.contains(&beside(sha, name)),
            "{text}"
        );
        assert_eq!(std::fs::read(dir.join(beside(sha, name))).unwrap(), bytes);
    }
    let plan = src.ctl_json(&["template", "apply", "-f", p(&exported)]);
    assert_eq!(
        (&plan["unchanged"], &plan["changes"]),
        (&json!(1), &json!([])),
        "{plan}"
    );
    // A file beside the template file that changed is noticed.
    std::fs::write(dir.join(beside(&b_sha, "b.png")), png("changed")).unwrap();
    let out = src.ctl(&["template", "apply", "-f", p(&exported)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("b.png changed"), "{}", stderr(&out));
    // A new file named with its digest replaces b.png: apply sends it,
    // and the file b.png's bytes were is forgotten.
    let (c, c_sha) = file(&src, "c.png", &png("new c"));
    std::fs::copy(&c, dir.join("c.png")).unwrap();
    let with_c = text
        .replace(&beside(&b_sha, "b.png"), "c.png")
        .replace(&b_sha, &c_sha);
    std::fs::write(&exported, &with_c).unwrap();
    let plan = src.ctl_json(&["template", "apply", "-f", p(&exported)]);
    assert_eq!(
        plan["changes"][0]["details"],
        json!([r#"attachments ["photo a.png", "photo b.png"] → ["photo a.png", "photo c.png"]"#]),
        "{plan}"
    );
    let shown = src.ctl_json(&["template", "show", &id])["attachments"].clone();
    assert_eq!(shown[1]["sha256"], json!(c_sha), "{shown}");
    assert_eq!(
        sql(&src, "SELECT COUNT(*) FROM media"),
        "2",
        "b.png's bytes are gone"
    );
    // A digest the database lacks, with no file beside, is refused.
    std::fs::remove_file(dir.join("c.png")).unwrap();
    std::fs::write(&exported, with_c.replace(&a_sha, &"0".repeat(64))).unwrap();
    std::fs::remove_dir_all(dir.join("media")).unwrap();
    let out = src.ctl(&["template", "apply", "-f", p(&exported)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("a.png: no stored file has sha256"),
        "{}",
        stderr(&out)
    );

    let backup = src.dir.path().join("b.tar.gz");
    src.ctl_ok(&["backup", "create", "--output", p(&backup)]);
    let dst = dry_run(dst_db, "");
    dst.ctl_ok(&["backup", "restore", p(&backup)]);
    assert_eq!(
        dst.ctl_json(&["template", "show", &id])["attachments"],
        shown,
        "{src_db:?} → {dst_db:?}"
    );
    dst.ctl_ok(&["scheduler", "start", "--all"]);
    dst.ctl_ok(&["template", "enable", &id]);
    let id: i64 = id.parse().unwrap();
    wait_for(&dst, id, 1);
    let m = &ledger_messages(&dst.ledger(), id)[0];
    assert_eq!(
        attached(m),
        owned(&[("photo", "a.png", &a_sha), ("photo", "c.png", &c_sha)]),
        "{src_db:?} → {dst_db:?}: {m}"
    );
}
microbot_tests::per_backend_pair!(
    export_apply_is_a_no_op_and_a_restored_backup_sends_the_same_bytes
);
