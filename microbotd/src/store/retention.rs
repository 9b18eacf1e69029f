//! Pruning the delivery log (`[retention] deliveries_days`): finished rows
//! older than a cutoff go in batches, each its own short statement, so a
//! large backlog never holds the database for long. Pending and sending
//! rows are never touched: they are the outbox, not the log.

use super::states::DeliveryState;
use super::{Store, StoreError, on_pool};

impl Store {
    /// Deletes finished deliveries created and last changed before
    /// `cutoff_ms`, `batch` rows per statement; returns how many went.
    pub async fn prune_deliveries(&self, cutoff_ms: i64, batch: i64) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM deliveries WHERE id IN (
                 SELECT id FROM deliveries
                 WHERE state IN {} AND created_at < $1 AND updated_at < $1
                 ORDER BY id LIMIT $2)",
            DeliveryState::sql_list(DeliveryState::FINISHED)
        );
        let mut total = 0;
        loop {
            let n = on_pool!(self, p => sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(cutoff_ms).bind(batch).execute(p).await.map(|r| r.rows_affected()))?;
            total += n;
            if n < batch as u64 {
                return Ok(total);
            }
            // Let sends and control calls in between batches.
            tokio::task::yield_now().await;
        }
    }

    /// When the oldest finished delivery was last changed (Unix ms).
    pub async fn oldest_finished_delivery(&self) -> Result<Option<i64>, StoreError> {
        let sql = format!(
            "SELECT MIN(updated_at) FROM deliveries WHERE state IN {}",
            DeliveryState::sql_list(DeliveryState::FINISHED)
        );
        Ok(on_pool!(self, p => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(p).await)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::on_pool;

    async fn only_old_finished_rows_go(store: crate::store::Store) {
        // (state, created_at, updated_at): ids 1..=7.
        let rows = [
            ("sent", 10, 10),
            ("failed", 10, 20),
            ("missed", 10, 10),
            ("cancelled", 10, 10),
            ("pending", 10, 10),
            ("sending", 10, 10),
            ("sent", 10, 500),
        ];
        for (i, (state, created, updated)) in rows.iter().enumerate() {
            on_pool!(store, p => sqlx::query(
            "INSERT INTO deliveries (account_id, template_id, target_id, slot, state,
                 random_id, created_at, updated_at) VALUES (1, 1, 1, $1, $2, $1, $3, $4)"
        ).bind(i as i64).bind(*state).bind(*created).bind(*updated).execute(p).await.map(drop))
            .unwrap();
        }
        assert_eq!(store.oldest_finished_delivery().await.unwrap(), Some(10));
        // Batches of 2: three full batches' worth would loop; 4 rows go.
        assert_eq!(store.prune_deliveries(100, 2).await.unwrap(), 4);
        let left: Vec<String> = on_pool!(store, p => sqlx::query_scalar(
        "SELECT state FROM deliveries ORDER BY id"
    ).fetch_all(p).await)
        .unwrap();
        assert_eq!(left, ["pending", "sending", "sent"]);
        assert_eq!(store.prune_deliveries(100, 2).await.unwrap(), 0);
        assert_eq!(store.oldest_finished_delivery().await.unwrap(), Some(500));
    }
    crate::store::testing::per_backend!(only_old_finished_rows_go);
}
