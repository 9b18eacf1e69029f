//! [`LiveSettings`]: the configuration values a SIGHUP reload may change
//! without a restart. Readers go through [`crate::context::Context`] (or hold
//! an `Arc` of this) instead of `Context::config`, which stays as loaded at
//! start-up.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::config::Config;

/// Shared, lock-free; updated only by `systemd::reload`.
#[derive(Debug)]
pub struct LiveSettings {
    rate_limit_per_minute: AtomicU32,
    slow_call_warn_us: AtomicU64,
}

impl LiveSettings {
    /// The values of `config`.
    pub fn from_config(config: &Config) -> Self {
        LiveSettings {
            rate_limit_per_minute: AtomicU32::new(config.telegram.rate_limit_per_minute),
            slow_call_warn_us: AtomicU64::new(micros(config.daemon.slow_call_warn)),
        }
    }

    /// `telegram.rate_limit_per_minute`.
    pub fn rate_limit_per_minute(&self) -> u32 {
        self.rate_limit_per_minute.load(Ordering::Relaxed)
    }

    pub fn set_rate_limit_per_minute(&self, per_minute: u32) {
        self.rate_limit_per_minute
            .store(per_minute, Ordering::Relaxed);
    }

    /// `daemon.slow_call_warn`.
    pub fn slow_call_warn(&self) -> Duration {
        Duration::from_micros(self.slow_call_warn_us.load(Ordering::Relaxed))
    }

    pub fn set_slow_call_warn(&self, threshold: Duration) {
        self.slow_call_warn_us
            .store(micros(threshold), Ordering::Relaxed);
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}
