//! Targets: one `targets` row per (account, canonical chat). Templates only
//! create and find them; the dispatcher fills in the peer columns when it
//! first resolves the chat, and every template naming the chat shares that.

use super::StoreError;
use super::tx::{Tx, on_tx};

impl Tx {
    /// The `targets` ids of `specs` (canonical forms from `parse_target`)
    /// for `account_id`, creating rows that do not exist yet. Same order as
    /// `specs`.
    pub async fn target_ids(
        &mut self,
        account_id: i64,
        specs: &[String],
    ) -> Result<Vec<i64>, StoreError> {
        let mut ids = Vec::with_capacity(specs.len());
        for spec in specs {
            let id: i64 = on_tx!(self, c => {
                sqlx::query(
                    "INSERT INTO targets (account_id, spec) VALUES ($1, $2)
                     ON CONFLICT (account_id, spec) DO NOTHING",
                )
                .bind(account_id)
                .bind(spec)
                .execute(&mut *c)
                .await?;
                sqlx::query_scalar("SELECT id FROM targets WHERE account_id = $1 AND spec = $2")
                    .bind(account_id)
                    .bind(spec)
                    .fetch_one(&mut *c)
                    .await?
            });
            ids.push(id);
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::on_pool;

    async fn targets_are_shared_per_account(store: crate::store::Store) {
        let a = store.account_create("a", "+1234567", 0).await.unwrap().id;
        let b = store.account_create("b", "+1234568", 0).await.unwrap().id;
        let mut tx = store.begin().await.unwrap();
        let specs = vec!["@ops_channel".to_owned(), "-42".to_owned()];
        let first = tx.target_ids(a, &specs).await.unwrap();
        let again = tx.target_ids(a, &[specs[1].clone()]).await.unwrap();
        assert_eq!(again, [first[1]]);
        let other = tx.target_ids(b, &specs).await.unwrap();
        assert!(other.iter().all(|id| !first.contains(id)));
        tx.commit().await.unwrap();
        let n: i64 = on_pool!(store, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM targets WHERE peer_id IS NULL"
    ).fetch_one(p).await)
        .unwrap();
        assert_eq!(n, 4);
    }
    crate::store::testing::per_backend!(targets_are_shared_per_account);
}
