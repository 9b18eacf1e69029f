//! Fills a database with benchmark data straight through SQL: active
//! accounts, one resolved chat per template, and templates (half daily cron,
//! half `every`) whose `next_slot` the caller chooses.

use chrono::{DateTime, Utc};
use microbotd::store::states::{AccountState, Misfire, ScheduleKind};
use microbotd::store::{Pool, Store};
use sqlx::QueryBuilder;

/// How many rows go into one multi-row INSERT (SQLite's bind limit is 32766).
const CHUNK: usize = 2000;

/// One template to insert.
pub struct Spec {
    pub kind: ScheduleKind,
    pub expr: String,
    pub next_slot: i64,
}

/// The mixed schedule of template `i`: even → a daily cron, odd → `every`.
pub fn mixed(i: usize, now: DateTime<Utc>) -> Spec {
    use microbotd::schedule::Schedule;
    let (kind, expr) = if i.is_multiple_of(2) {
        (
            ScheduleKind::Cron,
            format!("{} {} * * *", i % 60, (i / 60) % 24),
        )
    } else {
        (ScheduleKind::Every, format!("{}m", 5 + i % 55))
    };
    let schedule = match kind {
        ScheduleKind::Cron => Schedule::cron(&expr, chrono_tz::UTC).expect("valid cron"),
        // The bench mixes only the repeating kinds.
        ScheduleKind::Every | ScheduleKind::At => {
            Schedule::parse(&format!("every {expr}"), chrono_tz::UTC, now).expect("valid every")
        }
    };
    let next = schedule.next_after(now).expect("fires").timestamp_millis();
    Spec {
        kind,
        expr,
        next_slot: next,
    }
}

/// Inserts `accounts` active accounts and `specs.len()` templates spread
/// over them round-robin, each with its own resolved chat. Returns the
/// template ids in order.
pub async fn populate(store: &Store, accounts: usize, specs: &[Spec]) -> anyhow::Result<()> {
    let now = Utc::now().timestamp_millis();
    match store.pool() {
        Pool::Sqlite(p) => fill(p, accounts, specs, now).await,
        Pool::Postgres(p) => fill(p, accounts, specs, now).await,
    }
}

async fn fill<DB>(
    pool: &sqlx::Pool<DB>,
    accounts: usize,
    specs: &[Spec],
    now: i64,
) -> anyhow::Result<()>
where
    DB: sqlx::Database,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let mut tx = pool.begin().await?;
    let mut qb: QueryBuilder<DB> = QueryBuilder::new(
        "INSERT INTO accounts (id, name, phone, state, tg_user_id, tg_display, scheduler_enabled, created_at, updated_at) ",
    );
    qb.push_values(0..accounts, |mut b, a| {
        b.push_bind((a + 1) as i64)
            .push_bind(format!("bench-{a}"))
            .push_bind(format!("+10000{a:07}"))
            .push_bind(AccountState::Active.as_str())
            .push_bind(1_000_000 + a as i64)
            .push_bind(format!("@bench{a}"))
            .push_bind(true)
            .push_bind(now)
            .push_bind(now);
    });
    qb.build().execute(&mut *tx).await?;
    for (start, chunk) in specs
        .chunks(CHUNK)
        .enumerate()
        .map(|(c, ch)| (c * CHUNK, ch))
    {
        let ids = start..start + chunk.len();
        let account = |i: usize| ((i % accounts) + 1) as i64;
        let mut qb: QueryBuilder<DB> = QueryBuilder::new(
            "INSERT INTO targets (id, account_id, spec, peer_id, peer_kind, access_hash, title, resolved_at) ",
        );
        qb.push_values(ids.clone(), |mut b, i| {
            b.push_bind((i + 1) as i64)
                .push_bind(account(i))
                .push_bind(format!("@benchchat{i}"))
                .push_bind(2_000_000 + i as i64)
                .push_bind("user")
                .push_bind(i as i64)
                .push_bind(format!("chat {i}"))
                .push_bind(now);
        });
        qb.build().execute(&mut *tx).await?;
        let mut qb: QueryBuilder<DB> = QueryBuilder::new(
            "INSERT INTO templates (id, account_id, name, text, parse_mode, schedule_kind, schedule_expr, \
             timezone, anchor_at, active, misfire, next_slot, created_at, updated_at) ",
        );
        qb.push_values(ids.clone().zip(chunk), |mut b, (i, s)| {
            b.push_bind((i + 1) as i64)
                .push_bind(account(i))
                .push_bind(format!("t{i}"))
                .push_bind(format!("benchmark message {i}"))
                .push_bind("plain")
                .push_bind(s.kind.as_str())
                .push_bind(s.expr.clone())
                .push_bind("UTC")
                .push_bind(now)
                .push_bind(true)
                .push_bind(Misfire::Once.as_str())
                .push_bind(s.next_slot)
                .push_bind(now)
                .push_bind(now);
        });
        qb.build().execute(&mut *tx).await?;
        let mut qb: QueryBuilder<DB> =
            QueryBuilder::new("INSERT INTO template_targets (template_id, target_id, position) ");
        qb.push_values(ids, |mut b, i| {
            b.push_bind((i + 1) as i64)
                .push_bind((i + 1) as i64)
                .push_bind(0i64);
        });
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The soak mix of template `i`: even → `*/5 * * * *`, odd → `every 5m`.
pub fn every_five_minutes(i: usize, now: DateTime<Utc>) -> Spec {
    use microbotd::schedule::Schedule;
    let (kind, expr, schedule) = if i.is_multiple_of(2) {
        let expr = "*/5 * * * *";
        (
            ScheduleKind::Cron,
            expr,
            Schedule::cron(expr, chrono_tz::UTC).expect("valid cron"),
        )
    } else {
        (
            ScheduleKind::Every,
            "5m",
            Schedule::parse("every 5m", chrono_tz::UTC, now).expect("valid every"),
        )
    };
    Spec {
        kind,
        expr: expr.into(),
        next_slot: schedule.next_after(now).expect("fires").timestamp_millis(),
    }
}
