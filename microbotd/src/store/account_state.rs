//! Account state transitions owned by the control API: login progress,
//! logout, resume and removal ([`RemoveOutcome`]). The dispatcher writes
//! `limited`, `logged_out` and `flood_wait_until` from its own store file.

use super::deliveries::Unclaim;
use super::states::{AccountState, DeliveryState};
use super::tx::on_tx;
use super::{Store, StoreError, on_pool};

/// What [`Store::account_remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// The account and (with force) its templates are gone.
    Removed {
        templates_deleted: i64,
        deliveries_cancelled: i64,
    },
    /// Nothing changed: templates still use the account and force was not given.
    InUse { templates: i64 },
}

impl Store {
    /// Sets the login state (`code_sent`, `password_needed`, `new`, …)
    /// and the last error (cleared when `None`).
    pub async fn account_set_login_state(
        &self,
        id: i64,
        state: AccountState,
        last_error: Option<&str>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE accounts SET state = $1, last_error = $2, updated_at = $3 WHERE id = $4"
        ).bind(state).bind(last_error).bind(now_ms).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// Records a failure without changing the state.
    pub async fn account_set_last_error(
        &self,
        id: i64,
        last_error: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE accounts SET last_error = $1, updated_at = $2 WHERE id = $3"
        ).bind(last_error).bind(now_ms).bind(id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// A finished login: `active`, who it is at Telegram, no error and no
    /// flood wait left over from an earlier session.
    pub async fn account_logged_in(
        &self,
        id: i64,
        tg_user_id: i64,
        tg_display: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE accounts SET state = $5, tg_user_id = $1, tg_display = $2,
                 last_error = NULL, flood_wait_until = NULL, updated_at = $3
             WHERE id = $4"
        ).bind(tg_user_id).bind(tg_display).bind(now_ms).bind(id).bind(AccountState::Active).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// `logged_out` with the session dropped, in one statement.
    pub async fn account_logged_out(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE accounts SET state = $3, session = NULL, session_key_id = NULL, flood_wait_until = NULL,
                 updated_at = $1
             WHERE id = $2"
        ).bind(now_ms).bind(id).bind(AccountState::LoggedOut).execute(&mut *c).await.map(|_| ()))?;
        tx.deliveries_unclaim(
            Unclaim::Account(id),
            now_ms,
            "cancelled: the account was logged out before this slot",
            true,
        )
        .await?;
        tx.commit().await
    }

    /// Back to `active` after `limited` or `paused`: error and flood wait cleared.
    pub async fn account_resume(&self, id: i64, now_ms: i64) -> Result<(), StoreError> {
        on_pool!(self, p => sqlx::query(
            "UPDATE accounts SET state = $3, last_error = NULL, flood_wait_until = NULL,
                 updated_at = $1
             WHERE id = $2"
        ).bind(now_ms).bind(id).bind(AccountState::Active).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// How many templates use the account.
    pub async fn account_template_count(&self, id: i64) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM templates WHERE account_id = $1"
        ).bind(id).fetch_one(p).await)?)
    }

    /// Deletes the account in one transaction. While templates use it,
    /// nothing changes unless `force`: then its templates go too (their
    /// targets with them) and its open deliveries are cancelled.
    pub async fn account_remove(
        &self,
        id: i64,
        force: bool,
        now_ms: i64,
    ) -> Result<RemoveOutcome, StoreError> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let templates: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM templates WHERE account_id = $1"
            ).bind(id).fetch_one(&mut *tx).await?;
            if templates > 0 && !force {
                tx.rollback().await?;
                return Ok(RemoveOutcome::InUse { templates });
            }
            let cancel = format!(
                "UPDATE deliveries SET state = {}, updated_at = $1,
                     last_error = 'account removed'
                 WHERE account_id = $2 AND state IN {}",
                DeliveryState::Cancelled.sql(),
                DeliveryState::sql_list(DeliveryState::OPEN)
            );
            let cancelled = sqlx::query(sqlx::AssertSqlSafe(cancel))
                .bind(now_ms).bind(id).execute(&mut *tx).await?.rows_affected();
            sqlx::query(
                "DELETE FROM template_targets
                 WHERE template_id IN (SELECT id FROM templates WHERE account_id = $1)"
            ).bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM templates WHERE account_id = $1")
                .bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM targets WHERE account_id = $1")
                .bind(id).execute(&mut *tx).await?;
            let gone = sqlx::query("DELETE FROM accounts WHERE id = $1")
                .bind(id).execute(&mut *tx).await?.rows_affected();
            if gone == 0 {
                tx.rollback().await?;
                return Err(StoreError::NotFound(format!("account {id}")));
            }
            tx.commit().await?;
            Ok(RemoveOutcome::Removed {
                templates_deleted: templates,
                deliveries_cancelled: i64::try_from(cancelled).unwrap_or(i64::MAX),
            })
        })
    }
}

#[cfg(test)]
#[path = "account_state_tests.rs"]
mod tests;
