//! microbotd as a library: [`run`] wires configuration, store, Telegram
//! transport and the control API; `main.rs` only parses arguments, sets up
//! logging and calls it. Tests use the same wiring.
//!
//! # Lifecycle
//! Load config → prepare the state dir → bind the control socket (or take it
//! from systemd) → [`run`]: lock the SQLite file (single-node), open and
//! migrate the database → start the lease manager (PostgreSQL; see
//! [`cluster`]) and the dispatcher → start serving →
//! `READY=1` (plus, under systemd, the watchdog and SIGHUP reloads; see
//! [`systemd`]) → wait for `shutdown` → `STOPPING=1`, finish in-flight
//! calls, stop the dispatcher, then release the leases, close the database.

pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod context;
pub mod control;
pub mod events;
pub mod live;
pub mod logging;
pub mod maintenance;
pub mod man;
pub mod memory;
pub mod metrics;
pub mod schedule;
pub mod scheduler;
pub mod seal;
pub mod socket;
pub mod state_dir;
pub mod stats;
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
    #[error(transparent)]
    Lock(#[from] cluster::single_node::LockError),
    #[error(transparent)]
    Metrics(#[from] metrics::serve::BindError),
    #[error(transparent)]
    Remote(#[from] control::remote::RemoteError),
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
    tracing::info!(
        node = %config.daemon.node_id,
        version = env!("CARGO_PKG_VERSION"),
        "microbotd starting"
    );
    // SQLite is single-node: held until this function returns.
    let _db_lock = match store::sqlite_path(&config.database.url) {
        Some(file)
            if store::Backend::from_url(&config.database.url).ok()
                == Some(store::Backend::Sqlite) =>
        {
            Some(cluster::single_node::lock_database(&file)?)
        }
        _ => None,
    };
    let store = Store::open(&config.database.url, config.database.max_connections)
        .await?
        .with_keys(seal::Keyring::new(config.telegram.session_key.clone()));
    let version = notify::extending_start_timeout(store.migrate()).await?;
    tracing::info!(
        backend = store.backend().as_str(),
        schema = version,
        database = %config.redacted_database_url(),
        "database ready"
    );
    seal_sessions(&store, &config).await?;
    // The dispatcher (scheduler module) takes the receiver.
    let (events, changes) = events::Events::channel();
    let (leases, lease_manager) = cluster::start(&config, &store, events.clone());
    let messenger = match overrides.messenger {
        Some(m) => m,
        None => default_messenger(&config, &store, &leases)?,
    };
    let clock = overrides.clock.unwrap_or_else(|| Arc::new(SystemClock));
    // Cancelled when shutdown starts (stop taking new sends) or when the
    // dispatcher dies (the daemon must not keep serving without it).
    let cancel = tokio_util::sync::CancellationToken::new();
    let heartbeat = events::Heartbeat::default();
    let messenger: Arc<dyn Messenger> =
        Arc::new(stats::flood_log::FloodLog::new(messenger, store.clone()));
    let messenger = metrics::start(
        &config.metrics,
        &store,
        &heartbeat,
        clock.clone(),
        messenger,
        cancel.clone(),
    )
    .await?;
    let live = Arc::new(LiveSettings::from_config(&config));
    let ctx = Context {
        leases,
        events,
        heartbeat,
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
    // Stopped only after the dispatcher, so no send outlives its lease here.
    let lease_stop = tokio_util::sync::CancellationToken::new();
    let lease_task = lease_manager.map(|manager| {
        let (stop, daemon) = (lease_stop.clone(), cancel.clone());
        tokio::spawn(async move {
            // Should the manager end or panic before it is told to, the
            // daemon stops: it must not go on without leases renewed.
            let _stop_daemon = daemon.drop_guard();
            manager.run(stop).await
        })
    });
    // Bound (and its files read) before READY, so a mistake stops start-up.
    if let Some(tcp) = control::remote::bind(&ctx.config.control).await? {
        let tls = control::remote::tls_config(&ctx.config.control)?;
        let remote = control::serve_remote(
            ctx.clone(),
            tcp,
            tls,
            policy.clone(),
            cancel.clone().cancelled_owned(),
        );
        tokio::spawn(async move {
            if let Err(e) = remote.await {
                tracing::error!(error = %e, "remote control listener stopped");
            }
        });
    }
    memory::spawn_housekeeping(cancel.clone());
    let mut dispatcher = tokio::spawn(scheduler::run(ctx.clone(), changes, cancel.clone()));
    let stop = cancel.clone();
    let shutdown = async move {
        tokio::select! {
            () = shutdown => tracing::info!("shutting down"),
            () = stop.cancelled() => tracing::error!("dispatcher or lease manager stopped; shutting down"),
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
        tracing::info!(
            socket = %ctx.config.daemon.socket.display(),
            node = ctx.leases.node_id(),
            "{status}"
        );
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
    lease_stop.cancel();
    if let Some(task) = lease_task
        && let Err(e) = task.await
    {
        tracing::error!(error = %e, "lease manager panicked");
    }
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

/// Seals the sessions stored in clear under the session key (the first
/// start with a key), and names each account whose session is sealed under
/// a key this daemon lacks: those are shown `sealed` and do not send.
async fn seal_sessions(store: &Store, config: &Config) -> Result<(), DaemonError> {
    if let Some(id) = store.keys().current_id() {
        let sealed = store.seal_plain_sessions().await?;
        if sealed > 0 {
            tracing::warn!(
                sealed,
                key_id = %id,
                "sealed Telegram sessions that were stored in clear (backups made before now \
                 still hold them in clear)"
            );
        }
        tracing::info!(key_id = %id, source = config.telegram.session_key_source.as_deref().unwrap_or(""), "Telegram sessions are sealed at rest");
    } else if config.telegram.mode == TelegramMode::Live {
        tracing::warn!(
            "no session key (telegram.allow_plain_sessions): Telegram sessions are stored in \
             clear; a database dump or backup is a takeover of every account"
        );
    }
    for (account, key_id) in store.sealed_accounts().await? {
        tracing::warn!(
            account = %account,
            key_id = %key_id,
            "account session is sealed under a session key this daemon does not have; shown as \
             sealed and not sent from until the key is given (systemd credential session_key)"
        );
    }
    Ok(())
}

fn default_messenger(
    config: &Config,
    store: &Store,
    leases: &cluster::Leases,
) -> Result<Arc<dyn Messenger>, DaemonError> {
    match config.telegram.mode {
        TelegramMode::DryRun => {
            let path = config.daemon.state_dir.join("dry-run-ledger.jsonl");
            // A login is a control-plane write: unfenced, like the real
            // transport's login on a single node.
            Ok(Arc::new(
                telegram::dry_run::DryRunMessenger::open(&path)?
                    .with_sessions(Arc::new(store.clone()))
                    .with_media(Arc::new(store::media::StoreMedia::new(store.clone()))),
            ))
        }
        TelegramMode::Live => {
            let hash = config.telegram.api_hash.clone().ok_or_else(|| {
                DaemonError::Telegram("telegram.api_hash is not set (checked at load)".into())
            })?;
            Ok(Arc::new(
                telegram::live::LiveMessenger::new(
                    config.telegram.api_id,
                    hash,
                    Arc::new(store::sessions::FencedSessions {
                        store: store.clone(),
                        leases: leases.clone(),
                    }),
                    Arc::new(store::media::StoreMedia::new(store.clone())),
                )
                .with_proxy(config.telegram.proxy.clone()),
            ))
        }
    }
}
