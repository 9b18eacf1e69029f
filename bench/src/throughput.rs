//! Workload 3, outbox throughput: N templates already due when the daemon
//! starts; the window runs from the first send call until all N
//! deliveries are `sent` in the database (claimed by the dispatcher,
//! marked `sending`, sent, completed — the worker commits each step for a
//! whole batch at once).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use microbot_tests::daemon::Db;

use crate::inproc::{prepare, sent_count, set_all_next_slots, start};
use crate::null_messenger::NullMessenger;
use crate::populate::{mixed, populate};

/// Accounts the due templates are spread over (one send worker each).
const ACCOUNTS: usize = 10;

/// Deliveries per second, or `None` if they did not all complete in time.
pub async fn run(db: Db, n: usize) -> anyhow::Result<Option<f64>> {
    let p = prepare(db).await?;
    let now = Utc::now();
    let specs: Vec<_> = (0..n).map(|i| mixed(i, now)).collect();
    populate(&p.store, ACCOUNTS, &specs).await?;
    set_all_next_slots(&p.store, now.timestamp_millis() - 1000).await?;
    let messenger = Arc::new(NullMessenger::counting());
    let daemon = start(&p, messenger.clone(), None).await?;
    let result = async {
        if !messenger.wait_for(1, Duration::from_secs(60)).await {
            return Ok::<_, anyhow::Error>(None);
        }
        let first = Instant::now();
        let deadline = first + Duration::from_secs(600);
        while Instant::now() < deadline {
            if sent_count(&p.store).await? >= n as i64 {
                return Ok(Some(n as f64 / first.elapsed().as_secs_f64()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(None)
    }
    .await;
    daemon.stop().await?;
    p.store.close().await;
    result
}
