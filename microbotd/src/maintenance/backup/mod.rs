//! Backups: [`snapshot`] reads every table in one read transaction,
//! [`archive`] writes and reads the `.tar.gz` (manifest, per-table JSON
//! lines, redacted config), [`verify`] restores into a scratch SQLite
//! database, [`restore`] replaces the live data in one transaction.
//!
//! # Format (version [`FORMAT`])
//! ```text
//! manifest.json          microbot version, schema version, source backend,
//!                        created_at, per table its row count, per member its sha256
//! data/<table>.jsonl     one JSON object per row: every column; bytes base64,
//!                        times the stored i64 milliseconds
//! config.toml            the daemon's config, secrets redacted
//! ```
//! The format lives only here, in the daemon; the CLI moves bytes.

pub mod archive;
pub mod restore;
mod rows;
pub mod snapshot;
mod unpack;
pub mod verify;

pub use unpack::Limits;

use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// The archive layout version written into every manifest.
pub const FORMAT: u32 = 1;

/// Names of backup files: `microbot-20261128T053000Z.tar.gz`.
pub const FILE_PREFIX: &str = "microbot-";
pub const FILE_SUFFIX: &str = ".tar.gz";

/// The file name of a backup taken at `at`.
pub fn file_name(at: chrono::DateTime<chrono::Utc>) -> String {
    format!("{FILE_PREFIX}{}{FILE_SUFFIX}", at.format("%Y%m%dT%H%M%SZ"))
}

/// Whether `name` is one of our backup files (retention and doctor look
/// only at these).
pub fn is_backup_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix(FILE_PREFIX)
        .and_then(|s| s.strip_suffix(FILE_SUFFIX))
    else {
        return false;
    };
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%SZ").is_ok()
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub microbot_version: String,
    pub schema_version: i64,
    /// "sqlite" or "postgres": where the data came from.
    pub backend: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub tables: Vec<TableEntry>,
    pub members: Vec<MemberEntry>,
    /// The session key ids the Telegram sessions in it are sealed under
    /// (a restore needs those keys to send; without them the accounts
    /// show `sealed`). Absent in archives of older versions.
    #[serde(default)]
    pub session_key_ids: Vec<String>,
    /// Sessions stored in clear (a daemon without a session key).
    #[serde(default)]
    pub sessions_in_clear: i64,
}

/// One table in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    pub rows: u64,
}

/// One archive member and its checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEntry {
    pub path: String,
    pub sha256: String,
}

/// The path of a table's data inside the archive.
pub fn data_path(table: &str) -> String {
    format!("data/{table}.jsonl")
}

/// Why a backup could not be made, read or restored. The message names the
/// member and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The archive or its content is damaged or not ours.
    #[error("{0}")]
    Invalid(String),
    /// Schedulers are running and `--force` was not given.
    #[error("stop the schedulers first: microbotctl scheduler stop --all")]
    SchedulersRunning,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Io(String),
}

impl BackupError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        BackupError::Invalid(msg.into())
    }
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(StoreError::Query(e))
    }
}

impl From<BackupError> for crate::control::error::ApiError {
    fn from(e: BackupError) -> Self {
        use crate::control::error::ApiError;
        match e {
            BackupError::Invalid(m) => ApiError::invalid("backup", m),
            BackupError::SchedulersRunning => ApiError::FailedPrecondition(e.to_string()),
            BackupError::Store(s) => ApiError::from(s),
            BackupError::Io(m) => ApiError::Internal(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-28T05:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(file_name(at), "microbot-20261128T053000Z.tar.gz");
        assert!(is_backup_name("microbot-20261128T053000Z.tar.gz"));
        assert!(!is_backup_name("microbot-latest.tar.gz"));
        assert!(!is_backup_name("other-20261128T053000Z.tar.gz"));
        assert!(!is_backup_name("microbot-20261128T053000Z.tar.gz.tmp"));
    }
}
