//! The database: [`Store`] over an SQLite or a PostgreSQL pool, chosen by
//! the URL scheme ([`Backend`]).
//!
//! Queries are runtime sqlx queries written once in a dialect both backends
//! accept (`$1` placeholders, `RETURNING`, `ON CONFLICT`); [`on_pool!`] runs a
//! body against whichever pool is open. Times are Unix milliseconds.
//!
//! # Lifecycle
//! [`Store::open`] connects (creating the SQLite file, WAL mode,
//! `synchronous=FULL`), then [`Store::migrate`] brings the schema up to date.

pub mod account_state;
pub mod accounts;
pub mod audit;
pub(crate) mod bulk;
pub mod cluster;
pub mod deliveries;
pub mod dispatch;
pub mod media;
mod open;
pub(crate) mod retention;
pub mod scheduler_ops;
pub mod session_keys;
pub mod sessions;
pub mod state_counts;
pub mod states;
pub mod stats;
pub mod system;
pub mod targets;
pub mod templates;
pub mod tx;

use std::fmt;

pub use open::Backend;
pub use open::sqlite_path;

/// Runs `$body` with `$pool` bound to the open pool, whichever backend it is.
/// The body is compiled once per backend, so it must be valid for both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store.pool() {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A connection pool of either backend.
#[derive(Clone)]
pub enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Database failures, with enough context for one operator-facing line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open database {url}: {source}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("{0}")]
    Setup(String),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

/// The open database.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: Backend,
    /// The session keys (`crate::seal`): sessions are sealed under the
    /// current one and open under any of them.
    keys: std::sync::Arc<crate::seal::Keyring>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The same database with these session keys.
    pub fn with_keys(mut self, keys: crate::seal::Keyring) -> Store {
        self.keys = std::sync::Arc::new(keys);
        self
    }

    pub fn keys(&self) -> &crate::seal::Keyring {
        &self.keys
    }

    /// Closes every connection (waits for in-flight queries).
    pub async fn close(&self) {
        on_pool!(self, p => p.close().await)
    }

    /// Round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The newest applied migration version, 0 when none.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let v: Option<i64> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE"
        ).fetch_one(p).await)?;
        Ok(v.unwrap_or(0))
    }

    /// The newest schema version this build knows.
    pub fn latest_schema_version(&self) -> i64 {
        open::latest_version(self.backend)
    }
}

/// Current time as stored: Unix milliseconds.
pub fn to_ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// Stored milliseconds as a UTC instant (clamped into chrono's range).
pub fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod testing;
