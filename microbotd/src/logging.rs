//! Logging set-up: a reloadable `EnvFilter` over stderr (journald comes in
//! with the systemd module). [`LogControl`] changes the filter at run time.

use std::sync::Arc;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

type ReloadFn = dyn Fn(&str) -> Result<(), String> + Send + Sync;

/// Handle to change the active log filter.
#[derive(Clone)]
pub struct LogControl {
    reload: Arc<ReloadFn>,
    current: Arc<std::sync::Mutex<String>>,
}

impl LogControl {
    /// A control that only remembers the level (tests, embedded use).
    pub fn detached(initial: &str) -> Self {
        LogControl {
            reload: Arc::new(|_| Ok(())),
            current: Arc::new(std::sync::Mutex::new(initial.to_string())),
        }
    }

    /// Replaces the filter with `directives` (`RUST_LOG` syntax).
    pub fn set(&self, directives: &str) -> Result<(), String> {
        EnvFilter::try_new(directives).map_err(|e| e.to_string())?;
        (self.reload)(directives)?;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = directives.to_string();
        Ok(())
    }

    pub fn current(&self) -> String {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Installs the global subscriber. `RUST_LOG`, when set, wins over the
/// configured level.
pub fn init(config_level: &str) -> LogControl {
    let initial = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| EnvFilter::try_new(s).is_ok())
        .unwrap_or_else(|| config_level.to_string());
    let filter = EnvFilter::try_new(&initial).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .try_init();
    LogControl {
        reload: Arc::new(move |d: &str| {
            let f = EnvFilter::try_new(d).map_err(|e| e.to_string())?;
            handle.reload(f).map_err(|e| e.to_string())
        }),
        current: Arc::new(std::sync::Mutex::new(initial)),
    }
}
