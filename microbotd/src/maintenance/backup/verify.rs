//! [`verify`]: an uploaded archive is checked ([`archive::read`]) and then
//! restored into a scratch SQLite database in a temp dir under the state
//! dir, whose row counts must equal the manifest's. Nothing live is touched.

use std::path::Path;

use super::BackupError;
use super::archive::{self, Backup};
use super::restore::restore;
use crate::maintenance::tables::TABLES;
use crate::store::{Store, on_pool};

/// Checks `bytes` end to end; returns the checked backup.
pub async fn verify(bytes: &[u8], scratch_parent: &Path) -> Result<Backup, BackupError> {
    let dir = tempfile::Builder::new()
        .prefix("verify-")
        .tempdir_in(scratch_parent)
        .map_err(|e| {
            BackupError::Io(format!(
                "cannot make a scratch dir in {}: {e}",
                scratch_parent.display()
            ))
        })?;
    let url = format!("sqlite://{}", dir.path().join("scratch.db").display());
    let scratch = Store::open(&url, 1).await?;
    let result = async {
        scratch.migrate().await?;
        let backup = archive::read(bytes, scratch.latest_schema_version())?;
        restore(&scratch, &backup, true).await?;
        for t in &backup.manifest.tables {
            let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", t.name));
            debug_assert!(TABLES.contains(&t.name.as_str()));
            let n: i64 = on_pool!(scratch, p => sqlx::query_scalar(sql).fetch_one(p).await)?;
            if n as u64 != t.rows {
                return Err(BackupError::invalid(format!(
                    "{}: restored {n} rows, manifest.json says {}",
                    t.name, t.rows
                )));
            }
        }
        Ok(backup)
    }
    .await;
    scratch.close().await;
    result
}
