//! `db check` and `db vacuum` (runbook 3.1, 3.3): [`check`] times a round
//! trip and reads schema version and pool usage; [`vacuum`] compacts and
//! re-analyses our tables and reports the size before and after.

use std::time::{Duration, Instant};

use sqlx::AssertSqlSafe;

use super::tables::TABLES;
use crate::store::{Backend, Pool, Store, StoreError};

/// What `db check` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbCheck {
    pub latency: Duration,
    pub schema_version: i64,
    pub latest_schema_version: i64,
    pub pool_size: u32,
    pub pool_idle: u32,
}

/// Connects, times one round trip and reads the schema version.
pub async fn check(store: &Store) -> Result<DbCheck, StoreError> {
    let started = Instant::now();
    store.ping().await?;
    let latency = started.elapsed();
    let schema_version = store.schema_version().await?;
    let (pool_size, pool_idle) = match store.pool() {
        Pool::Sqlite(p) => (p.size(), p.num_idle() as u32),
        Pool::Postgres(p) => (p.size(), p.num_idle() as u32),
    };
    Ok(DbCheck {
        latency,
        schema_version,
        latest_schema_version: store.latest_schema_version(),
        pool_size,
        pool_idle,
    })
}

/// How long `health` and `doctor` wait for the database to answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// [`check`] with a deadline, for health checks; the error is the
/// operator's sentence.
pub async fn probe(store: &Store) -> Result<DbCheck, String> {
    match tokio::time::timeout(PROBE_TIMEOUT, check(store)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {} s", PROBE_TIMEOUT.as_secs())),
    }
}

/// What `db vacuum` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vacuumed {
    pub took: Duration,
    pub size_before: u64,
    pub size_after: u64,
}

/// Compacts and re-analyses the database (and rebuilds indexes when
/// `reindex`). Safe while the daemon sends: SQLite writers wait on the busy
/// timeout, PostgreSQL's plain VACUUM takes no exclusive lock.
pub async fn vacuum(store: &Store, reindex: bool) -> Result<Vacuumed, StoreError> {
    let started = Instant::now();
    let size_before = size(store).await?;
    match store.pool() {
        Pool::Sqlite(p) => {
            let mut conn = p.acquire().await?;
            sqlx::query("VACUUM").execute(&mut *conn).await?;
            sqlx::query("ANALYZE").execute(&mut *conn).await?;
            if reindex {
                sqlx::query("REINDEX").execute(&mut *conn).await?;
            }
        }
        Pool::Postgres(p) => {
            // VACUUM refuses to run in a transaction block: use the simple
            // query protocol, one statement at a time.
            let list = TABLES.join(", ");
            sqlx::raw_sql(AssertSqlSafe(format!("VACUUM (ANALYZE) {list}")))
                .execute(p)
                .await?;
            if reindex {
                for t in TABLES {
                    sqlx::raw_sql(AssertSqlSafe(format!("REINDEX TABLE {t}")))
                        .execute(p)
                        .await?;
                }
            }
        }
    }
    let size_after = size(store).await?;
    Ok(Vacuumed {
        took: started.elapsed(),
        size_before,
        size_after,
    })
}

/// Bytes the database takes: SQLite page_count × page_size, PostgreSQL the
/// total relation size (with indexes and TOAST) of our tables.
pub async fn size(store: &Store) -> Result<u64, StoreError> {
    let bytes: i64 = match store.pool() {
        Pool::Sqlite(p) => {
            sqlx::query_scalar(
                "SELECT (SELECT page_count FROM pragma_page_count())
                      * (SELECT page_size FROM pragma_page_size())",
            )
            .fetch_one(p)
            .await?
        }
        Pool::Postgres(p) => {
            sqlx::query_scalar(
                "SELECT COALESCE(SUM(pg_total_relation_size(t::regclass)), 0)::BIGINT
                 FROM unnest($1::TEXT[]) AS t",
            )
            .bind(TABLES)
            .fetch_one(p)
            .await?
        }
    };
    Ok(u64::try_from(bytes).unwrap_or(0))
}

/// Share of the database that is dead space, in percent, and a sentence
/// saying what was measured: SQLite free pages, PostgreSQL dead tuples.
pub async fn bloat(store: &Store) -> Result<(f64, String), StoreError> {
    match store.backend() {
        Backend::Sqlite => {
            let Pool::Sqlite(p) = store.pool() else {
                unreachable!("backend and pool agree")
            };
            let (free, pages): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT freelist_count FROM pragma_freelist_count()),
                        (SELECT page_count FROM pragma_page_count())",
            )
            .fetch_one(p)
            .await?;
            let pct = percent(free, pages);
            Ok((pct, format!("{free} of {pages} pages free ({pct:.0} %)")))
        }
        Backend::Postgres => {
            let Pool::Postgres(p) = store.pool() else {
                unreachable!("backend and pool agree")
            };
            let (dead, live): (i64, i64) = sqlx::query_as(
                "SELECT COALESCE(SUM(n_dead_tup), 0)::BIGINT, COALESCE(SUM(n_live_tup), 0)::BIGINT
                 FROM pg_stat_user_tables WHERE relname = ANY($1::TEXT[])",
            )
            .bind(TABLES)
            .fetch_one(p)
            .await?;
            let pct = percent(dead, dead + live);
            Ok((
                pct,
                format!("{dead} dead of {} row versions ({pct:.0} %)", dead + live),
            ))
        }
    }
}

fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn check_and_vacuum_on_both_backends(store: crate::store::Store) {
        let c = check(&store).await.unwrap();
        assert_eq!(c.schema_version, c.latest_schema_version);
        assert!(c.pool_size >= 1);
        for i in 0..300 {
            store
                .audit_append(&crate::store::audit::NewAudit {
                    at_ms: i,
                    method: "test.fill",
                    target: Some(&"x".repeat(500)),
                    result: "ok",
                    ..Default::default()
                })
                .await
                .unwrap();
        }
        on_delete_all(&store).await;
        // The deleted rows show as bloat first, or the check after the
        // vacuum proves nothing (PostgreSQL reports dead rows a moment late).
        bloat_until(&store, "the deleted rows counted", |pct| pct >= 20.0).await;
        let v = vacuum(&store, true).await.unwrap();
        assert!(v.size_before > 0);
        assert!(v.size_after <= v.size_before, "{v:?}");
        bloat_until(&store, "the vacuum reclaimed them", |pct| pct < 20.0).await;
    }

    /// Polls [`bloat`] until `ok` holds; panics with its detail after 30 s.
    async fn bloat_until(store: &Store, what: &str, ok: impl Fn(f64) -> bool) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (pct, detail) = bloat(store).await.unwrap();
            if ok(pct) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: {detail}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    crate::store::testing::per_backend!(check_and_vacuum_on_both_backends);

    async fn on_delete_all(store: &Store) {
        crate::store::on_pool!(store, p => sqlx::query("DELETE FROM audit").execute(p).await.map(|_| ()))
            .unwrap();
    }
}
