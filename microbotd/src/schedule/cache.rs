//! Sharing parsed cron expressions between templates.
//!
//! A croner `Cron` carries ~5 KB of heap, so a million templates each with
//! their own copy would cost gigabytes, while real deployments use a handful
//! of distinct expressions. The dispatcher owns one cache (no global state)
//! and builds every template's schedule through it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use chrono_tz::Tz;

use super::cron::{CronCore, CronSchedule};
use super::{Schedule, ScheduleError};

/// Interns parsed cron expressions by their trimmed text. Entries are weak,
/// so an expression no template uses any more is freed; [`CronCache::prune`]
/// drops the dead keys.
#[derive(Debug, Default)]
pub struct CronCache {
    map: HashMap<String, Weak<CronCore>>,
}

impl CronCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Like [`Schedule::cron`], reusing an already parsed identical
    /// expression (in any zone: the zone is kept outside the shared part).
    pub fn cron(&mut self, expr: &str, tz: Tz) -> Result<Schedule, ScheduleError> {
        let key = expr.trim();
        if let Some(core) = self.map.get(key).and_then(Weak::upgrade) {
            return Ok(Schedule::Cron(CronSchedule::with_core(core, tz)));
        }
        let core = Arc::new(CronCore::parse(key)?);
        self.map.insert(key.to_owned(), Arc::downgrade(&core));
        Ok(Schedule::Cron(CronSchedule::with_core(core, tz)))
    }

    /// Forgets expressions no schedule holds any more.
    pub fn prune(&mut self) {
        self.map.retain(|_, w| w.strong_count() > 0);
    }

    /// Distinct expressions currently cached (live or not yet pruned).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
