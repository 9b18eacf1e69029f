//! [`InProc`]: the daemon run in this process through
//! [`microbotd::run_with`], with the [`NullMessenger`] (and optionally a
//! scaled clock), on a temp socket and a fresh SQLite or PostgreSQL
//! database that [`prepare`] migrates so the caller can populate it first.

use std::sync::Arc;
use std::time::Duration;

use microbot_tests::daemon::Db;
use microbotd::clock::Clock;
use microbotd::config::{Config, Environment};
use microbotd::store::{Pool, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::null_messenger::NullMessenger;

/// A migrated, empty database and the temp dir the daemon will use.
pub struct Prepared {
    pub dir: tempfile::TempDir,
    pub db_url: String,
    pub store: Store,
}

/// Creates and migrates a fresh database on `db`.
pub async fn prepare(db: Db) -> anyhow::Result<Prepared> {
    let dir = tempfile::Builder::new()
        .prefix("microbot-bench-")
        .tempdir()?;
    let db_url = match db {
        Db::Sqlite => format!(
            "sqlite://{}",
            dir.path().join("state/microbot.db").display()
        ),
        Db::Postgres => microbot_tests::pg::fresh_database_url()
            .ok_or_else(|| anyhow::anyhow!("PostgreSQL is not available"))?,
    };
    std::fs::create_dir_all(dir.path().join("state"))?;
    std::fs::create_dir_all(dir.path().join("run"))?;
    let store = Store::open(&db_url, 5).await?;
    store.migrate().await?;
    Ok(Prepared { dir, db_url, store })
}

/// A running in-process daemon.
pub struct InProc {
    shutdown: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), microbotd::DaemonError>>,
}

/// No effective rate limit: the figures measure microbot, not the limits.
pub const UNLIMITED: u32 = 1_000_000;

/// The benchmark configuration: dry-run mode (the messenger is replaced
/// anyway), `rate` messages a minute per account, warnings only.
fn config(p: &Prepared, rate: u32) -> anyhow::Result<Config> {
    let path = p.dir.path().join("microbotd.toml");
    let text = format!(
        "[daemon]\nsocket = {socket:?}\nstate_dir = {state:?}\nlog_level = \"warn\"\n\n\
         [database]\nurl = {url:?}\nmax_connections = 5\n\n\
         [telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = {rate}\n",
        socket = p.dir.path().join("run/control.sock").display().to_string(),
        state = p.dir.path().join("state").display().to_string(),
        url = p.db_url,
    );
    std::fs::write(&path, text)?;
    let env = Environment {
        is_root: false,
        uid: nix::unistd::getuid().as_raw(),
        home: Some(p.dir.path().to_path_buf()),
        xdg_runtime_dir: Some(p.dir.path().join("run")),
        xdg_state_home: None,
        xdg_config_home: None,
        systemd_runtime_dir: None,
        systemd_state_dir: None,
    };
    Ok(Config::load_from(Some(&path), &env, &[])?)
}

/// Starts the daemon on the prepared database, without rate limits.
pub async fn start(
    p: &Prepared,
    messenger: Arc<NullMessenger>,
    clock: Option<Arc<dyn Clock>>,
) -> anyhow::Result<InProc> {
    start_rate(p, messenger, clock, UNLIMITED).await
}

/// [`start`] with `rate` messages a minute per account.
pub async fn start_rate(
    p: &Prepared,
    messenger: Arc<NullMessenger>,
    clock: Option<Arc<dyn Clock>>,
    rate: u32,
) -> anyhow::Result<InProc> {
    let config = config(p, rate)?;
    let listener = tokio::net::UnixListener::bind(&config.daemon.socket)?;
    let (tx, rx) = oneshot::channel::<()>();
    let overrides = microbotd::Overrides {
        messenger: Some(messenger),
        clock,
        log: None,
        reload: None,
    };
    let handle = tokio::spawn(microbotd::run_with(
        config,
        listener,
        async {
            let _ = rx.await;
        },
        overrides,
    ));
    Ok(InProc {
        shutdown: Some(tx),
        handle,
    })
}

impl InProc {
    /// Stops the daemon and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        tokio::time::timeout(Duration::from_secs(60), self.handle)
            .await
            .map_err(|_| anyhow::anyhow!("daemon did not stop within 60 s"))???;
        Ok(())
    }
}

/// Deliveries in state `sent`.
pub async fn sent_count(store: &Store) -> anyhow::Result<i64> {
    const Q: &str = "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'";
    Ok(match store.pool() {
        Pool::Sqlite(p) => sqlx::query_scalar(Q).fetch_one(p).await?,
        Pool::Postgres(p) => sqlx::query_scalar(Q).fetch_one(p).await?,
    })
}

/// Sets every template's `next_slot` to `slot_ms`.
pub async fn set_all_next_slots(store: &Store, slot_ms: i64) -> anyhow::Result<()> {
    const Q: &str = "UPDATE templates SET next_slot = $1";
    match store.pool() {
        Pool::Sqlite(p) => sqlx::query(Q).bind(slot_ms).execute(p).await.map(|_| ())?,
        Pool::Postgres(p) => sqlx::query(Q).bind(slot_ms).execute(p).await.map(|_| ())?,
    }
    Ok(())
}

/// This process's resident set size in bytes (VmRSS).
pub fn rss_of(pid: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}
