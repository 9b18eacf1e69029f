//! MTProto sessions live in `accounts.session`, so one backup holds them and
//! another node can take an account over — sealed under the store's session
//! key (`crate::seal`) with the key's id in `accounts.session_key_id`
//! (NULL: stored in clear, without a key).
//!
//! * [`Store`] as a [`SessionStore`]: unfenced reads and writes (logins on a
//!   single node, doctor, tests).
//! * [`FencedSessions`]: what the live transport writes through. On
//!   PostgreSQL each save is conditional on the account's lease
//!   ([`lease_fence`]): a stale owner's save changes nothing and drops the
//!   account (issue 12, item 3).
//! * Start-up sealing of plain sessions and `microbotd rekey` live in
//!   [`super::session_keys`].

use async_trait::async_trait;

use super::cluster::{PG_NOW_MS, lease_fence};
use super::{Backend, Store, StoreError, on_pool};
use crate::cluster::Leases;
use crate::seal::SealError;
use crate::telegram::{SessionStore, SessionStoreError};

fn err(e: impl std::fmt::Display) -> SessionStoreError {
    SessionStoreError(e.to_string())
}

/// How a session write is fenced by the account's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionFence<'a> {
    /// Single node (SQLite), or a control-plane write outside the cluster.
    None,
    /// This node holds the account under `epoch`: write only while it still does.
    Held { node: &'a str, epoch: i64 },
    /// This node does not hold the account (a login here): write only while
    /// no other node holds an unexpired lease on it.
    NotHeld { node: &'a str },
}

impl Store {
    /// SQL true when this store can open the session of the account whose
    /// `session_key_id` column is `col`: stored in clear, or sealed under a
    /// key it has. Key ids are hex digits of our own making, so inlining
    /// them is safe.
    pub fn session_openable_sql(&self, col: &str) -> String {
        let ids: Vec<String> = self
            .keys()
            .ids()
            .iter()
            .map(|id| format!("'{}'", id.to_hex()))
            .collect();
        if ids.is_empty() {
            format!("({col} IS NULL)")
        } else {
            format!("({col} IS NULL OR {col} IN ({}))", ids.join(", "))
        }
    }

    /// The session of `account_id`, opened; `None` when none is stored.
    pub async fn session_load(&self, account_id: i64) -> Result<Option<Vec<u8>>, SessionLoadError> {
        let row: Option<(Option<Vec<u8>>, Option<String>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT session, session_key_id FROM accounts WHERE id = $1"
        ).bind(account_id).fetch_optional(p).await)?;
        match row {
            Some((Some(bytes), Some(_))) => match self.keys().open(account_id, &bytes) {
                Ok(plain) => Ok(Some(plain)),
                Err(why) => Err(SessionLoadError::Sealed {
                    account: account_id,
                    why,
                }),
            },
            Some((Some(bytes), None)) => Ok(Some(bytes)),
            _ => Ok(None),
        }
    }

    /// Seals `data` (when the store has a key) and writes it under `fence`.
    /// A session sealed under a key this store does not have is never
    /// overwritten. Returns false when the write changed nothing.
    pub async fn session_save(
        &self,
        account_id: i64,
        data: &[u8],
        fence: SessionFence<'_>,
    ) -> Result<bool, StoreError> {
        let (bytes, key_id) = match self.keys().seal(account_id, data) {
            Ok(Some(sealed)) => (sealed.bytes, Some(sealed.key_id.to_hex())),
            Ok(None) => (data.to_vec(), None),
            Err(e) => return Err(StoreError::Setup(e.to_string())),
        };
        let openable = self.session_openable_sql("session_key_id");
        let fenced = match (fence, self.backend()) {
            (SessionFence::None, _) | (_, Backend::Sqlite) => String::new(),
            (SessionFence::Held { .. }, Backend::Postgres) => {
                format!(
                    " AND {}",
                    lease_fence(Backend::Postgres, "accounts.id", "$4", "$5")
                )
            }
            (SessionFence::NotHeld { .. }, Backend::Postgres) => format!(
                " AND NOT EXISTS (SELECT 1 FROM account_leases o WHERE o.account_id = accounts.id \
                 AND o.owner IS NOT NULL AND o.owner <> $4 AND o.expires_at > {PG_NOW_MS})"
            ),
        };
        let (node, epoch) = match fence {
            SessionFence::None => (None, None),
            SessionFence::Held { node, epoch } => (Some(node), Some(epoch)),
            SessionFence::NotHeld { node } => (Some(node), None),
        };
        let sql = format!(
            "UPDATE accounts SET session = $1, session_key_id = $2
             WHERE id = $3 AND {openable}{fenced}"
        );
        let done = on_pool!(self, p => {
            let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(bytes).bind(key_id).bind(account_id);
            match (fenced.is_empty(), epoch) {
                (true, _) => q.execute(p).await,
                (false, Some(epoch)) => q.bind(node).bind(epoch).execute(p).await,
                (false, None) => q.bind(node).execute(p).await,
            }
            .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Drops the session (logout).
    pub async fn session_clear(&self, account_id: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE accounts SET session = NULL, session_key_id = NULL WHERE id = $1"
        ).bind(account_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// (account name, why) of every sealed session under a key this store
    /// has that still does not open (moved from another account's row, or
    /// altered). Decrypts each one: for `doctor`, not for hot paths.
    pub async fn unopenable_sessions(&self) -> Result<Vec<(String, SealError)>, StoreError> {
        let sql = format!(
            "SELECT id, name, session FROM accounts
             WHERE session IS NOT NULL AND session_key_id IS NOT NULL AND {} ORDER BY name",
            self.session_openable_sql("session_key_id")
        );
        let rows: Vec<(i64, String, Vec<u8>)> =
            on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, name, blob)| self.keys().open(id, &blob).err().map(|e| (name, e)))
            .collect())
    }

    /// (account name, key id) of every stored session this store cannot
    /// open: shown as state `sealed`.
    pub async fn sealed_accounts(&self) -> Result<Vec<(String, String)>, StoreError> {
        let sql = format!(
            "SELECT name, session_key_id FROM accounts
             WHERE session IS NOT NULL AND NOT {} ORDER BY name",
            self.session_openable_sql("session_key_id")
        );
        Ok(on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?)
    }
}

/// A stored session could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SessionLoadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("account {account}: {why}")]
    Sealed { account: i64, why: SealError },
}

impl From<sqlx::Error> for SessionLoadError {
    fn from(e: sqlx::Error) -> Self {
        SessionLoadError::Store(e.into())
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn load_session(&self, account_id: i64) -> Result<Option<Vec<u8>>, SessionStoreError> {
        self.session_load(account_id).await.map_err(err)
    }

    async fn save_session(&self, account_id: i64, data: &[u8]) -> Result<(), SessionStoreError> {
        match self
            .session_save(account_id, data, SessionFence::None)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_saved()),
            Err(e) => Err(err(e)),
        }
    }

    async fn clear_session(&self, account_id: i64) -> Result<(), SessionStoreError> {
        self.session_clear(account_id).await.map_err(err)
    }
}

fn not_saved() -> SessionStoreError {
    SessionStoreError(
        "session not saved: another node holds the account's lease, or the stored session is \
         sealed under a key this daemon does not have"
            .into(),
    )
}

/// The sessions as the live transport sees them: every save fenced by this
/// node's lease on the account (see the module docs).
#[derive(Clone, Debug)]
pub struct FencedSessions {
    pub store: Store,
    pub leases: Leases,
}

#[async_trait]
impl SessionStore for FencedSessions {
    async fn load_session(&self, account_id: i64) -> Result<Option<Vec<u8>>, SessionStoreError> {
        self.store.load_session(account_id).await
    }

    async fn save_session(&self, account_id: i64, data: &[u8]) -> Result<(), SessionStoreError> {
        let (fence, epoch) = match self.leases.fence_node() {
            None => (SessionFence::None, None),
            Some(node) => match self.leases.held(account_id) {
                Some(epoch) => (SessionFence::Held { node, epoch }, Some(epoch)),
                None => (SessionFence::NotHeld { node }, None),
            },
        };
        match self.store.session_save(account_id, data, fence).await {
            Ok(true) => Ok(()),
            Ok(false) => {
                if let Some(epoch) = epoch {
                    self.leases.lost(account_id, epoch);
                }
                Err(not_saved())
            }
            Err(e) => Err(err(e)),
        }
    }

    async fn clear_session(&self, account_id: i64) -> Result<(), SessionStoreError> {
        self.store.clear_session(account_id).await
    }
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
