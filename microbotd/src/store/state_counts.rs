//! Row counts grouped by state, one query each, for the metrics endpoint.

use super::states::DeliveryState;
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

    /// Accounts per state, `sealed` (a session under a key this daemon
    /// lacks) counted as its own state, as `account list` shows it.
    pub async fn accounts_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = format!(
            "SELECT s, COUNT(*) FROM (SELECT CASE WHEN {} THEN '{}' ELSE state END AS s
                                      FROM accounts) a GROUP BY s",
            self.session_sealed_sql(""),
            super::states::SHOWN_SEALED
        );
        let rows: Vec<(String, i64)> =
            on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
        Ok(rows)
    }
}
