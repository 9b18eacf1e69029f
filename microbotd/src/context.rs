//! [`Context`]: what every control service and the dispatcher share —
//! configuration, store, Telegram transport, clock. Built once in `run`.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::cluster::Leases;
use crate::config::Config;
use crate::events::{Events, Heartbeat};
use crate::live::LiveSettings;
use crate::logging::LogControl;
use crate::store::Store;
use crate::telegram::Messenger;

/// Shared daemon state. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub config: Arc<Config>,
    pub store: Store,
    pub messenger: Arc<dyn Messenger>,
    pub clock: Arc<dyn Clock>,
    /// Changes the log filter at run time (`microbotctl log-level`).
    pub log: LogControl,
    /// Tells the dispatcher what changed.
    pub events: Events,
    /// Advanced by the dispatcher loop only while it turns.
    pub heartbeat: Heartbeat,
    pub started_at: DateTime<Utc>,
    pub started: Instant,
    /// Settings a SIGHUP reload changes in place (`config` keeps the
    /// start-up values).
    pub live: Arc<LiveSettings>,
    /// The account leases this node holds (several nodes on PostgreSQL;
    /// on SQLite every account, epoch 0).
    pub leases: Leases,
}

impl Context {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Per-account send budget. Read through here (not from `config`) so a
    /// SIGHUP reload can change it without a restart.
    pub fn rate_limit_per_minute(&self) -> u32 {
        self.live.rate_limit_per_minute()
    }
}
