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
    /// A remote caller's client certificate CN (uid is then -1).
    pub subject: Option<String>,
}

/// One audit row to write.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewAudit<'a> {
    pub at_ms: i64,
    pub uid: u32,
    pub pid: Option<i32>,
    /// A remote caller's certificate CN; the row's uid is then -1.
    pub subject: Option<&'a str>,
    pub method: &'a str,
    pub target: Option<&'a str>,
    pub result: &'a str,
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
    pub async fn audit_append(&self, row: &NewAudit<'_>) -> Result<(), StoreError> {
        // Remote callers have no uid: -1, with the certificate's CN.
        let uid = if row.subject.is_some() {
            -1
        } else {
            i64::from(row.uid)
        };
        on_pool!(self, p => sqlx::query(
            "INSERT INTO audit (at, uid, pid, method, target, result, subject)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(row.at_ms)
        .bind(uid)
        .bind(row.pid.map(i64::from))
        .bind(printable(row.method))
        .bind(row.target.map(printable))
        .bind(printable(row.result))
        .bind(row.subject.map(printable))
        .execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Audit rows, newest last.
    pub async fn audit_list(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = if f.limit > 0 { f.limit } else { 1000 };
        Ok(on_pool!(self, p => sqlx::query_as::<_, AuditEntry>(
            "SELECT * FROM (
                SELECT id, at, uid, pid, method, target, result, subject FROM audit
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

    async fn audit_round_trip_and_filters(store: crate::store::Store) {
        store
            .audit_append(&NewAudit {
                at_ms: 1000,
                pid: Some(10),
                method: "a.x",
                target: Some("t1"),
                result: "ok",
                ..NewAudit::default()
            })
            .await
            .unwrap();
        store
            .audit_append(&NewAudit {
                at_ms: 2000,
                uid: 1000,
                method: "a.y",
                result: "PERMISSION_DENIED",
                ..NewAudit::default()
            })
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
    }
    crate::store::testing::per_backend!(audit_round_trip_and_filters);
}
