//! Gauges computed on scrape: outbox depth and accounts by state (one
//! grouped query each) and the dispatcher's last turn. The database answers
//! are kept for [`CACHE_FOR`], so a scrape storm costs two queries per
//! period, not two per scrape.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::Metrics;
use crate::events::Heartbeat;
use crate::store::Store;
use crate::store::states::{AccountState, DeliveryState};

/// How long one database reading serves scrapes.
pub const CACHE_FOR: Duration = Duration::from_secs(2);

/// Refreshes the scrape-time gauges of one [`Metrics`].
#[derive(Debug)]
pub struct ScrapeGauges {
    store: Store,
    heartbeat: Heartbeat,
    last_read: Mutex<Option<Instant>>,
}

impl ScrapeGauges {
    pub fn new(store: Store, heartbeat: Heartbeat) -> Self {
        ScrapeGauges {
            store,
            heartbeat,
            last_read: Mutex::new(None),
        }
    }

    /// Brings the gauges up to date (the database part at most once per
    /// [`CACHE_FOR`]).
    pub async fn refresh(&self, m: &Metrics) {
        let last_turn = self.heartbeat.last().unwrap_or(0);
        m.dispatcher_last_turn.set(last_turn as f64 / 1000.0);
        // Held across the queries: concurrent scrapes wait for one reading.
        let mut last_read = self.last_read.lock().await;
        if last_read.is_some_and(|t| t.elapsed() < CACHE_FOR) {
            return;
        }
        let read = async {
            let outbox = self.store.outbox_by_state().await?;
            let accounts = self.store.accounts_by_state().await?;
            Ok::<_, crate::store::StoreError>((outbox, accounts))
        };
        match read.await {
            Ok((outbox, accounts)) => {
                // Every state is exported (0 when no row has it), so a
                // series does not vanish when its last row moves on.
                set_by_state(&m.outbox, DeliveryState::OPEN, &outbox);
                // `sealed` is shown, not stored: a session under a key this
                // daemon lacks (see `accounts_by_state`).
                let known: Vec<String> = AccountState::ALL
                    .iter()
                    .map(ToString::to_string)
                    .chain([crate::store::states::SHOWN_SEALED.to_string()])
                    .collect();
                set_by_state(&m.accounts, &known, &accounts);
                m.database_up.set(1);
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics: database query failed");
                m.database_up.set(0);
            }
        }
        *last_read = Some(Instant::now());
    }
}

fn set_by_state<S: std::fmt::Display>(
    family: &prometheus_client::metrics::family::Family<
        super::Labels,
        prometheus_client::metrics::gauge::Gauge,
    >,
    known: &[S],
    rows: &[(S, i64)],
) {
    family.clear();
    for state in known {
        family
            .get_or_create(&vec![("state", state.to_string())])
            .set(0);
    }
    for (state, n) in rows {
        family
            .get_or_create(&vec![("state", state.to_string())])
            .set(*n);
    }
}
