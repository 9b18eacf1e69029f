//! In-process tests of the dispatcher with [`FakeMessenger`] on both
//! backends: fixtures (accounts, targets, templates, deliveries written as
//! SQL, since those tables belong to other modules) and a running
//! dispatcher that tests can stop.

mod ahead;
mod backlog;
mod downtime;
mod follow_up;
mod lease_loss;
mod limits;
mod long_outage;
mod recovery;
mod removed;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::OffsetClock;
use crate::config::{Config, Environment};
use crate::context::Context;
use crate::events::{Change, Events, Heartbeat};
use crate::logging::LogControl;
use crate::store::{Store, on_pool, to_ms};
use crate::telegram::fake::FakeMessenger;

/// A dispatcher running on a store with a fake Telegram.
pub struct Running {
    pub ctx: Context,
    cancel: CancellationToken,
    handle: Option<JoinHandle<Result<(), super::DispatchError>>>,
}

fn config(rate: u32, extra: &[(&str, &str)]) -> Config {
    let dir = std::env::temp_dir();
    let env = Environment {
        xdg_config_home: Some(dir.join("microbot-no-config")),
        ..Environment::user_in(&dir)
    };
    let mut vars = vec![
        ("MICROBOT_TELEGRAM_MODE".to_string(), "dry-run".to_string()),
        (
            "MICROBOT_TELEGRAM_RATE_LIMIT_PER_MINUTE".to_string(),
            rate.to_string(),
        ),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::load_from(None, &env, &vars).expect("test config")
}

impl Running {
    /// Starts the dispatcher with `rate` messages a minute, at `now`.
    pub fn start(
        store: &Store,
        fake: Arc<FakeMessenger>,
        rate: u32,
        now: DateTime<Utc>,
    ) -> Running {
        Running::start_as(store, fake, rate, now, &[], false)
    }

    /// [`Running::start`] with more configuration (`MICROBOT_…` variables).
    pub fn start_with(
        store: &Store,
        fake: Arc<FakeMessenger>,
        rate: u32,
        now: DateTime<Utc>,
        vars: &[(&str, &str)],
    ) -> Running {
        Running::start_as(store, fake, rate, now, vars, false)
    }

    /// Like [`Running::start`], with a cluster lease handle that holds
    /// nothing until the test publishes leases (`ctx.leases.publish`).
    pub fn start_clustered(
        store: &Store,
        fake: Arc<FakeMessenger>,
        rate: u32,
        now: DateTime<Utc>,
    ) -> Running {
        Running::start_as(store, fake, rate, now, &[], true)
    }

    fn start_as(
        store: &Store,
        fake: Arc<FakeMessenger>,
        rate: u32,
        now: DateTime<Utc>,
        vars: &[(&str, &str)],
        clustered: bool,
    ) -> Running {
        let (events, changes) = Events::channel();
        let leases = if clustered {
            crate::cluster::Leases::clustered("test-node".into(), events.clone())
        } else {
            crate::cluster::Leases::single_node("test-node".into())
        };
        let clock = Arc::new(OffsetClock::starting_at(now));
        let config = config(rate, vars);
        let live = Arc::new(crate::live::LiveSettings::from_config(&config));
        let ctx = Context {
            leases,
            live,
            config: Arc::new(config),
            store: store.clone(),
            messenger: fake,
            clock: clock.clone(),
            log: LogControl::detached("info"),
            events,
            heartbeat: Heartbeat::default(),
            started_at: now,
            started: std::time::Instant::now(),
        };
        let cancel = CancellationToken::new();
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("microbotd=debug")
            .try_init();
        let handle = tokio::spawn(super::run(ctx.clone(), changes, cancel.clone()));
        Running {
            ctx,
            cancel,
            handle: Some(handle),
        }
    }

    pub fn change(&self, c: Change) {
        self.ctx.events.send(c);
    }

    /// Cancels and waits; panics if the dispatcher failed.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(h) = self.handle.take() {
            h.await
                .expect("dispatcher panicked")
                .expect("dispatcher failed");
        }
    }
}

/// Polls `check` until it is true; panics after a generous deadline.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn account(store: &Store, name: &str, state: &str) -> i64 {
    on_pool!(store, p => sqlx::query_scalar::<_, i64>(
        "INSERT INTO accounts (name, phone, state, created_at, updated_at)
         VALUES ($1, '+10000000000', $2, 0, 0) RETURNING id"
    ).bind(name).bind(state).fetch_one(p).await)
    .unwrap()
}

pub async fn set_account_state(store: &Store, id: i64, state: &str) {
    on_pool!(store, p => sqlx::query("UPDATE accounts SET state = $2 WHERE id = $1")
        .bind(id).bind(state).execute(p).await.map(|_| ()))
    .unwrap();
}

pub async fn target(store: &Store, account_id: i64, spec: &str) -> i64 {
    on_pool!(store, p => sqlx::query_scalar::<_, i64>(
        "INSERT INTO targets (account_id, spec) VALUES ($1, $2) RETURNING id"
    ).bind(account_id).bind(spec).fetch_one(p).await)
    .unwrap()
}

/// The peer id the fake resolves `spec` to.
pub fn peer_of(spec: &str) -> i64 {
    crate::telegram::dry_run::peer::resolve_offline(spec)
        .unwrap()
        .peer_id
}

/// A template (schedule `kind`/`expr`, UTC) with targets, its next slot
/// and its anchor.
pub async fn template(
    store: &Store,
    account_id: i64,
    name: &str,
    (kind, expr): (&str, &str),
    misfire: &str,
    (next_slot, anchor): (Option<DateTime<Utc>>, DateTime<Utc>),
    targets: &[i64],
) -> i64 {
    let id = on_pool!(store, p => sqlx::query_scalar::<_, i64>(
        "INSERT INTO templates (account_id, name, text, schedule_kind, schedule_expr, timezone,
                                anchor_at, misfire, next_slot, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'UTC', $6, $7, $8, 0, 0) RETURNING id"
    ).bind(account_id).bind(name).bind(format!("text of {name}")).bind(kind).bind(expr)
     .bind(to_ms(anchor)).bind(misfire).bind(next_slot.map(to_ms)).fetch_one(p).await)
    .unwrap();
    for (pos, t) in targets.iter().enumerate() {
        on_pool!(store, p => sqlx::query(
            "INSERT INTO template_targets (template_id, target_id, position) VALUES ($1, $2, $3)"
        ).bind(id).bind(*t).bind(pos as i64).execute(p).await.map(|_| ()))
        .unwrap();
    }
    id
}

/// An open delivery inserted directly (as a crash or an earlier fire left it).
pub async fn delivery(
    store: &Store,
    template_id: i64,
    target_id: i64,
    slot: i64,
    state: &str,
    random_id: i64,
) -> i64 {
    on_pool!(store, p => sqlx::query_scalar::<_, i64>(
        "INSERT INTO deliveries (account_id, template_id, target_id, slot, state, random_id,
                                 created_at, updated_at)
         SELECT account_id, $1, $2, $3, $4, $5, 0, 0 FROM templates WHERE id = $1 RETURNING id"
    ).bind(template_id).bind(target_id).bind(slot).bind(state).bind(random_id).fetch_one(p).await)
    .unwrap()
}

/// One delivery row as tests inspect it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    pub id: i64,
    pub template_id: i64,
    pub target_id: i64,
    pub slot: i64,
    pub state: String,
    pub random_id: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub message_id: Option<i64>,
}

pub async fn rows(store: &Store) -> Vec<Row> {
    on_pool!(store, p => sqlx::query_as::<_, Row>(
        "SELECT id, template_id, target_id, slot, state, random_id, attempts, last_error, message_id
         FROM deliveries ORDER BY template_id, slot, target_id"
    ).fetch_all(p).await)
    .unwrap()
}

pub async fn state_of(store: &Store, delivery_id: i64) -> String {
    rows(store)
        .await
        .into_iter()
        .find(|r| r.id == delivery_id)
        .unwrap()
        .state
}

/// A template with one target, for outbox tests that insert rows directly.
pub async fn outbox(store: &Store, account: &str, chats: &[&str]) -> (i64, i64, Vec<i64>) {
    let a = account_id_or_new(store, account).await;
    let mut ts = Vec::new();
    for c in chats {
        ts.push(target(store, a, c).await);
    }
    let t = template(
        store,
        a,
        &format!("{account}-t"),
        ("every", "1d"),
        "once",
        (None, Utc::now()),
        &ts,
    )
    .await;
    (a, t, ts)
}

async fn account_id_or_new(store: &Store, name: &str) -> i64 {
    match store.account_by_name(name).await {
        Ok(a) => a.id,
        Err(_) => account(store, name, "active").await,
    }
}
