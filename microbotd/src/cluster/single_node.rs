//! SQLite is single-node: [`lock_database`] takes an exclusive `flock` on
//! `<database>.lock` for the daemon's lifetime, so a second daemon on the
//! same file refuses to start. The kernel drops the lock when the process
//! dies, even by `kill -9`, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// Held while the daemon runs; dropping it releases the lock.
#[derive(Debug)]
pub struct DatabaseLock {
    _lock: Flock<File>,
    pub path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another microbotd is already using the SQLite database {} (it holds {}); SQLite is \
         single-node — stop the other daemon, or use PostgreSQL to run several",
        db.display(), lock.display()
    )]
    InUse { db: PathBuf, lock: PathBuf },
    #[error("cannot lock the SQLite database: {}: {source}", lock.display())]
    Io {
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The lock file of the SQLite database at `db`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Takes the exclusive lock of the SQLite database at `db`, or says who
/// holds it.
pub fn lock_database(db: &Path) -> Result<DatabaseLock, LockError> {
    let lock = lock_path(db);
    let io = |source| LockError::Io {
        lock: lock.clone(),
        source,
    };
    if let Some(dir) = lock.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(io)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(l) => Ok(DatabaseLock {
            _lock: l,
            path: lock,
        }),
        Err((_, Errno::EWOULDBLOCK)) => Err(LockError::InUse {
            db: db.to_path_buf(),
            lock,
        }),
        Err((_, e)) => Err(io(std::io::Error::from(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("microbot.db");
        let first = lock_database(&db).unwrap();
        assert_eq!(first.path, dir.path().join("microbot.db.lock"));
        let err = lock_database(&db).unwrap_err();
        assert!(matches!(err, LockError::InUse { .. }), "{err}");
        assert!(err.to_string().contains("single-node"), "{err}");
        drop(first);
        lock_database(&db).unwrap();
    }
}
