//! Test support: [`TestContext`], a hand-built [`Context`] with a store
//! (SQLite, or one given), the scriptable [`FakeMessenger`], a movable clock and the
//! dispatcher's end of the change channel, for in-process tests of control
//! services and the dispatcher.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::clock::OffsetClock;
use crate::config::{Config, Environment};
use crate::context::Context;
use crate::events::{Change, Events, Heartbeat};
use crate::logging::LogControl;
use crate::telegram::fake::FakeMessenger;

/// A [`Context`] and handles on the parts tests steer or inspect.
pub struct TestContext {
    pub ctx: Context,
    pub fake: Arc<FakeMessenger>,
    pub clock: Arc<OffsetClock>,
    /// What the control calls told the dispatcher.
    pub changes: UnboundedReceiver<Change>,
    /// Keeps the database and state dir alive.
    _dir: tempfile::TempDir,
}

impl TestContext {
    /// A fresh context: SQLite in a temp dir, dry-run config (no api keys
    /// needed), clock starting at the real now.
    pub async fn new() -> TestContext {
        let (store, dir) = crate::store::testing::sqlite().await;
        Self::with(store, dir)
    }

    /// The same on `store` (either backend; see `store::testing::per_backend!`).
    pub async fn on(store: crate::store::Store) -> TestContext {
        Self::with(store, tempfile::tempdir().unwrap())
    }

    fn with(store: crate::store::Store, dir: tempfile::TempDir) -> TestContext {
        let config = test_config(dir.path());
        let fake = Arc::new(FakeMessenger::new());
        let clock = Arc::new(OffsetClock::starting_at(chrono::Utc::now()));
        let (events, changes) = Events::channel();
        let live = Arc::new(crate::live::LiveSettings::from_config(&config));
        let ctx = Context {
            leases: crate::cluster::Leases::single_node("test-node".into()),
            live,
            config: Arc::new(config),
            store,
            messenger: fake.clone(),
            clock: clock.clone(),
            log: LogControl::detached("info"),
            events,
            heartbeat: Heartbeat::default(),
            started_at: chrono::Utc::now(),
            started: Instant::now(),
        };
        TestContext {
            ctx,
            fake,
            clock,
            changes,
            _dir: dir,
        }
    }

    /// Every change sent so far, without waiting.
    pub fn drain_changes(&mut self) -> Vec<Change> {
        let mut out = Vec::new();
        while let Ok(c) = self.changes.try_recv() {
            out.push(c);
        }
        out
    }
}

/// The default configuration for a non-root user living in `dir`, in
/// dry-run mode.
pub fn test_config(dir: &Path) -> Config {
    let env = Environment {
        xdg_state_home: Some(dir.join("state")),
        ..Environment::user_in(dir)
    };
    let vars = [("MICROBOT_TELEGRAM_MODE".to_string(), "dry-run".to_string())];
    Config::load_from(None, &env, &vars).expect("the default test config loads")
}
