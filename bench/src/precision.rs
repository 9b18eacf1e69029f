//! Workload 2, fire precision: `accounts × per_account` templates (each
//! with its own chat) all due at one instant T a few seconds after start;
//! lateness = the instant the messenger's send call arrived − T.
//!
//! [`morning`] is the same burst as a real morning sees it: many accounts,
//! a few templates each, the default rate limit (20 a minute, so the rest
//! of each account's burst is spaced on purpose); the figure is each
//! account's FIRST message lateness.
//!
//! With `MICROBOT_BENCH_DETAIL=1` the burst's lateness quantiles and the
//! first and last send of some accounts go to stderr: how long one
//! account's sends take against how late its worker started.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use microbot_tests::daemon::Db;

use crate::inproc::{UNLIMITED, prepare, set_all_next_slots, start_rate};
use crate::null_messenger::NullMessenger;
use crate::populate::{mixed, populate};

/// Lateness percentiles in milliseconds.
pub struct Precision {
    pub n: usize,
    pub fired: usize,
    pub lateness_ms: Vec<f64>,
}

/// How long after the daemon's start the shared slot lies.
const LEAD: Duration = Duration::from_secs(4);

pub async fn run(db: Db, accounts: usize, per_account: usize) -> anyhow::Result<Precision> {
    let (n, calls) = burst(db, accounts, per_account, UNLIMITED).await?;
    let lateness_ms: Vec<f64> = calls.iter().filter_map(late_ms).collect();
    if std::env::var_os("MICROBOT_BENCH_DETAIL").is_some() {
        let mut v = lateness_ms.clone();
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p) as usize];
        eprintln!(
            "bench: lateness ms min {:.2} p10 {:.2} p25 {:.2} p50 {:.2} p75 {:.2} p90 {:.2} max {:.2}",
            q(0.0),
            q(0.1),
            q(0.25),
            q(0.5),
            q(0.75),
            q(0.9),
            q(1.0)
        );
        let mut by_acct: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
        for c in &calls {
            if let Some(l) = late_ms(c) {
                let e = by_acct.entry(c.account).or_insert((l, l));
                e.0 = e.0.min(l);
                e.1 = e.1.max(l);
            }
        }
        let firsts: Vec<String> = by_acct
            .values()
            .take(20)
            .map(|(a, b)| format!("{a:.1}-{b:.1}"))
            .collect();
        eprintln!(
            "bench: first-last send per account (first 20) {}",
            firsts.join(" ")
        );
    }
    Ok(Precision {
        n,
        fired: lateness_ms.len(),
        lateness_ms,
    })
}

/// The default `telegram.rate_limit_per_minute`.
const DEFAULT_RATE: u32 = 20;

/// Each account's first message lateness; `n` is the number of accounts.
pub async fn morning(db: Db, accounts: usize, per_account: usize) -> anyhow::Result<Precision> {
    // Waits for every send (the rate limit spaces the rest of each
    // account's burst over a few seconds), then keeps each account's first.
    let (_, calls) = burst(db, accounts, per_account, DEFAULT_RATE).await?;
    let mut first: std::collections::HashMap<i64, f64> = std::collections::HashMap::new();
    for c in &calls {
        if let Some(l) = late_ms(c) {
            let e = first.entry(c.account).or_insert(l);
            *e = e.min(l);
        }
    }
    Ok(Precision {
        n: accounts,
        fired: first.len(),
        lateness_ms: first.into_values().collect(),
    })
}

fn late_ms(c: &crate::null_messenger::Call) -> Option<f64> {
    c.slot
        .map(|s| (c.at - s).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0)
}

/// Runs the burst and returns (templates, the recorded calls once one per
/// template arrived).
async fn burst(
    db: Db,
    accounts: usize,
    per_account: usize,
    rate: u32,
) -> anyhow::Result<(usize, Vec<crate::null_messenger::Call>)> {
    let n = accounts * per_account;
    let p = prepare(db).await?;
    let now = Utc::now();
    let specs: Vec<_> = (0..n).map(|i| mixed(i, now)).collect();
    populate(&p.store, accounts, &specs).await?;
    let slot = Utc::now() + chrono::Duration::from_std(LEAD)?;
    let slot = slot - chrono::Duration::milliseconds(slot.timestamp_subsec_millis().into());
    set_all_next_slots(&p.store, slot.timestamp_millis()).await?;
    let messenger = Arc::new(NullMessenger::recording(n));
    let daemon = start_rate(&p, messenger.clone(), None, rate).await?;
    messenger.wait_for(n, LEAD + Duration::from_secs(120)).await;
    let calls = messenger.calls();
    daemon.stop().await?;
    p.store.close().await;
    Ok((n, calls))
}
