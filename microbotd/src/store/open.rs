//! Opening and migrating the database: [`Backend`] from the URL scheme,
//! SQLite pragmas, PostgreSQL pool options, embedded migrations.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Pool, Store, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database engine a URL designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The URL's scheme is not one we speak.
#[derive(Debug, thiserror::Error)]
#[error("unknown scheme {0:?} (use sqlite://PATH or postgres://USER@HOST/DB)")]
pub struct UnknownScheme(String);

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, UnknownScheme> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or(url);
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(UnknownScheme(other.to_string())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

pub(super) fn latest_version(backend: Backend) -> i64 {
    let m = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    m.iter().map(|m| m.version).max().unwrap_or(0)
}

/// The file an `sqlite://` URL points at (`sqlite:///abs/path`, `sqlite://rel`).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

impl Store {
    /// Connects to the database named by `url`.
    pub async fn open(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let backend =
            Backend::from_url(url).map_err(|e| StoreError::Setup(format!("database.url: {e}")))?;
        let shown = crate::config::redact_database_url(url);
        let open_err = |source| StoreError::Open {
            url: shown.clone(),
            source,
        };
        let pool = match backend {
            Backend::Sqlite => {
                if let Some(parent) = sqlite_path(url).as_deref().and_then(Path::parent)
                    && !parent.as_os_str().is_empty()
                    && !parent.exists()
                {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Setup(format!(
                            "cannot create database directory {}: {e}",
                            parent.display()
                        ))
                    })?;
                }
                let opts = SqliteConnectOptions::from_str(url)
                    .map_err(open_err)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await
                    .map_err(open_err)?;
                Pool::Sqlite(pool)
            }
            Backend::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(open_err)?;
                Pool::Postgres(pool)
            }
        };
        Ok(Store {
            pool,
            backend,
            keys: Default::default(),
        })
    }

    /// Applies pending migrations; returns the schema version afterwards.
    pub async fn migrate(&self) -> Result<i64, StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        self.schema_version().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_picks_backend() {
        assert_eq!(
            Backend::from_url("sqlite:///x.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/d").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/d").unwrap(),
            Backend::Postgres
        );
        assert!(
            Backend::from_url("mysql://u@h/d")
                .unwrap_err()
                .to_string()
                .contains("mysql")
        );
        assert_eq!(
            sqlite_path("sqlite:///var/x.db?mode=rwc"),
            Some("/var/x.db".into())
        );
    }
}
