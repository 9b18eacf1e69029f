//! Moving stored sessions between keys: sealing the plain ones on the first
//! start with a key (one transaction), and `microbotd rekey`'s re-sealing
//! under a new key, one row per statement so a kill at any point leaves
//! every row whole under one key id or the other (the id is in the row).

use super::tx::on_tx;
use super::{Store, StoreError, on_pool};
use crate::seal::{KeyId, SealError};

/// One row `rekey` has dealt with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resealed {
    /// Now sealed under the current key (`from` was its key id, `None`: clear).
    Done {
        account: String,
        from: Option<String>,
    },
    /// Could not be opened with any key given; left as it was.
    Failed { account: String, why: SealError },
}

impl Store {
    /// Seals every session stored in clear under the current key, in one
    /// transaction; returns how many. Without a current key: 0.
    pub async fn seal_plain_sessions(&self) -> Result<u64, StoreError> {
        if self.keys().current_id().is_none() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let rows: Vec<(i64, Vec<u8>)> = on_tx!(&mut tx, c => sqlx::query_as(
            "SELECT id, session FROM accounts
             WHERE session IS NOT NULL AND session_key_id IS NULL ORDER BY id"
        ).fetch_all(&mut *c).await)?;
        let mut sealed = 0;
        for (id, plain) in rows {
            let Some(s) = self
                .keys()
                .seal(id, &plain)
                .map_err(|e| StoreError::Setup(e.to_string()))?
            else {
                break;
            };
            let done = on_tx!(&mut tx, c => sqlx::query(
                "UPDATE accounts SET session = $1, session_key_id = $2
                 WHERE id = $3 AND session_key_id IS NULL"
            ).bind(s.bytes).bind(s.key_id.to_hex()).bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
            sealed += done;
        }
        tx.commit().await?;
        Ok(sealed)
    }

    /// Re-seals the next session (by account id, after `after`) not yet
    /// under the current key: opened with any key of the ring (or read in
    /// clear), sealed under the current one, written only if the row still
    /// carries the key id it was read under. `None` when no row is left.
    pub async fn reseal_next(&self, after: i64) -> Result<Option<(i64, Resealed)>, StoreError> {
        let Some(current) = self.keys().current_id().map(|k| k.to_hex()) else {
            return Err(StoreError::Setup(
                "no current session key to re-seal under".into(),
            ));
        };
        let row: Option<(i64, String, Vec<u8>, Option<String>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT id, name, session, session_key_id FROM accounts
             WHERE id > $1 AND session IS NOT NULL
               AND (session_key_id IS NULL OR session_key_id <> $2)
             ORDER BY id LIMIT 1"
        ).bind(after).bind(&current).fetch_optional(p).await)?;
        let Some((id, account, stored, from)) = row else {
            return Ok(None);
        };
        let plain = match &from {
            None => stored,
            Some(_) => match self.keys().open(id, &stored) {
                Ok(p) => p,
                Err(why) => return Ok(Some((id, Resealed::Failed { account, why }))),
            },
        };
        let sealed = match self.keys().seal(id, &plain) {
            Ok(Some(s)) => s,
            Ok(None) => unreachable!("a current key was checked above"),
            Err(why) => return Ok(Some((id, Resealed::Failed { account, why }))),
        };
        on_pool!(self, p => sqlx::query(
            "UPDATE accounts SET session = $1, session_key_id = $2
             WHERE id = $3 AND COALESCE(session_key_id, '') = COALESCE($4, '')"
        ).bind(sealed.bytes).bind(&current).bind(id).bind(&from).execute(p).await.map(|_| ()))?;
        Ok(Some((id, Resealed::Done { account, from })))
    }

    /// How many stored sessions are not under the current key.
    pub async fn sessions_to_reseal(&self) -> Result<i64, StoreError> {
        let current = self.keys().current_id().map(|k| k.to_hex());
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "SELECT COUNT(*) FROM accounts WHERE session IS NOT NULL
               AND COALESCE(session_key_id, '') <> COALESCE($1, '')"
        ).bind(current).fetch_one(p).await)?)
    }

    /// The distinct key ids stored sessions are sealed under (for a
    /// backup's manifest); a session in clear adds nothing.
    pub async fn session_key_ids(&self) -> Result<Vec<KeyId>, StoreError> {
        let ids: Vec<String> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT DISTINCT session_key_id FROM accounts
             WHERE session IS NOT NULL AND session_key_id IS NOT NULL ORDER BY session_key_id"
        ).fetch_all(p).await)?;
        Ok(ids.iter().filter_map(|s| KeyId::parse(s)).collect())
    }
}
