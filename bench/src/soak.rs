//! Workload 5, memory over time: templates firing every five simulated
//! minutes (`*/5 * * * *` and `every 5m`) on a [`ScaledClock`] running
//! `factor`× real time, with this process's VmRSS sampled every simulated
//! hour. The messenger only counts, so the bench itself holds nothing
//! that grows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use microbot_tests::daemon::Db;
use microbotd::clock::{Clock, ScaledClock};

use crate::inproc::{prepare, rss_of, start};
use crate::null_messenger::NullMessenger;
use crate::populate::{every_five_minutes, populate};

/// Accounts the templates are spread over.
const ACCOUNTS: usize = 100;

/// RSS samples (bytes), one per simulated hour, and the sends seen.
pub struct Soak {
    pub samples: Vec<u64>,
    pub sends: usize,
    pub expected_sends: usize,
    pub real_s: f64,
}

impl Soak {
    pub fn first_mb(&self) -> Option<f64> {
        self.samples.first().map(|b| *b as f64 / 1e6)
    }

    pub fn last_mb(&self) -> Option<f64> {
        self.samples.last().map(|b| *b as f64 / 1e6)
    }

    /// Last sample minus the one at 25 % of the run.
    pub fn growth_after_warmup_mb(&self) -> Option<f64> {
        let warm = *self.samples.get(self.samples.len() / 4)?;
        Some((*self.samples.last()? as f64 - warm as f64) / 1e6)
    }
}

pub async fn run(db: Db, n: usize, hours: u32, factor: u32) -> anyhow::Result<Soak> {
    let p = prepare(db).await?;
    let now = Utc::now();
    let specs: Vec<_> = (0..n).map(|i| every_five_minutes(i, now)).collect();
    populate(&p.store, ACCOUNTS, &specs).await?;
    drop(specs);
    let messenger = Arc::new(NullMessenger::counting());
    let clock: Arc<dyn Clock> = Arc::new(ScaledClock::new(now, factor));
    let real = Instant::now();
    let daemon = start(&p, messenger.clone(), Some(clock)).await?;
    let hour = Duration::from_secs(3600) / factor;
    let mut samples = Vec::with_capacity(hours as usize + 1);
    for h in 0..=hours {
        tokio::time::sleep_until((real + hour * h).into()).await;
        samples.push(rss_of("self").ok_or_else(|| anyhow::anyhow!("no VmRSS"))?);
    }
    let sends = messenger.count();
    daemon.stop().await?;
    p.store.close().await;
    Ok(Soak {
        samples,
        sends,
        expected_sends: n * hours as usize * 12,
        real_s: real.elapsed().as_secs_f64(),
    })
}
