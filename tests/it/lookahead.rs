//! Claiming ahead (`scheduler.lookahead`) through the real binaries in
//! dry-run mode: a daemon killed inside the window sends the claimed slot
//! at its instant after the restart — not early, not twice — and an edit
//! inside the window never lets the old text out.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::Value;

/// `every 12s` with a 10 s lookahead: each slot is claimed about 10 s
/// before it, leaving seconds to act inside the window.
fn daemon(db: Db) -> TestDaemon {
    let d = TestDaemon::builder(db)
        .config("[telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = 600\n[scheduler]\nlookahead = \"10s\"\n")
        .start();
    d.add_logged_in("ahead", "+905321234567");
    d
}

fn create(d: &TestDaemon, text: &str) -> String {
    let t = d.ctl_json(&[
        "template",
        "create",
        "--account",
        "ahead",
        "--name",
        "t",
        "--chat",
        "@ahead_chat",
        "--every",
        "12s",
        "--text",
        text,
    ]);
    t["id"].to_string()
}

fn deliveries(d: &TestDaemon) -> Vec<Value> {
    d.ctl_json(&["deliveries", "list", "--account", "ahead", "--limit", "0"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn slot_of(row: &Value) -> DateTime<Utc> {
    row["slot"].as_str().unwrap().parse().unwrap()
}

/// Waits for a `pending` row whose slot is still ahead (claimed early).
fn claimed_ahead(d: &TestDaemon) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(r) = deliveries(d)
            .into_iter()
            .find(|r| r["state"] == "pending" && slot_of(r) > Utc::now())
        {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "no row claimed ahead:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the delivery `id` is `sent`.
fn sent(d: &TestDaemon, id: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(r) = deliveries(d).into_iter().find(|r| &r["id"] == id)
            && r["state"] == "sent"
        {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "delivery {id} not sent:\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn same_second(a: &str, b: DateTime<Utc>) -> bool {
    a.parse::<DateTime<Utc>>()
        .is_ok_and(|t| t.timestamp() == b.timestamp())
}

fn killed_inside_the_window_sends_at_the_slot_once(db: Db) {
    let mut d = daemon(db);
    let id = create(&d, "hello");
    let row = claimed_ahead(&d);
    let slot = slot_of(&row);
    d.kill9();
    d.spawn().expect("restart after kill -9");
    sent(&d, &row["id"]);
    d.ctl_ok(&["template", "disable", &id]);
    let entries: Vec<Value> = d
        .ledger()
        .into_iter()
        .filter(|e| same_second(e["slot"].as_str().unwrap(), slot))
        .collect();
    assert_eq!(entries.len(), 1, "one message for the slot: {entries:?}");
    let at: DateTime<Utc> = entries[0]["sent_at"].as_str().unwrap().parse().unwrap();
    assert!(at >= slot, "sent at {at}, before its slot {slot}");
}

fn an_edit_inside_the_window_never_sends_the_old_text(db: Db) {
    let d = daemon(db);
    let id = create(&d, "old text");
    let row = claimed_ahead(&d);
    let slot = slot_of(&row);
    assert!(slot > Utc::now(), "still inside the window");
    d.ctl_ok(&["template", "edit", &id, "--text", "new text"]);
    sent(&d, &row["id"]);
    d.ctl_ok(&["template", "disable", &id]);
    let entries = d.ledger();
    assert!(
        entries.iter().all(|e| e["text"] != "old text"),
        "the old text went out after the edit: {entries:?}"
    );
    let at_slot: Vec<&Value> = entries
        .iter()
        .filter(|e| same_second(e["slot"].as_str().unwrap(), slot))
        .collect();
    assert_eq!(at_slot.len(), 1, "{entries:?}");
    assert_eq!(at_slot[0]["text"], "new text");
}

microbot_tests::per_backend!(
    killed_inside_the_window_sends_at_the_slot_once,
    an_edit_inside_the_window_never_sends_the_old_text,
);
