//! `every <duration>` schedules: fixed real-time intervals from an anchor.
//!
//! The anchor is an instant, so these are zone-independent by design: DST
//! never shifts them. Fires are `anchor + k * interval` for k >= 0, computed
//! by division so a far-future `t` costs the same as a near one.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::duration::format_duration;
use super::error::ScheduleError;

/// The longest interval accepted: a yearly reminder with leap-year slack.
pub const MAX_INTERVAL: Duration = Duration::from_secs(366 * 86_400);

/// A fixed real-time interval anchored at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EverySchedule {
    interval: Duration,
    anchor: DateTime<Utc>,
}

impl EverySchedule {
    pub(super) fn new(interval: Duration, anchor: DateTime<Utc>) -> Result<Self, ScheduleError> {
        if interval < Duration::from_secs(1) {
            return Err(ScheduleError::IntervalTooShort(format_duration(interval)));
        }
        if interval > MAX_INTERVAL {
            return Err(ScheduleError::IntervalTooLong(format_duration(interval)));
        }
        Ok(EverySchedule { interval, anchor })
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The first fire; later fires are whole intervals after it.
    pub fn anchor(&self) -> DateTime<Utc> {
        self.anchor
    }

    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if t < self.anchor {
            return Some(self.anchor);
        }
        // i128 nanoseconds cover chrono's whole range exactly.
        let elapsed = t.signed_duration_since(self.anchor);
        let elapsed_ns =
            i128::from(elapsed.num_seconds()) * 1_000_000_000 + i128::from(elapsed.subsec_nanos());
        let step_ns = self.interval.as_nanos() as i128;
        let offset_ns = (elapsed_ns / step_ns + 1) * step_ns;
        let secs = i64::try_from(offset_ns / 1_000_000_000).ok()?;
        let nanos = (offset_ns % 1_000_000_000) as u32;
        let offset = TimeDelta::new(secs, nanos)?;
        self.anchor.checked_add_signed(offset)
    }
}
