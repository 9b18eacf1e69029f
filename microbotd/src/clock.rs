//! [`Clock`]: where "now" comes from, so tests can move time.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
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
