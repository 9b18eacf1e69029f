//! [`restore`]: replaces every row of our tables with a checked
//! [`Backup`]'s, in ONE transaction, into either backend whatever the
//! backup came from. Values are converted against the target's catalog
//! before the transaction opens; any error rolls everything back, so a
//! failed restore leaves the database exactly as it was.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};
use sqlx::AssertSqlSafe;

use super::archive::Backup;
use super::{BackupError, data_path};
use crate::maintenance::tables::{Column, Kind, TABLES, columns_pg, columns_sqlite};
use crate::store::{Pool, Store};

/// One value, typed for binding.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Int(i64),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    Null(Kind),
}

/// One table's rows, ready to insert.
struct Prepared {
    table: String,
    /// Per row: the INSERT statement and its values.
    rows: Vec<(String, Vec<Val>)>,
    has_id: bool,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub tables: Vec<(String, u64)>,
    /// Accounts left with their scheduler stopped.
    pub schedulers_stopped: u64,
}

/// Binds each [`Val`] to a query of either backend.
macro_rules! bind_all {
    ($query:expr, $vals:expr) => {{
        let mut q = $query;
        for v in $vals {
            q = match v {
                Val::Int(i) => q.bind(*i),
                Val::Bool(b) => q.bind(*b),
                Val::Text(s) => q.bind(s.as_str()),
                Val::Bytes(b) => q.bind(b.as_slice()),
                Val::Null(Kind::Int) => q.bind(None::<i64>),
                Val::Null(Kind::Bool) => q.bind(None::<bool>),
                Val::Null(Kind::Text) => q.bind(None::<String>),
                Val::Null(Kind::Bytes) => q.bind(None::<Vec<u8>>),
            };
        }
        q
    }};
}

/// Runs the whole restore inside `$tx` (a transaction of either backend).
macro_rules! restore_in {
    ($tx:ident, $prepared:expr, $postgres:expr) => {{
        for t in TABLES.iter().rev() {
            sqlx::query(AssertSqlSafe(format!("DELETE FROM {t}")))
                .execute(&mut *$tx)
                .await?;
        }
        for p in $prepared {
            for (i, (sql, vals)) in p.rows.iter().enumerate() {
                bind_all!(sqlx::query(AssertSqlSafe(sql.clone())), vals)
                    .execute(&mut *$tx)
                    .await
                    .map_err(|e| {
                        BackupError::invalid(format!(
                            "{} row {}: {}",
                            data_path(&p.table),
                            i + 1,
                            db_message(&e)
                        ))
                    })?;
            }
            // setval is not undone by a rollback: never move a sequence
            // back, or a failed restore would leave it behind the ids of
            // the rows the rollback keeps (the next insert then collides).
            if $postgres && p.has_id {
                let t = &p.table;
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT setval(pg_get_serial_sequence('{t}', 'id'),
                            GREATEST(COALESCE((SELECT MAX(id) FROM {t}), 0),
                                     COALESCE(pg_sequence_last_value(
                                         pg_get_serial_sequence('{t}', 'id')::regclass), 0)) + 1,
                            false)"
                )))
                .execute(&mut *$tx)
                .await?;
            }
        }
        let stopped = sqlx::query("UPDATE accounts SET scheduler_enabled = FALSE")
            .execute(&mut *$tx)
            .await?
            .rows_affected();
        $tx.commit().await?;
        stopped
    }};
}

/// The database's own words for a failed insert (constraint names).
fn db_message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    }
}

/// Converts every row on a blocking thread: a large backup is seconds of
/// CPU that must not hold a runtime thread.
async fn prepare_blocking(
    backup: &Arc<Backup>,
    catalog: Vec<Vec<Column>>,
) -> Result<Vec<Prepared>, BackupError> {
    let backup = Arc::clone(backup);
    tokio::task::spawn_blocking(move || prepare(&backup, &catalog))
        .await
        .map_err(|e| BackupError::Io(format!("preparing the restore: {e}")))?
}

/// Replaces all our data with `backup`'s. Refuses while any account's
/// scheduler is enabled unless `force`; leaves every scheduler stopped.
pub async fn restore(
    store: &Store,
    backup: &Arc<Backup>,
    force: bool,
) -> Result<Restored, BackupError> {
    if !force {
        let running: i64 = crate::store::on_pool!(store, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM accounts WHERE scheduler_enabled = TRUE"
        ).fetch_one(p).await)?;
        if running > 0 {
            return Err(BackupError::SchedulersRunning);
        }
    }
    let stopped = match store.pool() {
        Pool::Sqlite(p) => {
            let mut catalog = Vec::new();
            {
                let mut conn = p.acquire().await?;
                for t in TABLES {
                    catalog.push(columns_sqlite(&mut conn, t).await?);
                }
            }
            let prepared = prepare_blocking(backup, catalog).await?;
            // IMMEDIATE: take the write lock up front rather than fail
            // half-way on a busy database.
            let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
            restore_in!(tx, &prepared, false)
        }
        Pool::Postgres(p) => {
            let mut catalog = Vec::new();
            {
                let mut conn = p.acquire().await?;
                for t in TABLES {
                    catalog.push(columns_pg(&mut conn, t).await?);
                }
            }
            let prepared = prepare_blocking(backup, catalog).await?;
            let mut tx = p.begin().await?;
            restore_in!(tx, &prepared, true)
        }
    };
    Ok(Restored {
        tables: backup
            .tables
            .iter()
            .map(|(t, rows)| (t.clone(), rows.len() as u64))
            .collect(),
        schedulers_stopped: stopped,
    })
}

/// Converts every row against the target's columns (`catalog[i]` belongs
/// to `TABLES[i]`); nothing is written yet.
fn prepare(backup: &Backup, catalog: &[Vec<Column>]) -> Result<Vec<Prepared>, BackupError> {
    backup
        .tables
        .iter()
        .zip(catalog)
        .map(|((table, rows), cols)| {
            let path = data_path(table);
            let rows = rows
                .iter()
                .enumerate()
                .map(|(i, row)| {
                    prepare_row(table, cols, row)
                        .map_err(|e| BackupError::invalid(format!("{path} row {}: {e}", i + 1)))
                })
                .collect::<Result<_, _>>()?;
            Ok(Prepared {
                table: table.clone(),
                rows,
                has_id: cols.iter().any(|c| c.name == "id"),
            })
        })
        .collect()
}

/// The INSERT for one row and its typed values; columns the backup lacks
/// (from an older schema) take their defaults.
fn prepare_row(
    table: &str,
    cols: &[Column],
    row: &Map<String, Value>,
) -> Result<(String, Vec<Val>), String> {
    if let Some(unknown) = row.keys().find(|k| !cols.iter().any(|c| &c.name == *k)) {
        return Err(format!("unknown column {unknown}"));
    }
    let mut names = Vec::new();
    let mut vals = Vec::new();
    for c in cols {
        if let Some(v) = row.get(&c.name) {
            names.push(c.name.as_str());
            vals.push(to_val(c, v)?);
        }
    }
    let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        params.join(", ")
    );
    Ok((sql, vals))
}

fn to_val(c: &Column, v: &Value) -> Result<Val, String> {
    let bad = |what: &str| format!("column {}: expected {what}, found {v}", c.name);
    Ok(match (c.kind, v) {
        (k, Value::Null) => Val::Null(k),
        (Kind::Int, v) => Val::Int(v.as_i64().ok_or_else(|| bad("an integer"))?),
        (Kind::Bool, Value::Bool(b)) => Val::Bool(*b),
        (Kind::Bool, Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
            Val::Bool(n.as_i64() == Some(1))
        }
        (Kind::Bool, _) => return Err(bad("true or false")),
        (Kind::Text, Value::String(s)) => Val::Text(s.clone()),
        (Kind::Text, _) => return Err(bad("a string")),
        (Kind::Bytes, Value::String(s)) => Val::Bytes(B64.decode(s).map_err(|_| bad("base64"))?),
        (Kind::Bytes, _) => return Err(bad("base64")),
    })
}
