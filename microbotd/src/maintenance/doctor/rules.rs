//! The thresholds of `doctor`, as pure functions so each OK / WARN / FAIL
//! boundary is tested without filling a disk or waiting a week.

use std::time::Duration;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        }
    }
}

/// Free space: FAIL under 5 %, WARN under 15 %.
pub fn disk(free_pct: f64) -> Level {
    if free_pct < 5.0 {
        Level::Fail
    } else if free_pct < 15.0 {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// The newest backup's age: none or older than 7 days FAIL (a restore
/// would lose a week), older than 1 day WARN (the nightly run was missed).
pub fn backup_age(age: Option<Duration>) -> Level {
    const DAY: u64 = 24 * 3600;
    match age {
        None => Level::Fail,
        Some(a) if a.as_secs() > 7 * DAY => Level::Fail,
        Some(a) if a.as_secs() > DAY => Level::Warn,
        Some(_) => Level::Ok,
    }
}

/// Dead space over 20 % of the database: WARN (vacuum).
pub fn bloat(pct: f64) -> Level {
    if pct > 20.0 { Level::Warn } else { Level::Ok }
}

/// Retention: WARN when a finished delivery is more than two days past
/// `deliveries_days` (the daily prune is not happening).
pub fn retention(days: u32, oldest_finished_days: Option<i64>) -> Level {
    match oldest_finished_days {
        Some(age) if days > 0 && age > i64::from(days) + 2 => Level::Warn,
        _ => Level::Ok,
    }
}

/// How long the dispatcher may go without a turn (it beats at least every
/// 5 s) and how long after start it may take to turn the first time.
pub const HEARTBEAT_STALE: Duration = Duration::from_secs(60);

/// The dispatcher heartbeat: FAIL when its last turn is older than 60 s, or
/// when it never turned although the daemon has been up 60 s; WARN
/// "starting" before that.
pub fn heartbeat(last_ms: Option<i64>, now_ms: i64, uptime: Duration) -> (Level, String) {
    match last_ms {
        Some(t) => {
            let age = Duration::from_millis(u64::try_from(now_ms - t).unwrap_or(0));
            if age > HEARTBEAT_STALE {
                (
                    Level::Fail,
                    format!(
                        "last turned {} s ago: the scheduler is stuck (systemctl restart microbotd)",
                        age.as_secs()
                    ),
                )
            } else {
                (Level::Ok, format!("turned {} s ago", age.as_secs()))
            }
        }
        None if uptime < HEARTBEAT_STALE => (
            Level::Warn,
            format!("starting: no turn yet ({} s after start)", uptime.as_secs()),
        ),
        None => (
            Level::Fail,
            format!(
                "never turned in {} s since start: the scheduler is not running",
                uptime.as_secs()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn retention_lag() {
        assert_eq!(retention(90, None), Level::Ok);
        assert_eq!(retention(90, Some(92)), Level::Ok);
        assert_eq!(retention(90, Some(93)), Level::Warn);
        assert_eq!(retention(0, Some(9000)), Level::Ok);
    }

    use super::*;
    use crate::events::Heartbeat;

    #[test]
    fn disk_thresholds() {
        assert_eq!(disk(4.9), Level::Fail);
        assert_eq!(disk(5.0), Level::Warn);
        assert_eq!(disk(14.9), Level::Warn);
        assert_eq!(disk(15.0), Level::Ok);
    }

    #[test]
    fn backup_ages() {
        let h = |n: u64| Some(Duration::from_secs(n * 3600));
        assert_eq!(backup_age(None), Level::Fail);
        assert_eq!(backup_age(h(1)), Level::Ok);
        assert_eq!(backup_age(h(25)), Level::Warn);
        assert_eq!(backup_age(h(7 * 24 + 1)), Level::Fail);
    }

    #[test]
    fn bloat_threshold() {
        assert_eq!(bloat(20.0), Level::Ok);
        assert_eq!(bloat(20.1), Level::Warn);
    }

    #[test]
    fn heartbeat_set_by_hand() {
        let hb = Heartbeat::default();
        let now = 1_000_000_000;
        let (l, d) = heartbeat(hb.last(), now, Duration::from_secs(5));
        assert_eq!(l, Level::Warn);
        assert!(d.starts_with("starting"), "{d}");
        let (l, d) = heartbeat(hb.last(), now, Duration::from_secs(61));
        assert_eq!(l, Level::Fail);
        assert!(d.contains("never turned"), "{d}");
        hb.beat(now - 5_000);
        assert_eq!(
            heartbeat(hb.last(), now, Duration::from_secs(600)).0,
            Level::Ok
        );
        hb.beat(now - 61_000);
        let (l, d) = heartbeat(hb.last(), now, Duration::from_secs(600));
        assert_eq!(l, Level::Fail);
        assert!(d.contains("61 s ago"), "{d}");
    }
}
