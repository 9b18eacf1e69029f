//! Row counts grouped by state, one query each, for the metrics endpoint.

use super::states::{AccountState, DeliveryState};
use super::{Store, StoreError, on_pool};

impl Store {
    /// Open deliveries (`pending`, `sending`) per state.
    pub async fn outbox_by_state(&self) -> Result<Vec<(DeliveryState, i64)>, StoreError> {
        let sql = format!(
            "SELECT state, COUNT(*) FROM deliveries
             WHERE state IN {} GROUP BY state",
            DeliveryState::sql_list(DeliveryState::OPEN)
        );
        let rows: Vec<(DeliveryState, i64)> =
            on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Accounts per state.
    pub async fn accounts_by_state(&self) -> Result<Vec<(AccountState, i64)>, StoreError> {
        let rows: Vec<(AccountState, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT state, COUNT(*) FROM accounts GROUP BY state"
        ).fetch_all(p).await)?;
        Ok(rows)
    }
}
