//! microbotd as a library: [`run`] wires configuration, store, Telegram
//! transport and the control API; `main.rs` only parses arguments, sets up
//! logging and calls it. Tests use the same wiring.
//!
//! # Lifecycle
//! Load config → prepare the state dir → bind the control socket (or take it
//! from systemd) → [`run`]: open and migrate the database → start serving →
//! `READY=1` (plus, under systemd, the watchdog and SIGHUP reloads; see
//! [`systemd`]) → wait for `shutdown` → `STOPPING=1`, finish in-flight
//! calls, close the database.

pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod control;
pub mod events;
pub mod live;
pub mod logging;
pub mod maintenance;
pub mod man;
pub mod schedule;
pub mod scheduler;
pub mod socket;
pub mod state_dir;
pub mod store;
pub mod systemd;
pub mod telegram;
pub mod templates;
#[cfg(test)]
pub mod testing;
mod toml_error;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, TelegramMode};
use crate::context::Context;
use crate::live::LiveSettings;
use crate::logging::LogControl;
use crate::store::Store;
use crate::systemd::{notify, reload, watchdog};
use crate::telegram::Messenger;

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("dry-run ledger: {0}")]
    Ledger(#[from] telegram::dry_run::DryRunError),
    #[error("{0}")]
    Telegram(String),
    #[error("control socket: {0}")]
    Serve(#[from] tonic::transport::Error),
    #[error("{0}")]
    Dispatcher(#[from] scheduler::DispatchError),
    #[error("dispatcher panicked: {0}")]
    DispatcherPanic(String),
}

/// What tests (and embedders) may swap in; production uses the defaults.
#[derive(Default, Clone)]
pub struct Overrides {
    pub messenger: Option<Arc<dyn Messenger>>,
    pub clock: Option<Arc<dyn Clock>>,
    pub log: Option<LogControl>,
    /// Fired on SIGHUP (by `main.rs`): reload the configuration.
    pub reload: Option<Arc<tokio::sync::Notify>>,
}

/// Runs the daemon on `listener` until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: tokio::net::UnixListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DaemonError> {
    run_with(config, listener, shutdown, Overrides::default()).await
}

/// [`run`] with parts swapped in.
pub async fn run_with(
    config: Config,
    listener: tokio::net::UnixListener,
    shutdown: impl Future<Output = ()> + Send,
    overrides: Overrides,
) -> Result<(), DaemonError> {
    let started = Instant::now();
    let store = Store::open(&config.database.url, config.database.max_connections).await?;
    let version = notify::extending_start_timeout(store.migrate()).await?;
    tracing::info!(
        backend = store.backend().as_str(),
        schema = version,
        database = %config.redacted_database_url(),
        "database ready"
    );
    let messenger = match overrides.messenger {
        Some(m) => m,
        None => default_messenger(&config, &store)?,
    };
    let clock = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
    // The dispatcher (scheduler module) takes the receiver.
    let (events, changes) = events::Events::channel();
    let live = Arc::new(LiveSettings::from_config(&config));
    let ctx = Context {
        events,
        heartbeat: events::Heartbeat::default(),
        config: Arc::new(config),
        store: store.clone(),
        messenger,
        started_at: clock.now(),
        clock,
        log: overrides
            .log
            .unwrap_or_else(|| LogControl::detached("info")),
        started,
        live,
    };
    let policy = control::caller::AccessPolicy::new(
        &ctx.config.daemon.operator_group,
        &ctx.config.daemon.admin_group,
    );
    let status = status_line(&store).await?;
    // Cancelled when shutdown starts (stop taking new sends) or when the
    // dispatcher dies (the daemon must not keep serving without it).
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut dispatcher = tokio::spawn(scheduler::run(ctx.clone(), changes, cancel.clone()));
    let stop = cancel.clone();
    let shutdown = async move {
        tokio::select! {
            () = shutdown => tracing::info!("shutting down"),
            () = stop.cancelled() => tracing::error!("dispatcher stopped; shutting down"),
        }
        stop.cancel();
        notify::stopping();
    };
    let serving = control::serve(ctx.clone(), listener, policy, shutdown);
    tokio::pin!(serving);
    // The listener is already bound, so the socket accepts as soon as the
    // server polls it; READY goes out once serving has started.
    let background = async {
        tokio::task::yield_now().await;
        notify::ready(&status);
        tracing::info!(socket = %ctx.config.daemon.socket.display(), "{status}");
        tokio::join!(
            watch(&ctx),
            reloads(&ctx, overrides.reload.clone(), store.clone()),
            maintenance::retention::run(ctx.clone())
        );
    };
    // The background loops never end on their own; should one ever return,
    // the daemon keeps serving. A panic in one takes the daemon down loudly.
    let served = async {
        tokio::select! {
            r = &mut serving => r,
            () = background => (&mut serving).await,
        }
    };
    let (served, dispatched) = tokio::select! {
        served = served => {
            cancel.cancel();
            (served, dispatcher.await)
        }
        dispatched = &mut dispatcher => {
            // It only returns after a cancel; here nobody cancelled it.
            cancel.cancel();
            (serving.await, dispatched)
        }
    };
    match dispatched {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!(error = %e, "dispatcher failed");
            ctx.messenger.shutdown().await;
            store.close().await;
            return Err(e.into());
        }
        Err(e) => {
            tracing::error!(error = %e, "dispatcher panicked");
            ctx.messenger.shutdown().await;
            store.close().await;
            return Err(DaemonError::DispatcherPanic(e.to_string()));
        }
    }
    served?;
    ctx.messenger.shutdown().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The `STATUS=` line sent with `READY=1`.
async fn status_line(store: &Store) -> Result<String, store::StoreError> {
    let counts = store.counts().await?;
    Ok(format!(
        "serving: {} accounts, {} active templates",
        counts.accounts, counts.active_templates
    ))
}

/// Sends `WATCHDOG=1` while the dispatcher turns, when systemd asked for it.
async fn watch(ctx: &Context) {
    match watchdog::interval() {
        Some(timeout) => {
            tracing::info!(
                watchdog_ms = timeout.as_millis() as u64,
                "systemd watchdog enabled"
            );
            watchdog::run(
                ctx.heartbeat.clone(),
                ctx.clock.clone(),
                timeout,
                notify::watchdog,
            )
            .await
        }
        None => std::future::pending().await,
    }
}

/// Reloads the configuration each time `trigger` fires (SIGHUP).
async fn reloads(ctx: &Context, trigger: Option<Arc<tokio::sync::Notify>>, store: Store) {
    let Some(trigger) = trigger else {
        return std::future::pending().await;
    };
    let status = move || {
        let store = store.clone();
        async move {
            status_line(&store)
                .await
                .unwrap_or_else(|e| format!("serving (counts unavailable: {e})"))
        }
    };
    reload::run(ctx.clone(), trigger, status).await
}

fn default_messenger(config: &Config, store: &Store) -> Result<Arc<dyn Messenger>, DaemonError> {
    match config.telegram.mode {
        TelegramMode::DryRun => {
            let path = config.daemon.state_dir.join("dry-run-ledger.jsonl");
            Ok(Arc::new(telegram::dry_run::DryRunMessenger::open(&path)?))
        }
        TelegramMode::Live => {
            let hash = config.telegram.api_hash.clone().ok_or_else(|| {
                DaemonError::Telegram("telegram.api_hash is not set (checked at load)".into())
            })?;
            Ok(Arc::new(telegram::live::LiveMessenger::new(
                config.telegram.api_id,
                hash,
                Arc::new(store.clone()),
            )))
        }
    }
}
