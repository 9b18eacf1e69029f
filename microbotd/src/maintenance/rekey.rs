//! `microbotd rekey --new-key-file F`: re-seals every stored Telegram
//! session under a new session key, offline (every daemon on the database
//! stopped; on SQLite the database lock proves it).
//!
//! Sessions are read with the key the configuration names (the systemd
//! credential `session_key` or `telegram.session_key_file`; sessions still
//! in clear need none) and with the new key, written under the new key one
//! row per statement, each only if the row still carries the key id it was
//! read under. Every row names its key id, so a kill at any point leaves
//! each row whole under the old key or the new, and running the command
//! again finishes the job: the old key keeps being read until no row needs
//! it. Only then should the daemon be given the new key.

use std::io::Write;
use std::path::Path;

use crate::config::Config;
use crate::seal::{KeyId, Keyring, SessionKey};
use crate::store::session_keys::Resealed;
use crate::store::{Backend, Store, StoreError};

/// Why `rekey` stopped.
#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error("--new-key-file: {0}")]
    NewKey(String),
    #[error(transparent)]
    Lock(#[from] crate::cluster::single_node::LockError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing progress: {0}")]
    Output(#[from] std::io::Error),
    #[error(
        "{failed} sessions could not be opened with the configured key or the new one and were \
         left as they were (listed above); give the key they are sealed under as the configured \
         session key and run rekey again"
    )]
    Unopened { failed: usize },
}

/// What a finished run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekeyReport {
    pub new_key: KeyId,
    pub resealed: usize,
}

/// Runs the whole re-sealing, writing one progress line per row to `out`.
pub async fn run(
    config: &Config,
    new_key_file: &Path,
    out: &mut impl Write,
) -> Result<RekeyReport, RekeyError> {
    let new_key = SessionKey::from_file(new_key_file, true).map_err(RekeyError::NewKey)?;
    let new_id = new_key.id();
    // SQLite is single-node: holding its lock proves no daemon is running.
    let _lock = match crate::store::sqlite_path(&config.database.url) {
        Some(file) if Backend::from_url(&config.database.url).ok() == Some(Backend::Sqlite) => {
            Some(crate::cluster::single_node::lock_database(&file)?)
        }
        _ => None,
    };
    let mut ring = Keyring::new(Some(new_key));
    if let Some(old) = config.telegram.session_key.clone() {
        ring = ring.with_older(old);
    }
    let store = Store::open(&config.database.url, config.database.max_connections)
        .await?
        .with_keys(ring);
    store.migrate().await?;
    let total = store.sessions_to_reseal().await?;
    writeln!(
        out,
        "re-sealing {total} sessions under session key {new_id}"
    )?;
    let (mut after, mut done, mut failed) = (0, 0, 0);
    while let Some((id, step)) = store.reseal_next(after).await? {
        after = id;
        match step {
            Resealed::Done { account, from } => {
                done += 1;
                let from = from.unwrap_or_else(|| "clear".into());
                writeln!(out, "resealed {account} ({from} -> {new_id})")?;
            }
            Resealed::Failed { account, why } => {
                failed += 1;
                writeln!(out, "NOT resealed {account}: {why}")?;
            }
        }
    }
    store.close().await;
    if failed > 0 {
        return Err(RekeyError::Unopened { failed });
    }
    writeln!(
        out,
        "done: every session is sealed under key {new_id}; now give the daemon(s) the new key \
         (systemd credential session_key or telegram.session_key_file) and start them"
    )?;
    Ok(RekeyReport {
        new_key: new_id,
        resealed: done,
    })
}
