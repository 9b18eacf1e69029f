//! Workload 2, fire precision: `accounts × per_account` templates (each
//! with its own chat) all due at one instant T a few seconds after start;
//! lateness = the instant the messenger's send call arrived − T.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use microbot_tests::daemon::Db;

use crate::inproc::{prepare, set_all_next_slots, start};
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
    let n = accounts * per_account;
    let p = prepare(db).await?;
    let now = Utc::now();
    let specs: Vec<_> = (0..n).map(|i| mixed(i, now)).collect();
    populate(&p.store, accounts, &specs).await?;
    let slot = Utc::now() + chrono::Duration::from_std(LEAD)?;
    let slot = slot - chrono::Duration::milliseconds(slot.timestamp_subsec_millis().into());
    set_all_next_slots(&p.store, slot.timestamp_millis()).await?;
    let messenger = Arc::new(NullMessenger::recording());
    let daemon = start(&p, messenger.clone(), None).await?;
    messenger.wait_for(n, LEAD + Duration::from_secs(120)).await;
    let calls = messenger.calls();
    daemon.stop().await?;
    p.store.close().await;
    let lateness_ms = calls
        .iter()
        .filter_map(|c| {
            c.slot
                .map(|s| (c.at - s).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0)
        })
        .collect::<Vec<_>>();
    Ok(Precision {
        n,
        fired: lateness_ms.len(),
        lateness_ms,
    })
}
