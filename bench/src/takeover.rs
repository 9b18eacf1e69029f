//! Workload 6, takeover: two real release daemons on one (durable)
//! PostgreSQL with the default `[cluster]` settings (lease 15 s, renew
//! 10 s, retry 2 s) share six accounts; one node is stopped — by SIGTERM
//! (it releases its leases) or by `kill -9` (they must expire) — and the
//! figure is the time from the stop until the other node holds every
//! account, as `cluster status` shows it.

use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::Value;

const ACCOUNTS: usize = 6;

/// Seconds until the survivor holds every account after the other node
/// stops; `kill` = SIGKILL, else SIGTERM. The stop comes `phase` after the
/// split was seen: the split is seen right after a lease round of both
/// nodes, and a kill always landing there would always meet the lease at
/// its longest. `None` if it did not within 120 s.
pub fn run(kill: bool, phase: Duration) -> anyhow::Result<Option<f64>> {
    let mut a = TestDaemon::builder(Db::Postgres)
        .env("MICROBOT_DAEMON_LOG_LEVEL", "warn")
        .start();
    for i in 0..ACCOUNTS {
        a.ctl_ok(&[
            "account",
            "add",
            &format!("acct{i}"),
            "--phone",
            "+15550000001",
        ]);
    }
    let b = TestDaemon::builder(Db::Postgres)
        .env("MICROBOT_DAEMON_LOG_LEVEL", "warn")
        .env("MICROBOT_DATABASE_URL", &a.db_url)
        .start();
    let b_node = b.ctl_json(&["status"])["node_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Both hold a share before the stop.
    wait(&b, Duration::from_secs(60), |held| {
        held.len() == 2 && held.values().sum::<usize>() == ACCOUNTS
    })?;
    std::thread::sleep(phase);
    let t = Instant::now();
    if kill {
        a.kill9();
    } else {
        a.terminate();
    }
    let took = wait(&b, Duration::from_secs(120), |held| {
        held.get(&b_node).copied() == Some(ACCOUNTS)
    })
    .ok()
    .map(|_| t.elapsed().as_secs_f64());
    Ok(took)
}

/// Polls `cluster status` every 20 ms until `done(owner → accounts held)`.
fn wait(
    d: &TestDaemon,
    limit: Duration,
    done: impl Fn(&std::collections::HashMap<String, usize>) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let s: Value = d.ctl_json(&["cluster", "status"]);
        let mut held = std::collections::HashMap::new();
        for l in s["leases"].as_array().into_iter().flatten() {
            if l["expired"] == false
                && let Some(o) = l["owner"].as_str()
            {
                *held.entry(o.to_string()).or_default() += 1;
            }
        }
        if done(&held) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "timed out: {s}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
