//! Workload 1, schedules held, against the real release `microbotd`: its
//! SQLite file is migrated (`microbotd migrate`) and filled with N active
//! templates plus one sentinel already due; then spawn → READY (the
//! harness waits for the `NOTIFY_SOCKET` datagram), spawn → the sentinel's
//! line in the dry-run ledger (first fire), and VmRSS once settled against
//! a baseline daemon with the same accounts and no templates.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use microbot_tests::daemon::{Db, TestDaemon, bin};
use microbotd::store::Store;

use crate::inproc::rss_of;
use crate::populate::{Spec, mixed, populate};

/// Accounts the templates are spread over.
const ACCOUNTS: usize = 100;
/// Time the daemon gets after its first fire before RSS is read.
const SETTLE: Duration = Duration::from_secs(3);

/// One measured daemon.
#[derive(Debug, Clone, Copy)]
pub struct Held {
    pub rss_bytes: u64,
    pub ready_s: f64,
    pub first_fire_s: Option<f64>,
    pub populate_s: f64,
}

const CONFIG: &str = "[telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = 1000000\n";

/// Measures a daemon holding `n` templates (0 = the baseline: accounts only).
pub async fn run(n: usize) -> anyhow::Result<Held> {
    let mut d = TestDaemon::builder(Db::Sqlite)
        .config(CONFIG)
        .env("MICROBOT_DAEMON_LOG_LEVEL", "warn")
        .prepare();
    let out = Command::new(bin("microbotd"))
        .arg("--config")
        .arg(&d.config_path)
        .arg("migrate")
        .env("MICROBOT_DAEMON_LOG_LEVEL", "warn")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "microbotd migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let populating = Instant::now();
    let now = Utc::now();
    let mut specs: Vec<Spec> = (0..n).map(|i| mixed(i, now)).collect();
    if n > 0 {
        // The sentinel: the last template, already due when the daemon starts.
        let last = specs.last_mut().expect("n > 0");
        last.next_slot = now.timestamp_millis() - 1000;
    }
    let store = Store::open(&d.db_url, 1).await?;
    populate(&store, ACCOUNTS, &specs).await?;
    store.close().await;
    drop(specs);
    let populate_s = populating.elapsed().as_secs_f64();

    let ledger = d.state_dir.join("dry-run-ledger.jsonl");
    let spawned = Instant::now();
    d.spawn().map_err(|e| anyhow::anyhow!(e))?;
    let ready_s = spawned.elapsed().as_secs_f64();
    let first_fire_s = if n > 0 {
        wait_for_line(&ledger, Duration::from_secs(120)).then(|| spawned.elapsed().as_secs_f64())
    } else {
        None
    };
    tokio::time::sleep(SETTLE).await;
    let pid = d.pid().expect("running").to_string();
    let rss_bytes = rss_of(&pid).ok_or_else(|| anyhow::anyhow!("no VmRSS for {pid}"))?;
    d.terminate();
    Ok(Held {
        rss_bytes,
        ready_s,
        first_fire_s,
        populate_s,
    })
}

/// Polls (every millisecond) until the file holds a complete line.
fn wait_for_line(path: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::fs::read(path).is_ok_and(|b| b.contains(&b'\n')) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}
