//! [`Clock`]: where "now" comes from, so tests can move time.
//! [`ScaledClock`] runs k× faster than real time (the soak benchmark);
//! timers that wait on clock-derived durations convert them back to real
//! time through [`Clock::real_duration`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// How long to sleep in real time for `simulated` to pass on this clock.
    fn real_duration(&self, simulated: Duration) -> Duration {
        simulated
    }
}

/// The system's real-time clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that real time moves forward from a chosen start, plus any jumps
/// a test adds — for downtime and soak tests.
#[derive(Debug)]
pub struct OffsetClock {
    offset: Mutex<chrono::Duration>,
}

impl OffsetClock {
    /// A clock that reads `start` now and advances with real time.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        OffsetClock {
            offset: Mutex::new(start - Utc::now()),
        }
    }

    /// Jumps forward (or back, with a negative duration).
    pub fn advance(&self, by: chrono::Duration) {
        let mut o = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *o += by;
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A clock that starts at a chosen instant and runs `factor` times faster
/// than real time, so a day of schedules passes in minutes.
#[derive(Debug)]
pub struct ScaledClock {
    start: DateTime<Utc>,
    real_start: Instant,
    factor: u32,
}

impl ScaledClock {
    /// Reads `start` now; every real second moves it `factor` seconds.
    pub fn new(start: DateTime<Utc>, factor: u32) -> Self {
        ScaledClock {
            start,
            real_start: Instant::now(),
            factor: factor.max(1),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let simulated = self.real_start.elapsed() * self.factor;
        self.start + chrono::Duration::from_std(simulated).unwrap_or(chrono::Duration::MAX)
    }

    fn real_duration(&self, simulated: Duration) -> Duration {
        simulated / self.factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_clock_runs_faster_and_converts_waits_back() {
        let start = DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = ScaledClock::new(start, 600);
        assert_eq!(
            c.real_duration(Duration::from_secs(300)),
            Duration::from_millis(500)
        );
        let real = Instant::now();
        std::thread::sleep(Duration::from_millis(20));
        let simulated = (c.now() - start).to_std().unwrap();
        // At least 20 ms real passed, so at least 12 s simulated; and no more
        // than the real time elapsed since `real`, scaled.
        assert!(simulated >= Duration::from_secs(12), "{simulated:?}");
        assert!(simulated <= (real.elapsed() + Duration::from_millis(5)) * 600);
        assert_eq!(
            SystemClock.real_duration(Duration::from_secs(3)),
            Duration::from_secs(3)
        );
    }
}
