//! [`verify`]: an uploaded archive is checked ([`archive::read`], on a
//! blocking thread) and then restored into a scratch SQLite database in a
//! temp dir under the state dir, whose row counts must equal the
//! manifest's. Nothing live is touched.

use std::fs::File;
use std::path::Path;

use super::BackupError;
use super::archive::{self, Backup};
use super::restore::restore;
use super::unpack::Limits;
use crate::maintenance::tables::TABLES;
use crate::store::{Store, on_pool};

/// Reads and checks the archive in `file` on a blocking thread.
pub async fn read_file(
    file: File,
    latest_schema: i64,
    max_unpacked: u64,
    scratch: &Path,
) -> Result<Backup, BackupError> {
    let scratch = scratch.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let limits = Limits {
            max_unpacked,
            scratch: &scratch,
        };
        archive::read(file, latest_schema, limits)
    })
    .await
    .map_err(|e| BackupError::Io(format!("reading the archive: {e}")))?
}

/// Checks the archive in `file` end to end; returns the checked backup.
pub async fn verify(
    file: File,
    scratch_parent: &Path,
    max_unpacked: u64,
) -> Result<Backup, BackupError> {
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
        let backup = read_file(
            file,
            scratch.latest_schema_version(),
            max_unpacked,
            dir.path(),
        )
        .await?;
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
