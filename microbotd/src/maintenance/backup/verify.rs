//! [`verify`]: an uploaded archive is checked ([`archive::read`], on a
//! blocking thread) and then restored into a scratch SQLite database in a
//! temp dir under the state dir, whose row counts must equal the
//! manifest's. Nothing live is touched.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use super::BackupError;
use super::archive::{self, Backup};
use super::restore::restore;
use super::rows;
use super::unpack::Limits;
use crate::maintenance::tables::TABLES;
use crate::store::{Store, on_pool};

/// What an archive may hold: `backup.max_unpacked_bytes` and
/// `templates.max_chats`.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub max_unpacked: u64,
    pub max_chats: u32,
}

impl Caps {
    pub fn of(config: &crate::config::Config) -> Caps {
        Caps {
            max_unpacked: config.backup.max_unpacked_bytes,
            max_chats: config.templates.max_chats,
        }
    }
}

/// Reads and checks the archive in `file` — framing, checksums, counts and
/// every row's values — on a blocking thread.
pub async fn read_file(
    file: File,
    latest_schema: i64,
    caps: Caps,
    scratch: &Path,
) -> Result<Arc<Backup>, BackupError> {
    let scratch = scratch.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let limits = Limits {
            max_unpacked: caps.max_unpacked,
            scratch: &scratch,
        };
        let backup = archive::read(file, latest_schema, limits)?;
        rows::check(&backup, caps.max_chats)?;
        Ok(Arc::new(backup))
    })
    .await
    .map_err(|e| BackupError::Io(format!("reading the archive: {e}")))?
}

/// Checks the archive in `file` end to end; returns the checked backup.
pub async fn verify(
    file: File,
    scratch_parent: &Path,
    caps: Caps,
) -> Result<Arc<Backup>, BackupError> {
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
        let backup = read_file(file, scratch.latest_schema_version(), caps, dir.path()).await?;
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
