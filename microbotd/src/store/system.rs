//! Daemon-wide reads: counts for `status`, and the `daemon_state` key/value
//! table for small facts that must survive restarts.

use super::states::DeliveryState;
use super::{Store, StoreError, on_pool};

/// Row counts shown by `microbotctl status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub accounts: u64,
    pub templates: u64,
    pub active_templates: u64,
    pub pending_deliveries: u64,
}

/// One upcoming slot, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NextSlot {
    pub template_id: i64,
    pub template_name: String,
    pub account: String,
    pub due_ms: i64,
}

impl Store {
    /// The `limit` earliest next slots of active templates.
    pub async fn next_slots(&self, limit: i64) -> Result<Vec<NextSlot>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, NextSlot>(
            "SELECT t.id AS template_id, t.name AS template_name, a.name AS account,
                    t.next_slot AS due_ms
             FROM templates t JOIN accounts a ON a.id = t.account_id
             WHERE t.active = TRUE AND t.next_slot IS NOT NULL
             ORDER BY t.next_slot, t.id LIMIT $1"
        ).bind(limit).fetch_all(p).await)?)
    }

    pub async fn counts(&self) -> Result<Counts, StoreError> {
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM accounts),
                    (SELECT COUNT(*) FROM templates),
                    (SELECT COUNT(*) FROM templates WHERE active = TRUE),
                    (SELECT COUNT(*) FROM deliveries WHERE state IN {})",
            DeliveryState::sql_list(DeliveryState::OPEN)
        );
        let (a, t, at, p): (i64, i64, i64, i64) =
            on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_one(p).await)?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(Counts {
            accounts: n(a),
            templates: n(t),
            active_templates: n(at),
            pending_deliveries: n(p),
        })
    }

    /// Reads a `daemon_state` value.
    pub async fn state_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT value FROM daemon_state WHERE key = $1"
        ).bind(key).fetch_optional(p).await)?)
    }

    /// Writes a `daemon_state` value.
    pub async fn state_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO daemon_state (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        ).bind(key).bind(value).execute(p).await.map(|_| ()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {

    async fn counts_and_state_on_both_backends(store: crate::store::Store) {
        let c = store.counts().await.unwrap();
        assert_eq!(c.accounts, 0);
        assert_eq!(store.state_get("k").await.unwrap(), None);
        store.state_set("k", "1").await.unwrap();
        store.state_set("k", "2").await.unwrap();
        assert_eq!(store.state_get("k").await.unwrap().as_deref(), Some("2"));
        assert_eq!(
            store.schema_version().await.unwrap(),
            store.latest_schema_version()
        );
    }
    crate::store::testing::per_backend!(counts_and_state_on_both_backends);
}
