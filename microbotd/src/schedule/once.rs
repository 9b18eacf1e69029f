//! [`OnceSchedule`]: a one-shot schedule, a local date and time in a zone
//! (`--at 2026-12-01T10:00`). It fires once; after that `next_after` has
//! nothing and the template is finished.
//!
//! The DST rules are cron's (docs/DESIGN.md, delivery point 4): a local
//! time in a spring-forward gap fires at the first instant after the gap,
//! an ambiguous one (fall back) at its first occurrence; both come with a
//! warning that `cron validate --at` shows.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::ScheduleError;

/// The forms `--at` accepts (seconds optional; a space may stand for `T`).
const FORMATS: [&str; 4] = [
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
];

/// Longest DST gap looked past (real ones are an hour, rarely two).
const MAX_GAP_MINUTES: i64 = 24 * 60;

/// One local date and time in a zone, and the instant it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnceSchedule {
    local: NaiveDateTime,
    instant: DateTime<Utc>,
    /// Set when DST moved the instant (gap) or chose it (fold).
    warning: Option<String>,
}

impl OnceSchedule {
    /// Reads `2026-12-01T10:00` (or with seconds) as a wall time in `tz`.
    pub fn parse(input: &str, tz: Tz) -> Result<OnceSchedule, ScheduleError> {
        let t = input.trim();
        let local = FORMATS
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
            .ok_or_else(|| ScheduleError::BadLocalTime(t.to_owned()))?;
        let shown = canonical(local);
        let (instant, warning) = match tz.from_local_datetime(&local) {
            LocalResult::Single(x) => (x.with_timezone(&Utc), None),
            LocalResult::Ambiguous(first, second) => (
                first.with_timezone(&Utc),
                Some(format!(
                    "{shown} happens twice in {tz} (clocks go back): it fires once, at the first \
                     ({}), not at the second ({})",
                    first.to_rfc3339(),
                    second.to_rfc3339()
                )),
            ),
            LocalResult::None => {
                let after = (1..=MAX_GAP_MINUTES)
                    .find_map(|m| {
                        let probe = local + TimeDelta::minutes(m);
                        let floor = probe.with_second(0)?.with_nanosecond(0)?;
                        tz.from_local_datetime(&floor).earliest()
                    })
                    .ok_or_else(|| ScheduleError::BadLocalTime(t.to_owned()))?;
                (
                    after.with_timezone(&Utc),
                    Some(format!(
                        "{shown} does not exist in {tz} (clocks go forward): it fires at the \
                         first instant after the gap, {}",
                        after.to_rfc3339()
                    )),
                )
            }
        };
        Ok(OnceSchedule {
            local,
            instant,
            warning,
        })
    }

    /// The stored form: `2026-12-01T10:00`, with `:SS` only when not zero.
    pub fn expr(&self) -> String {
        canonical(self.local)
    }

    /// The instant it fires.
    pub fn instant(&self) -> DateTime<Utc> {
        self.instant
    }

    /// The DST warning, if DST moved or chose the instant.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// The instant, if it is after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (self.instant > t).then_some(self.instant)
    }
}

fn canonical(local: NaiveDateTime) -> String {
    if local.second() == 0 {
        local.format("%Y-%m-%dT%H:%M").to_string()
    } else {
        local.format("%Y-%m-%dT%H:%M:%S").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_local_time_is_one_instant_in_its_zone() {
        let o = OnceSchedule::parse(" 2026-12-01 10:00 ", Tz::Europe__Istanbul).unwrap();
        assert_eq!(o.instant(), utc("2026-12-01T07:00:00Z"));
        assert_eq!(o.expr(), "2026-12-01T10:00");
        assert!(o.warning().is_none());
        assert_eq!(o.next_after(utc("2026-12-01T06:59:59Z")), Some(o.instant()));
        assert_eq!(o.next_after(o.instant()), None, "fires once");
        let o = OnceSchedule::parse("2026-12-01T10:00:30", Tz::UTC).unwrap();
        assert_eq!(o.expr(), "2026-12-01T10:00:30");
        for bad in ["2026-13-01T10:00", "tomorrow", "2026-12-01", "10:00"] {
            assert!(OnceSchedule::parse(bad, Tz::UTC).is_err(), "{bad}");
        }
    }

    #[test]
    fn dst_gap_and_fold_follow_the_cron_rules_with_a_warning() {
        // Berlin springs forward 2027-03-28 02:00 → 03:00.
        let gap = OnceSchedule::parse("2027-03-28T02:30", Tz::Europe__Berlin).unwrap();
        assert_eq!(gap.instant(), utc("2027-03-28T01:00:00Z"));
        assert!(gap.warning().unwrap().contains("does not exist"), "{gap:?}");
        // And falls back 2027-10-31 03:00 → 02:00: 02:30 happens twice.
        let fold = OnceSchedule::parse("2027-10-31T02:30", Tz::Europe__Berlin).unwrap();
        assert_eq!(fold.instant(), utc("2027-10-31T00:30:00Z"));
        assert!(
            fold.warning().unwrap().contains("happens twice"),
            "{fold:?}"
        );
    }
}
