//! `[retention] deliveries_days` through the real binaries: finished
//! deliveries older than the setting are pruned (at start-up, then daily),
//! the outbox is never touched, and `doctor` shows it, on every backend.

use microbot_tests::daemon::{Db, TestDaemon};

use crate::doctor::{doctor, now_ms, result_of};
use crate::maintenance::sql;

const DAY: i64 = 86_400_000;

/// A delivery row `days` old in `state`.
fn old_row(d: &TestDaemon, slot: i64, state: &str, days: i64) {
    let at = now_ms() - days * DAY;
    sql(
        d,
        &format!(
            "INSERT INTO deliveries (account_id, template_id, target_id, slot, state, random_id, \
             created_at, updated_at) VALUES (1, 1, 1, {slot}, '{state}', {slot}, {at}, {at})"
        ),
    );
}

fn states(d: &TestDaemon) -> String {
    sql(d, "SELECT state FROM deliveries ORDER BY slot")
}

fn old_finished_deliveries_are_pruned_and_doctor_says_so(db: Db) {
    // Retention off while the rows go in: no prune can race the setup.
    let mut d = TestDaemon::builder(db)
        .config("[retention]\ndeliveries_days = 0\n")
        .start();
    old_row(&d, 1, "sent", 40);
    old_row(&d, 2, "failed", 31);
    old_row(&d, 3, "pending", 40);
    old_row(&d, 4, "sent", 29);
    old_row(&d, 5, "missed", 400);
    let (_, v) = doctor(&d);
    let (level, detail) = result_of(&v, "retention");
    assert_eq!(level, "OK", "{db:?}: {detail}");
    assert!(
        detail.contains("oldest finished delivery 400 d old"),
        "{detail}"
    );
    // 30 days from the next start: the prune runs at start-up.
    d.terminate();
    let config = std::fs::read_to_string(&d.config_path).unwrap();
    std::fs::write(
        &d.config_path,
        config.replace("deliveries_days = 0", "deliveries_days = 30"),
    )
    .unwrap();
    d.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while states(&d) != "pending\nsent" && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(states(&d), "pending\nsent", "{db:?}");
    // The prune's record is written right after its deletes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let detail = loop {
        let (level, detail) = result_of(&doctor(&d).1, "retention");
        if detail.contains("last pruned") || std::time::Instant::now() > deadline {
            assert_eq!(level, "OK", "{db:?}: {detail}");
            break detail;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        detail.starts_with("finished deliveries older than 30 d are pruned daily; last pruned "),
        "{detail}"
    );
    assert!(detail.contains("(3 removed)"), "{detail}");
    assert!(
        detail.contains("oldest finished delivery 29 d old"),
        "{detail}"
    );
}
microbot_tests::per_backend!(old_finished_deliveries_are_pruned_and_doctor_says_so);

fn zero_keeps_everything(db: Db) {
    let mut d = TestDaemon::builder(db)
        .config("[retention]\ndeliveries_days = 0\n")
        .start();
    old_row(&d, 1, "sent", 4000);
    d.terminate();
    d.spawn().unwrap();
    let (_, v) = doctor(&d);
    let (level, detail) = result_of(&v, "retention");
    assert_eq!(level, "OK");
    assert!(
        detail.starts_with("deliveries are kept forever"),
        "{detail}"
    );
    assert_eq!(states(&d), "sent");
}
microbot_tests::per_backend!(zero_keeps_everything);
