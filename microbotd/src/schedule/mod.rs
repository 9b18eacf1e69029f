//! Schedule maths for templates: cron expressions, `every` intervals and
//! one-shot local times (`at`).
//!
//! Pure functions only (no I/O, no clock, no globals) so the dispatcher can
//! call [`Schedule::next_after`] for every template on each fire, and
//! `microbotctl cron validate` can explain an expression before it is saved.
//!
//! DST rule (docs/DESIGN.md, delivery point 4): slots are computed on the
//! template zone's wall clock. A wall time that does not exist fires once at
//! the first instant after the gap; an ambiguous one fires once, at its first
//! occurrence. Cron schedules whose hour field selects every hour (`*`,
//! `*/1`, `0-23`) instead follow real time like cronie: nonexistent minutes
//! are skipped and a repeated hour fires in both passes.
//!
//! Day fields follow crontab(5): if day-of-month and day-of-week both do not
//! start with `*`, a day matches when EITHER matches; otherwise both must.

mod cache;
mod cron;
mod duration;
mod error;
mod every;
mod field;
mod once;
pub mod tzscan;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use self::cache::CronCache;
pub use self::cron::CronSchedule;
pub use self::duration::{format_duration, parse_duration};
pub use self::error::{CronField, ScheduleError};
pub use self::every::{EverySchedule, MAX_INTERVAL};
pub use self::once::OnceSchedule;
pub use self::validate::{RateContext, Validation, validate, validate_every, validate_schedule};

/// When a template fires.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Standard 5-field cron in a time zone.
    Cron(CronSchedule),
    /// A fixed real-time interval from an anchor instant.
    Every(EverySchedule),
    /// Once, at a local date and time in a zone.
    Once(OnceSchedule),
}

impl Schedule {
    /// Parses a 5-field cron expression (or `@daily`-style macro) in `tz`.
    pub fn cron(expr: &str, tz: Tz) -> Result<Schedule, ScheduleError> {
        CronSchedule::parse(expr, tz).map(Schedule::Cron)
    }

    /// Fires at `anchor`, then every `interval` (1 s to 366 d).
    pub fn every(interval: Duration, anchor: DateTime<Utc>) -> Result<Schedule, ScheduleError> {
        EverySchedule::new(interval, anchor).map(Schedule::Every)
    }

    /// Fires once, at the local date and time `local` in `tz`.
    pub fn once(local: &str, tz: Tz) -> Result<Schedule, ScheduleError> {
        OnceSchedule::parse(local, tz).map(Schedule::Once)
    }

    /// Parses the CLI/stored form: `every <duration>`, `at <local time>` or
    /// a cron expression. `anchor` is only used for `every`.
    pub fn parse(spec: &str, tz: Tz, anchor: DateTime<Utc>) -> Result<Schedule, ScheduleError> {
        let spec = spec.trim();
        match spec.split_once(char::is_whitespace) {
            Some((head, rest)) if head.eq_ignore_ascii_case("every") => {
                Schedule::every(parse_duration(rest)?, anchor)
            }
            Some((head, rest)) if head.eq_ignore_ascii_case("at") => Schedule::once(rest, tz),
            _ => Schedule::cron(spec, tz),
        }
    }

    /// The first fire strictly after `t`, or `None` if there is none (a
    /// cron that never matches, or beyond the year 4000).
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron(c) => c.next_after(t),
            Schedule::Every(e) => e.next_after(t),
            Schedule::Once(o) => o.next_after(t),
        }
    }

    /// True when the schedule can never fire (a one-shot in the past is
    /// not "never": it fired, or was due, once).
    pub fn never_fires(&self) -> bool {
        match self {
            Schedule::Cron(c) => c.never_fires(),
            Schedule::Every(_) | Schedule::Once(_) => false,
        }
    }
}

impl fmt::Display for Schedule {
    /// The same form [`Schedule::parse`] reads (the zone and anchor are
    /// stored separately).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Cron(c) => f.write_str(c.expr()),
            Schedule::Every(e) => write!(f, "every {}", format_duration(e.interval())),
            Schedule::Once(o) => write!(f, "at {}", o.expr()),
        }
    }
}

/// Parses an IANA zone name with a message fit for the operator.
pub fn parse_tz(name: &str) -> Result<Tz, ScheduleError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| ScheduleError::UnknownTimeZone(name.to_owned()))
}
