//! The watchdog against a dispatcher that really stalls: another client
//! holds the write lock the dispatcher's claims need, so its loop blocks
//! and its heartbeat goes stale — the daemon stops sending `WATCHDOG=1`
//! (and says so at WARN) — then the lock goes, the loop turns and the
//! pings resume.

use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon};

use crate::write_lock::WriteLock;

const WAIT: Duration = Duration::from_secs(60);
const WITHHOLDING: &str = "withholding WATCHDOG=1";
const RESUMED: &str = "watchdog pings resumed";

/// Waits until `needle` is in the log more than `before` times.
fn wait_for_log(d: &TestDaemon, needle: &str, before: usize) {
    let deadline = Instant::now() + WAIT;
    while d.log().matches(needle).count() <= before {
        assert!(Instant::now() < deadline, "no {needle:?} in\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads every notify datagram that arrives within `window`.
fn drain(d: &mut TestDaemon, window: Duration) {
    let _ = d.wait_for_notify("NEVER-SENT=1", window);
}

fn watchdog_pings_stop_while_the_dispatcher_stalls_then_resume(db: Db) {
    let mut d = TestDaemon::builder(db)
        .env("WATCHDOG_USEC", "2000000")
        .config("[telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = 6000\n")
        .start();
    d.add_logged_in("ops", "+905321234567");
    // A template due every second: the dispatcher claims (writes) each turn.
    d.ctl_ok(&[
        "template",
        "create",
        "--account",
        "ops",
        "--name",
        "tick",
        "--every",
        "1s",
        "--chat",
        "@watchdog_room",
        "--text",
        "tick",
    ]);
    d.wait_for_notify("WATCHDOG=1", WAIT)
        .unwrap_or_else(|e| panic!("{e}"));
    // (A watchdog tick before the dispatcher's first turn may already have
    // withheld once at start-up.)
    let (withheld, resumed) = (
        d.log().matches(WITHHOLDING).count(),
        d.log().matches(RESUMED).count(),
    );

    let lock = WriteLock::hold(&d);
    wait_for_log(&d, WITHHOLDING, withheld);
    // Everything sent before the WARN line is queued by now; from here on
    // no ping may come while the lock holds.
    drain(&mut d, Duration::from_millis(200));
    let from = d.notifications().len();
    drain(&mut d, Duration::from_secs(3));
    let during: Vec<&String> = d.notifications()[from..]
        .iter()
        .filter(|m| m.contains("WATCHDOG=1"))
        .collect();
    assert!(during.is_empty(), "pinged while stalled: {during:?}");
    lock.release();
    d.wait_for_notify("WATCHDOG=1", WAIT)
        .unwrap_or_else(|e| panic!("no ping after the stall ended: {e}"));
    wait_for_log(&d, RESUMED, resumed);
}
microbot_tests::per_backend!(watchdog_pings_stop_while_the_dispatcher_stalls_then_resume);
