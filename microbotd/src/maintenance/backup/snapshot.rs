//! [`take`]: every table read inside one read transaction — PostgreSQL
//! REPEATABLE READ READ ONLY, SQLite one transaction on one connection (WAL
//! gives it a snapshot) — so a backup taken while the daemon sends is
//! consistent. Rows are streamed from the database into one anonymous temp
//! file per table (hashed on the way), never held all at once.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Row};
use tokio_stream::StreamExt;

use super::BackupError;
use crate::maintenance::tables::{Column, Kind, TABLES, columns_pg, columns_sqlite};
use crate::store::{Pool, Store};

/// One table's rows as JSON lines, in an anonymous temp file.
#[derive(Debug)]
pub struct TableData {
    pub name: String,
    pub rows: u64,
    /// The JSON lines, positioned at their start.
    pub file: File,
    pub bytes: u64,
    pub sha256: String,
}

impl TableData {
    /// A table from ready-made JSON lines (tests).
    pub fn from_jsonl(name: &str, rows: u64, jsonl: &[u8]) -> std::io::Result<TableData> {
        let mut w = JsonlFile::new(&std::env::temp_dir())?;
        w.out.write_all(jsonl)?;
        w.hash.update(jsonl);
        w.finish(name, rows, jsonl.len() as u64)
    }
}

/// A table's temp file being written, hashed as it goes.
struct JsonlFile {
    out: BufWriter<File>,
    hash: Sha256,
}

impl JsonlFile {
    fn new(dir: &Path) -> std::io::Result<JsonlFile> {
        Ok(JsonlFile {
            out: BufWriter::new(tempfile::tempfile_in(dir)?),
            hash: Sha256::new(),
        })
    }

    fn push(&mut self, obj: &Map<String, Value>) -> std::io::Result<u64> {
        let mut line = serde_json::to_vec(obj)?;
        line.push(b'\n');
        self.out.write_all(&line)?;
        self.hash.update(&line);
        Ok(line.len() as u64)
    }

    fn finish(self, name: &str, rows: u64, bytes: u64) -> std::io::Result<TableData> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(TableData {
            name: name.to_string(),
            rows,
            file,
            bytes,
            sha256: format!("{:x}", self.hash.finalize()),
        })
    }
}

/// Everything a backup holds from the database.
#[derive(Debug)]
pub struct Snapshot {
    pub schema_version: i64,
    pub tables: Vec<TableData>,
    /// The key ids the sessions in it are sealed under, and how many are
    /// in clear (read in the same snapshot, for the manifest).
    pub sessions: SessionKeys,
}

/// How the sessions of a snapshot are kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SessionKeys {
    pub key_ids: Vec<String>,
    pub in_clear: i64,
}

const SESSION_KEY_IDS: &str = "SELECT DISTINCT session_key_id FROM accounts
    WHERE session IS NOT NULL AND session_key_id IS NOT NULL ORDER BY session_key_id";
const SESSIONS_IN_CLEAR: &str =
    "SELECT COUNT(*) FROM accounts WHERE session IS NOT NULL AND session_key_id IS NULL";

/// Reads every table of [`TABLES`] in one consistent snapshot, spooling
/// each to a temp file in `scratch`.
pub async fn take(store: &Store, scratch: &Path) -> Result<Snapshot, BackupError> {
    let mut tables = Vec::with_capacity(TABLES.len());
    let schema_version;
    let sessions;
    match store.pool() {
        Pool::Sqlite(p) => {
            let mut tx = p.begin().await?;
            schema_version = sqlx::query_scalar::<_, Option<i64>>(VERSION)
                .fetch_one(&mut *tx)
                .await?
                .unwrap_or(0);
            for t in TABLES {
                let cols = columns_sqlite(&mut tx, t).await?;
                let mut out = Spool::new(t, scratch)?;
                let sql = select(t, &cols);
                let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *tx);
                while let Some(row) = rows.next().await {
                    out.push(&encode(&cols, &row?)?)?;
                }
                drop(rows);
                tables.push(out.finish()?);
            }
            sessions = SessionKeys {
                key_ids: sqlx::query_scalar(SESSION_KEY_IDS)
                    .fetch_all(&mut *tx)
                    .await?,
                in_clear: sqlx::query_scalar(SESSIONS_IN_CLEAR)
                    .fetch_one(&mut *tx)
                    .await?,
            };
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
                let mut out = Spool::new(t, scratch)?;
                let sql = select(t, &cols);
                let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(&mut *tx);
                while let Some(row) = rows.next().await {
                    out.push(&encode(&cols, &row?)?)?;
                }
                drop(rows);
                tables.push(out.finish()?);
            }
            sessions = SessionKeys {
                key_ids: sqlx::query_scalar(SESSION_KEY_IDS)
                    .fetch_all(&mut *tx)
                    .await?,
                in_clear: sqlx::query_scalar(SESSIONS_IN_CLEAR)
                    .fetch_one(&mut *tx)
                    .await?,
            };
            tx.commit().await?;
        }
    }
    Ok(Snapshot {
        schema_version,
        tables,
        sessions,
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

/// One table being spooled: its file, row count and size.
struct Spool {
    name: &'static str,
    file: JsonlFile,
    rows: u64,
    bytes: u64,
}

impl Spool {
    fn new(name: &'static str, dir: &Path) -> Result<Spool, BackupError> {
        let file = JsonlFile::new(dir).map_err(|e| {
            BackupError::Io(format!("cannot make a temp file in {}: {e}", dir.display()))
        })?;
        Ok(Spool {
            name,
            file,
            rows: 0,
            bytes: 0,
        })
    }

    fn push(&mut self, obj: &Map<String, Value>) -> Result<(), BackupError> {
        self.bytes += self
            .file
            .push(obj)
            .map_err(|e| BackupError::Io(format!("{}: {e}", self.name)))?;
        self.rows += 1;
        Ok(())
    }

    fn finish(self) -> Result<TableData, BackupError> {
        let name = self.name;
        self.file
            .finish(name, self.rows, self.bytes)
            .map_err(|e| BackupError::Io(format!("{name}: {e}")))
    }
}

/// One row as a JSON object, keys in column order.
fn encode<R>(cols: &[Column], row: &R) -> Result<Map<String, Value>, BackupError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    Option<i64>: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    Option<bool>: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    Option<String>: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    Option<Vec<u8>>: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
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
    Ok(obj)
}
