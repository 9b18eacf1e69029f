//! The systemd watchdog: `WATCHDOG=1` every `WatchdogSec/2`, but only while
//! the dispatcher's [`Heartbeat`] is fresh. A hung dispatcher stops the pings
//! and systemd kills and restarts the daemon — what the seed runbook's
//! "restart it nightly" was papering over.
//!
//! # Lifecycle
//! [`interval`] reads `WATCHDOG_USEC` once; when it is set, `run` spawns
//! [`run`] next to the control server and drops it at shutdown.

use std::time::Duration;

use std::sync::Arc;

use crate::clock::Clock;
use crate::events::Heartbeat;

/// The watchdog timeout systemd asked for (`WATCHDOG_USEC`, for this pid), if any.
pub fn interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}

/// Whether the dispatcher has turned recently enough to vouch for the daemon:
/// its last beat is younger than `max_age`. Never beaten means no.
pub fn is_alive(last_beat_ms: Option<i64>, now_ms: i64, max_age: Duration) -> bool {
    let Some(last) = last_beat_ms else {
        return false;
    };
    let age = now_ms.saturating_sub(last);
    // A beat "from the future" (clock stepped back) still proves the loop ran.
    age < i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX)
}

/// Pings every `timeout / 2` while the heartbeat is younger than `timeout`.
/// Runs until dropped. `ping` sends `WATCHDOG=1` (a parameter for tests).
/// `clock` is the one the dispatcher beats with (`Context::clock`).
pub async fn run(
    heartbeat: Heartbeat,
    clock: Arc<dyn Clock>,
    timeout: Duration,
    mut ping: impl FnMut(),
) {
    let mut tick = tokio::time::interval(timeout / 2);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut withholding = false;
    loop {
        tick.tick().await;
        let last = heartbeat.last();
        let now = clock.now().timestamp_millis();
        if is_alive(last, now, timeout) {
            if withholding {
                tracing::info!("dispatcher turning again; watchdog pings resumed");
                withholding = false;
            }
            ping();
        } else if !withholding {
            withholding = true;
            let since = match last {
                Some(ms) => format!("for {} s", now.saturating_sub(ms) / 1000),
                None => "yet".to_string(),
            };
            tracing::warn!(
                watchdog_sec = timeout.as_secs(),
                "the dispatcher has not turned {since}; withholding WATCHDOG=1 \
                 (systemd restarts microbotd when the watchdog expires)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_secs(30);

    #[test]
    fn never_beaten_is_not_alive() {
        assert!(!is_alive(None, 1_000_000, T));
    }

    #[test]
    fn fresh_beat_is_alive_stale_is_not() {
        let now = 10_000_000;
        assert!(is_alive(Some(now), now, T));
        assert!(is_alive(Some(now - 5_000), now, T));
        assert!(is_alive(Some(now - 29_999), now, T));
        assert!(!is_alive(Some(now - 30_000), now, T));
        assert!(!is_alive(Some(now - 3_600_000), now, T));
    }

    #[test]
    fn beat_ahead_of_the_clock_counts() {
        assert!(is_alive(Some(2_000), 1_000, T));
    }

    /// Counts pings over 10 s of (paused, auto-advancing) tokio time with a
    /// 2 s watchdog, calling `beat` every second.
    async fn pings_over(beat: impl Fn(&Heartbeat, i64)) -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let hb = Heartbeat::default();
        let clock: Arc<dyn Clock> = Arc::new(crate::clock::SystemClock);
        let task = tokio::spawn(run(
            hb.clone(),
            clock.clone(),
            Duration::from_secs(2),
            move || {
                c.fetch_add(1, Ordering::SeqCst);
            },
        ));
        for _ in 0..10 {
            beat(&hb, clock.now().timestamp_millis());
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        task.abort();
        count.load(Ordering::SeqCst)
    }

    #[tokio::test(start_paused = true)]
    async fn a_heartbeat_that_never_beats_gets_no_ping() {
        assert_eq!(pings_over(|_, _| {}).await, 0);
    }

    /// A heartbeat that beats, stalls for 10 s, then beats again, on a
    /// test clock moved with (paused) tokio time: the pings stop while it
    /// is stale and come back after. (With the real wall clock under paused
    /// time a heartbeat could never go stale.)
    #[tokio::test(start_paused = true)]
    async fn pings_stop_while_the_heartbeat_is_stale_then_resume() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let hb = Heartbeat::default();
        let clock = Arc::new(crate::clock::OffsetClock::starting_at(chrono::Utc::now()));
        let task = tokio::spawn(run(
            hb.clone(),
            clock.clone(),
            Duration::from_secs(2),
            move || {
                c.fetch_add(1, Ordering::SeqCst);
            },
        ));
        let phase = |beating: bool| {
            let (hb, clock, count) = (hb.clone(), clock.clone(), count.clone());
            async move {
                let before = count.load(Ordering::SeqCst);
                for _ in 0..10 {
                    if beating {
                        hb.beat(clock.now().timestamp_millis());
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    clock.advance(chrono::Duration::seconds(1));
                }
                count.load(Ordering::SeqCst) - before
            }
        };
        let first = phase(true).await;
        let stalled = phase(false).await;
        let again = phase(true).await;
        task.abort();
        assert!(first >= 8, "{first} pings in 10 s of beats");
        // Up to 2 s of the stall the last beat still vouches.
        assert!(stalled <= 2, "{stalled} pings in 10 s of stall");
        assert!(again >= 8, "{again} pings after the stall");
    }

    #[tokio::test(start_paused = true)]
    async fn a_beating_heartbeat_gets_pings() {
        let pings = pings_over(|hb, now| hb.beat(now)).await;
        assert!(pings >= 5, "{pings} pings in 10 s at a 1 s period");
    }
}
