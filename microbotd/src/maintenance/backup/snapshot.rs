//! [`take`]: every table read inside one read transaction — PostgreSQL
//! REPEATABLE READ READ ONLY, SQLite one transaction on one connection (WAL
//! gives it a snapshot) — so a backup taken while the daemon sends is
//! consistent.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};
use sqlx::{AssertSqlSafe, Row};

use super::BackupError;
use crate::maintenance::tables::{Column, Kind, TABLES, columns_pg, columns_sqlite};
use crate::store::{Pool, Store};

/// One table's rows as JSON lines.
#[derive(Debug, Clone)]
pub struct TableData {
    pub name: String,
    pub rows: u64,
    pub jsonl: Vec<u8>,
}

/// Everything a backup holds from the database.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub schema_version: i64,
    pub tables: Vec<TableData>,
}

/// Reads every table of [`TABLES`] in one consistent snapshot.
pub async fn take(store: &Store) -> Result<Snapshot, BackupError> {
    let mut tables = Vec::with_capacity(TABLES.len());
    let schema_version;
    match store.pool() {
        Pool::Sqlite(p) => {
            let mut tx = p.begin().await?;
            schema_version = sqlx::query_scalar::<_, Option<i64>>(VERSION)
                .fetch_one(&mut *tx)
                .await?
                .unwrap_or(0);
            for t in TABLES {
                let cols = columns_sqlite(&mut tx, t).await?;
                let rows = sqlx::query(AssertSqlSafe(select(t, &cols)))
                    .fetch_all(&mut *tx)
                    .await?;
                tables.push(encode(t, &cols, &rows)?);
            }
            tx.commit().await?;
        }
        Pool::Postgres(p) => {
            let mut tx = p
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?;
            schema_version = sqlx::query_scalar::<_, Option<i64>>(VERSION)
                .fetch_one(&mut *tx)
                .await?
                .unwrap_or(0);
            for t in TABLES {
                let cols = columns_pg(&mut tx, t).await?;
                let rows = sqlx::query(AssertSqlSafe(select(t, &cols)))
                    .fetch_all(&mut *tx)
                    .await?;
                tables.push(encode(t, &cols, &rows)?);
            }
            tx.commit().await?;
        }
    }
    Ok(Snapshot {
        schema_version,
        tables,
    })
}

/// The schema version, read inside the snapshot.
const VERSION: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE";

/// `SELECT every column FROM table ORDER BY the first`: column names come
/// from the catalog, never from input.
fn select(table: &str, cols: &[Column]) -> String {
    let names: Vec<&str> = cols.iter().map(|c| c.name.as_str()).collect();
    format!("SELECT {} FROM {table} ORDER BY 1", names.join(", "))
}

/// Rows as JSON lines: one object per row, keys in column order.
fn encode<R>(table: &str, cols: &[Column], rows: &[R]) -> Result<TableData, BackupError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    Option<i64>: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    Option<bool>: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    Option<String>: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    Option<Vec<u8>>: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let mut jsonl = Vec::new();
    for row in rows {
        let mut obj = Map::new();
        for (i, c) in cols.iter().enumerate() {
            let v = match c.kind {
                Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Value::from),
                Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::from),
                Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::from),
                Kind::Bytes => row
                    .try_get::<Option<Vec<u8>>, _>(i)?
                    .map(|b| Value::from(B64.encode(b))),
            };
            obj.insert(c.name.clone(), v.unwrap_or(Value::Null));
        }
        serde_json::to_writer(&mut jsonl, &obj)
            .map_err(|e| BackupError::Io(format!("{table}: {e}")))?;
        jsonl.push(b'\n');
    }
    Ok(TableData {
        name: table.to_string(),
        rows: rows.len() as u64,
        jsonl,
    })
}
