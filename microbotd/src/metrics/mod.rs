//! Prometheus metrics (`[metrics] listen`): the families ([`Metrics`]), the
//! send instrumentation ([`MeteredMessenger`], a decorator around the real
//! [`Messenger`](crate::telegram::Messenger)), the gauges read from the
//! database on scrape ([`gauges`]) and the HTTP endpoint ([`serve`]).
//!
//! Nothing here runs, and nothing listens on TCP, unless `listen` is set.

pub mod gauges;
pub mod messenger;
pub mod serve;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

pub use messenger::MeteredMessenger;

/// A label set: `outcome`, `state` and, with `per_account`, `account`.
pub type Labels = Vec<(&'static str, String)>;

type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// What a send call's result meant (from `scheduler::outcome::classify`).
pub const OUTCOMES: [&str; 6] = [
    "sent",
    "failed",
    "retry",
    "chat_wait",
    "flood_wait",
    "account_stopped",
];

/// Every metric family of the daemon, registered under the `microbot_` prefix.
#[derive(Debug)]
pub struct Metrics {
    pub registry: Registry,
    per_account: bool,
    /// `microbot_deliveries_total{outcome}`: send calls by outcome.
    pub deliveries: Family<Labels, Counter>,
    /// `microbot_send_duration_seconds`: how long the send call took.
    pub send_duration: HistogramFamily,
    /// `microbot_fire_lateness_seconds`: slot → send call.
    pub fire_lateness: HistogramFamily,
    /// `microbot_flood_wait_seconds_total`: seconds of FLOOD_WAIT imposed.
    pub flood_wait: Family<Labels, Counter>,
    /// `microbot_outbox_deliveries{state}`: pending and sending rows.
    pub outbox: Family<Labels, Gauge>,
    /// `microbot_accounts{state}`.
    pub accounts: Family<Labels, Gauge>,
    /// `microbot_dispatcher_last_turn_timestamp_seconds` (0 = never turned).
    pub dispatcher_last_turn: Gauge<f64, std::sync::atomic::AtomicU64>,
    /// `microbot_database_up`: 1 when the last scrape's queries worked.
    pub database_up: Gauge,
}

fn send_duration_histogram() -> Histogram {
    // 5 ms … ~41 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

fn lateness_histogram() -> Histogram {
    // 5 ms … ~11 min: beyond that a slot is a misfire, not lateness.
    Histogram::new(exponential_buckets(0.005, 2.0, 18))
}

impl Metrics {
    /// Registers every family; `backend` goes into the build info.
    pub fn new(per_account: bool, backend: &str) -> Metrics {
        let mut registry = Registry::with_prefix("microbot");
        let deliveries = Family::<Labels, Counter>::default();
        registry.register(
            "deliveries",
            "Send calls by outcome: sent (also a de-duplicated repeat), failed, retry, chat_wait \
             (SLOWMODE_WAIT), flood_wait (FLOOD_WAIT), account_stopped (PEER_FLOOD, revoked auth)",
            deliveries.clone(),
        );
        let send_duration: HistogramFamily =
            Family::new_with_constructor(send_duration_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "send_duration",
            "Duration of the Telegram send call",
            Unit::Seconds,
            send_duration.clone(),
        );
        let fire_lateness: HistogramFamily =
            Family::new_with_constructor(lateness_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "fire_lateness",
            "From a delivery's scheduled slot to its send call (0 when not late)",
            Unit::Seconds,
            fire_lateness.clone(),
        );
        let flood_wait = Family::<Labels, Counter>::default();
        registry.register_with_unit(
            "flood_wait",
            "Seconds of FLOOD_WAIT Telegram imposed",
            Unit::Seconds,
            flood_wait.clone(),
        );
        let outbox = Family::<Labels, Gauge>::default();
        registry.register(
            "outbox_deliveries",
            "Deliveries waiting in the outbox, by state (read from the database on scrape)",
            outbox.clone(),
        );
        let accounts = Family::<Labels, Gauge>::default();
        registry.register(
            "accounts",
            "Accounts by state (read from the database on scrape)",
            accounts.clone(),
        );
        let dispatcher_last_turn = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register_with_unit(
            "dispatcher_last_turn_timestamp",
            "Unix time of the dispatcher loop's last turn (0 = never turned)",
            Unit::Seconds,
            dispatcher_last_turn.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 when the scrape's database queries succeeded, else 0",
            database_up.clone(),
        );
        registry.register(
            "build",
            "Version and database backend of this microbotd",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION").to_string()),
                ("backend", backend.to_string()),
            ]),
        );
        let metrics = Metrics {
            registry,
            per_account,
            deliveries,
            send_duration,
            fire_lateness,
            flood_wait,
            outbox,
            accounts,
            dispatcher_last_turn,
            database_up,
        };
        if !per_account {
            // Present from the first scrape, so rate() and alerts see zeros.
            for outcome in OUTCOMES {
                let _ = metrics
                    .deliveries
                    .get_or_create(&metrics.labels(outcome, ""));
            }
            let _ = metrics.send_duration.get_or_create(&Vec::new());
            let _ = metrics.fire_lateness.get_or_create(&Vec::new());
            let _ = metrics.flood_wait.get_or_create(&Vec::new());
        }
        metrics
    }

    /// `outcome` (when not empty), plus `account` with `per_account`.
    pub fn labels(&self, outcome: &str, account: &str) -> Labels {
        let mut labels = Vec::with_capacity(2);
        if self.per_account {
            labels.push(("account", account.to_string()));
        }
        if !outcome.is_empty() {
            labels.push(("outcome", outcome.to_string()));
        }
        labels
    }

    /// The OpenMetrics text of every family.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// When `[metrics] listen` is set: binds the endpoint, spawns it (it stops
/// when `stop` is cancelled) and returns `messenger` wrapped in a
/// [`MeteredMessenger`]. Otherwise returns `messenger` untouched.
pub async fn start(
    config: &crate::config::MetricsConfig,
    store: &crate::store::Store,
    heartbeat: &crate::events::Heartbeat,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    messenger: std::sync::Arc<dyn crate::telegram::Messenger>,
    stop: tokio_util::sync::CancellationToken,
) -> Result<std::sync::Arc<dyn crate::telegram::Messenger>, serve::BindError> {
    let Some(addr) = config.listen else {
        return Ok(messenger);
    };
    let metrics = std::sync::Arc::new(Metrics::new(config.per_account, store.backend().as_str()));
    let gauges = gauges::ScrapeGauges::new(store.clone(), heartbeat.clone());
    let server = serve::bind(addr, metrics.clone(), gauges, stop.cancelled_owned()).await?;
    tokio::spawn(server);
    Ok(std::sync::Arc::new(MeteredMessenger::new(
        messenger, metrics, clock,
    )))
}
