//! The state directory (database, dry-run ledger): created 0700 on first
//! start and checked writable before anything else is created in it.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// The state dir is missing and cannot be made, or is not writable.
#[derive(Debug, thiserror::Error)]
#[error("daemon.state_dir {}: {reason}", path.display())]
pub struct StateDirError {
    pub path: std::path::PathBuf,
    pub reason: String,
}

/// Creates `dir` (mode 0700) when missing and proves it is writable.
pub fn prepare(dir: &Path) -> Result<(), StateDirError> {
    let err = |reason: String| StateDirError {
        path: dir.to_path_buf(),
        reason,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| err(format!("cannot create: {e}")))?;
    }
    let meta = std::fs::metadata(dir).map_err(|e| err(e.to_string()))?;
    if !meta.is_dir() {
        return Err(err("not a directory".into()));
    }
    let probe = dir.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .and_then(|()| std::fs::remove_file(&probe))
        .map_err(|e| err(format!("not writable: {e}")))?;
    if meta.permissions().mode() & 0o007 != 0 {
        tracing::warn!(state_dir = %dir.display(), "state dir is accessible to others; it holds Telegram sessions (chmod 0700 it)");
    }
    Ok(())
}
