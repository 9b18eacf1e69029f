//! Logging set-up: a reloadable `EnvFilter` over journald (structured
//! fields: `account` → `ACCOUNT`, `template_id` → `TEMPLATE_ID`, …) when
//! stderr is the journal, else over stderr. Under journald every line also
//! carries `NODE` (`daemon.node_id`), so one journal query follows one node
//! of a cluster. [`LogControl`] changes the
//! filter at run time (`microbotctl log-level`, SIGHUP), whichever the sink.

use std::io::IsTerminal;
use std::sync::Arc;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::reload;
use tracing_subscriber::util::SubscriberInitExt;

use crate::systemd::journal;

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

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// journald's native protocol, with structured fields.
    Journald,
    /// Plain lines on stderr without timestamps: systemd captures stderr
    /// and stamps each line itself.
    StderrUnderSystemd,
    /// Plain lines on stderr with timestamps (a terminal, a file, a test).
    Stderr,
}

/// Installs the global subscriber and says where it writes. `RUST_LOG`,
/// when set, wins over the configured level.
pub fn init(config_level: &str, node_id: &str) -> (LogControl, Sink) {
    let initial = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| EnvFilter::try_new(s).is_ok())
        .unwrap_or_else(|| config_level.to_string());
    let filter = EnvFilter::try_new(&initial).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let journald = if journal::stderr_is_journal() {
        // Field names as written in the code (`account`), not `F_ACCOUNT`.
        tracing_journald::layer().ok().map(|l| {
            l.with_field_prefix(None)
                .with_custom_fields([("NODE", node_id)])
        })
    } else {
        None
    };
    let sink = match (&journald, journal::under_systemd_journal()) {
        (Some(_), _) => Sink::Journald,
        (None, true) => Sink::StderrUnderSystemd,
        (None, false) => Sink::Stderr,
    };
    let ansi = std::io::stderr().is_terminal();
    let stamped = (sink == Sink::Stderr).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(ansi)
            .with_target(false)
    });
    let unstamped = (sink == Sink::StderrUnderSystemd).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .with_target(false)
            .without_time()
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(journald)
        .with(stamped)
        .with(unstamped)
        .try_init();
    let control = LogControl {
        reload: Arc::new(move |d: &str| {
            let f = EnvFilter::try_new(d).map_err(|e| e.to_string())?;
            handle.reload(f).map_err(|e| e.to_string())
        }),
        current: Arc::new(std::sync::Mutex::new(initial)),
    };
    (control, sink)
}
