//! [`TABLES`]: every table microbot owns, in foreign-key order, and
//! [`columns`]: their columns read from the database's own catalog, so a
//! migration that adds a column is backed up without code changes.

use sqlx::Row;

use crate::store::{Store, StoreError, on_pool};

/// Our tables, parents before children: inserts go in this order, deletes in
/// reverse. A test fails when the schema has a table missing here.
pub const TABLES: &[&str] = &[
    "accounts",
    "targets",
    "templates",
    "template_targets",
    "media",
    "template_media",
    "deliveries",
    "audit",
    "daemon_state",
];

/// Tables added by a later schema, with that schema's version: a backup of
/// an older schema lacks them (its manifest lists [`TABLES`] without them)
/// and restores them empty.
pub const ADDED_AT: &[(&str, i64)] = &[("media", 10), ("template_media", 10)];

/// The tables a backup of `schema_version` lists, in [`TABLES`] order.
pub fn tables_of_schema(schema_version: i64) -> Vec<&'static str> {
    TABLES
        .iter()
        .copied()
        .filter(|t| {
            ADDED_AT
                .iter()
                .all(|(name, at)| name != t || schema_version >= *at)
        })
        .collect()
}

/// Tables of live cluster state (who runs, who holds which account's
/// lease): meaningful only to the nodes running now, so never backed up or
/// restored. Deleting an account (as a restore does) cascades to its lease.
pub const NOT_BACKED_UP: &[&str] = &["cluster_nodes", "account_leases"];

/// How a column's values are carried in a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// INTEGER / BIGINT (times are i64 ms).
    Int,
    Bool,
    Text,
    /// BLOB / BYTEA, base64 in the archive.
    Bytes,
}

impl Kind {
    /// Maps a declared SQL type of either backend.
    pub fn from_sql_type(t: &str) -> Option<Kind> {
        let t = t.to_ascii_lowercase();
        if t.contains("int") {
            Some(Kind::Int)
        } else if t.contains("bool") {
            Some(Kind::Bool)
        } else if t.contains("text") || t.contains("char") {
            Some(Kind::Text)
        } else if t.contains("blob") || t.contains("bytea") {
            Some(Kind::Bytes)
        } else {
            None
        }
    }
}

/// One column of one of our tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// The catalog query for a table's columns, in declaration order.
const SQLITE_COLUMNS: &str = "SELECT name, type FROM pragma_table_info($1) ORDER BY cid";
const PG_COLUMNS: &str = "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";

/// Builds [`Column`]s from (name, declared type) pairs.
fn to_columns(table: &str, raw: Vec<(String, String)>) -> Result<Vec<Column>, StoreError> {
    if raw.is_empty() {
        return Err(StoreError::Setup(format!("table {table} does not exist")));
    }
    raw.into_iter()
        .map(|(name, ty)| {
            let kind = Kind::from_sql_type(&ty).ok_or_else(|| {
                StoreError::Setup(format!("{table}.{name}: column type {ty} is not backed up"))
            })?;
            Ok(Column { name, kind })
        })
        .collect()
}

/// The columns of `table` as the connection `conn` sees them.
pub async fn columns_sqlite(
    conn: &mut sqlx::SqliteConnection,
    table: &str,
) -> Result<Vec<Column>, StoreError> {
    let rows = sqlx::query(SQLITE_COLUMNS)
        .bind(table)
        .fetch_all(conn)
        .await?;
    let raw = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<Vec<(String, String)>, sqlx::Error>>()?;
    to_columns(table, raw)
}

/// The columns of `table` as the connection `conn` sees them.
pub async fn columns_pg(
    conn: &mut sqlx::PgConnection,
    table: &str,
) -> Result<Vec<Column>, StoreError> {
    let rows = sqlx::query(PG_COLUMNS).bind(table).fetch_all(conn).await?;
    let raw = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<Vec<(String, String)>, sqlx::Error>>()?;
    to_columns(table, raw)
}

/// Every base table in the database except sqlx's bookkeeping.
pub async fn schema_tables(store: &Store) -> Result<Vec<String>, StoreError> {
    let mut names: Vec<String> = on_pool!(store, p => sqlx::query_scalar(
        match store.backend() {
            crate::store::Backend::Sqlite =>
                "SELECT name FROM sqlite_master WHERE type = 'table'
                 AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
            crate::store::Backend::Postgres =>
                "SELECT table_name::TEXT FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                 AND table_name <> '_sqlx_migrations'",
        }
    ).fetch_all(p).await)?;
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn backup_knows_every_table_of_the_schema(store: crate::store::Store) {
        let mut known: Vec<String> = TABLES
            .iter()
            .chain(NOT_BACKED_UP)
            .map(|t| t.to_string())
            .collect();
        known.sort();
        assert_eq!(
            schema_tables(&store).await.unwrap(),
            known,
            "the schema gained or lost a table: update maintenance::tables::TABLES (or NOT_BACKED_UP)"
        );
    }
    crate::store::testing::per_backend!(backup_knows_every_table_of_the_schema);

    async fn every_column_has_a_portable_kind(store: crate::store::Store) {
        for table in TABLES {
            let cols = match store.pool() {
                crate::store::Pool::Sqlite(p) => {
                    columns_sqlite(&mut p.acquire().await.unwrap(), table).await
                }
                crate::store::Pool::Postgres(p) => {
                    columns_pg(&mut p.acquire().await.unwrap(), table).await
                }
            }
            .unwrap();
            assert!(!cols.is_empty());
        }
    }
    crate::store::testing::per_backend!(every_column_has_a_portable_kind);

    #[test]
    fn kinds_of_both_dialects() {
        assert_eq!(Kind::from_sql_type("INTEGER"), Some(Kind::Int));
        assert_eq!(Kind::from_sql_type("bigint"), Some(Kind::Int));
        assert_eq!(Kind::from_sql_type("BOOLEAN"), Some(Kind::Bool));
        assert_eq!(Kind::from_sql_type("bytea"), Some(Kind::Bytes));
        assert_eq!(Kind::from_sql_type("BLOB"), Some(Kind::Bytes));
        assert_eq!(Kind::from_sql_type("text"), Some(Kind::Text));
        assert_eq!(Kind::from_sql_type("jsonb"), None);
    }
}
