//! Tests for the schedule module: a corpus of known fire times, DST
//! properties over every transition 2020-2035 of many zones, validation
//! warnings and property tests for the parsers.

mod corpus;
mod dst;
mod props;
mod validate;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::Schedule;

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("bad test time {s}: {e}"))
        .with_timezone(&Utc)
}

pub(super) fn tz(name: &str) -> Tz {
    name.parse()
        .unwrap_or_else(|_| panic!("unknown zone {name}"))
}

/// The next `n` fires after `from`, as RFC 3339 in the schedule's zone.
pub(super) fn fires(expr: &str, zone: &str, from: &str, n: usize) -> Vec<String> {
    let z = tz(zone);
    let s = Schedule::cron(expr, z).unwrap_or_else(|e| panic!("{expr}: {e}"));
    let mut t = utc(from);
    let mut out = Vec::new();
    for _ in 0..n {
        let Some(x) = s.next_after(t) else { break };
        out.push(z.from_utc_datetime(&x.naive_utc()).to_rfc3339());
        t = x;
    }
    out
}
