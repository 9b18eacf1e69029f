//! Row counts grouped by state, one query each, for the metrics endpoint.

use super::{Store, StoreError, on_pool};

impl Store {
    /// Open deliveries (`pending`, `sending`) per state.
    pub async fn outbox_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT state, COUNT(*) FROM deliveries
             WHERE state IN ('pending', 'sending') GROUP BY state"
        ).fetch_all(p).await)?;
        Ok(rows)
    }

    /// Accounts per state, `sealed` (a session under a key this daemon
    /// lacks) counted as its own state, as `account list` shows it.
    pub async fn accounts_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = format!(
            "SELECT s, COUNT(*) FROM (SELECT CASE WHEN {} THEN 'sealed' ELSE state END AS s
                                      FROM accounts) a GROUP BY s",
            self.session_sealed_sql("")
        );
        let rows: Vec<(String, i64)> =
            on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
        Ok(rows)
    }
}
