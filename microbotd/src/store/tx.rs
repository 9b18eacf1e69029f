//! [`Tx`]: a transaction on whichever backend is open, for writes that must
//! be all-or-nothing (a template with its targets, a whole `template apply`).
//! Dropping a `Tx` without [`Tx::commit`] rolls it back.

use super::{Pool, Store, StoreError};

/// An open transaction of either backend.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection; like
/// `on_pool!`, the body is compiled once per backend.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::store::tx::Tx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            $crate::store::tx::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl Store {
    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self.pool() {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// Starts a transaction that reads what it will write: SQLite takes
    /// the write lock up front (BEGIN IMMEDIATE), so nothing changes
    /// between the read and the write; on PostgreSQL the reads lock their
    /// rows (`FOR UPDATE`).
    pub async fn begin_write(&self) -> Result<Tx, StoreError> {
        Ok(match self.pool() {
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }
}

impl Tx {
    /// Makes every write of the transaction durable.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}
