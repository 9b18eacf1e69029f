//! The audit trail: one row per mutating control call (who, what, on what,
//! with what result).

use super::{Store, StoreError, on_pool};

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix milliseconds.
    pub at: i64,
    pub uid: i64,
    pub pid: Option<i64>,
    /// The RPC, e.g. `template.create`.
    pub method: String,
    /// What it acted on (`template 12`, `account sales-tr`), if anything.
    pub target: Option<String>,
    /// `ok`, or the error's code and message.
    pub result: String,
}

/// Filters for [`Store::audit_list`].
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub since_ms: Option<i64>,
    pub uid: Option<i64>,
    pub limit: i64,
}

/// NUL cannot be stored in PostgreSQL text; a refused request may carry
/// one into its audit row.
fn printable(s: &str) -> String {
    s.replace('\0', "\\0")
}

impl Store {
    /// Appends an audit row.
    pub async fn audit_append(
        &self,
        at_ms: i64,
        uid: u32,
        pid: Option<i32>,
        method: &str,
        target: Option<&str>,
        result: &str,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO audit (at, uid, pid, method, target, result) VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(at_ms)
        .bind(i64::from(uid))
        .bind(pid.map(i64::from))
        .bind(printable(method))
        .bind(target.map(printable))
        .bind(printable(result))
        .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Audit rows, newest last.
    pub async fn audit_list(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = if f.limit > 0 { f.limit } else { 1000 };
        Ok(on_pool!(self, p => sqlx::query_as::<_, AuditEntry>(
            "SELECT * FROM (
                SELECT id, at, uid, pid, method, target, result FROM audit
                WHERE ($1 IS NULL OR at >= $1) AND ($2 IS NULL OR uid = $2)
                ORDER BY id DESC LIMIT $3
             ) newest ORDER BY id"
        )
        .bind(f.since_ms)
        .bind(f.uid)
        .bind(limit)
        .fetch_all(p).await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::for_each_backend;

    #[tokio::test]
    async fn audit_round_trip_and_filters() {
        for_each_backend(|store| async move {
            store
                .audit_append(1000, 0, Some(10), "a.x", Some("t1"), "ok")
                .await
                .unwrap();
            store
                .audit_append(2000, 1000, None, "a.y", None, "PERMISSION_DENIED")
                .await
                .unwrap();
            let all = store.audit_list(&AuditFilter::default()).await.unwrap();
            assert_eq!(all.len(), 2);
            assert_eq!(all[0].method, "a.x");
            assert_eq!(all[0].pid, Some(10));
            let by_uid = store
                .audit_list(&AuditFilter {
                    uid: Some(1000),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(by_uid.len(), 1);
            let since = store
                .audit_list(&AuditFilter {
                    since_ms: Some(1500),
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(since.len(), 1);
            assert_eq!(since[0].result, "PERMISSION_DENIED");
        })
        .await;
    }
}
