//! Finding UTC-offset transitions of a zone, which chrono-tz does not list.
//!
//! The offset is sampled every few hours and each change is narrowed to the
//! second by bisection: ~3000 lookups per zone-year, so scanning many zones
//! over 16 years stays in the milliseconds even in debug builds.

use chrono::{DateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

/// Offsets never change twice within this step in the zones and years that
/// matter (2020-2035; the shortest real spacing is weeks).
const STEP_HOURS: i64 = 6;

/// A change of UTC offset: from `at` on, `after` applies instead of `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub at: DateTime<Utc>,
    /// Seconds east of UTC before the change.
    pub before: i32,
    /// Seconds east of UTC from `at` on.
    pub after: i32,
}

impl Transition {
    /// Clocks jumped forward: the wall times in between do not exist.
    pub fn is_gap(&self) -> bool {
        self.after > self.before
    }
}

/// Offset of `tz` at `t`, in seconds east of UTC.
pub fn offset_at(tz: Tz, t: DateTime<Utc>) -> i32 {
    tz.offset_from_utc_datetime(&t.naive_utc())
        .fix()
        .local_minus_utc()
}

/// All offset changes of `tz` in `[from, to)`, oldest first.
pub fn transitions(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Transition> {
    let step = TimeDelta::hours(STEP_HOURS);
    // Whole seconds keep the bisection landing on the transition itself.
    let from = DateTime::from_timestamp(from.timestamp(), 0).unwrap_or(from);
    let mut out = Vec::new();
    let mut prev_t = from;
    let mut prev_off = offset_at(tz, from);
    while prev_t < to {
        let next_t = (prev_t + step).min(to);
        let next_off = offset_at(tz, next_t);
        if next_off != prev_off {
            // Bisect to the first second with the new offset.
            let (mut lo, mut hi) = (prev_t, next_t);
            while hi.signed_duration_since(lo) > TimeDelta::seconds(1) {
                let mid = lo + TimeDelta::seconds(hi.signed_duration_since(lo).num_seconds() / 2);
                if offset_at(tz, mid) == prev_off {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            out.push(Transition {
                at: hi,
                before: prev_off,
                after: offset_at(tz, hi),
            });
        }
        prev_t = next_t;
        prev_off = next_off;
    }
    out
}
