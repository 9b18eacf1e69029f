//! MTProto sessions live in `accounts.session`, so one backup holds them and
//! another node can take an account over: [`Store`] as a [`SessionStore`].

use async_trait::async_trait;

use super::{Store, on_pool};
use crate::telegram::{SessionStore, SessionStoreError};

fn err(e: sqlx::Error) -> SessionStoreError {
    SessionStoreError(e.to_string())
}

#[async_trait]
impl SessionStore for Store {
    async fn load_session(&self, account_id: i64) -> Result<Option<Vec<u8>>, SessionStoreError> {
        let row: Option<Option<Vec<u8>>> = on_pool!(self, p => sqlx::query_scalar(
            "SELECT session FROM accounts WHERE id = $1"
        ).bind(account_id).fetch_optional(p).await)
        .map_err(err)?;
        Ok(row.flatten())
    }

    async fn save_session(&self, account_id: i64, data: &[u8]) -> Result<(), SessionStoreError> {
        on_pool!(self, p => sqlx::query("UPDATE accounts SET session = $1 WHERE id = $2")
            .bind(data).bind(account_id).execute(p).await.map(|_| ()))
        .map_err(err)
    }

    async fn clear_session(&self, account_id: i64) -> Result<(), SessionStoreError> {
        on_pool!(self, p => sqlx::query("UPDATE accounts SET session = NULL WHERE id = $1")
            .bind(account_id).execute(p).await.map(|_| ()))
        .map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sessions_round_trip(store: crate::store::Store) {
        let id: i64 = on_pool!(store, p => sqlx::query_scalar(
        "INSERT INTO accounts (name, phone, created_at, updated_at) VALUES ('a', '+1', 0, 0) RETURNING id"
    ).fetch_one(p).await).unwrap();
        assert_eq!(store.load_session(id).await.unwrap(), None);
        store.save_session(id, &[1, 2, 3]).await.unwrap();
        assert_eq!(store.load_session(id).await.unwrap(), Some(vec![1, 2, 3]));
        store.clear_session(id).await.unwrap();
        assert_eq!(store.load_session(id).await.unwrap(), None);
    }
    crate::store::testing::per_backend!(sessions_round_trip);
}
