//! Accounts: one Telegram login each. Phones are stored whole (Telegram
//! needs them) and shown masked everywhere else ([`mask_phone`]).

use super::states::AccountState;
use super::{Store, StoreError, on_pool};

/// One `accounts` row, without the session bytes.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub state: AccountState,
    pub tg_user_id: Option<i64>,
    pub tg_display: Option<String>,
    pub flood_wait_until: Option<i64>,
    pub scheduler_enabled: bool,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The key id its stored session is sealed under when this daemon does
    /// not have that key (shown as state `sealed`); `None` otherwise.
    pub sealed_key_id: Option<String>,
}

impl std::fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("phone", &mask_phone(&self.phone))
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, name, phone, state, tg_user_id, tg_display, flood_wait_until, \
                       scheduler_enabled, last_error, created_at, updated_at";

/// `+905321234567` → `+90•••••4567`: country prefix and last four digits.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 {
        return "•".repeat(digits.len().max(3));
    }
    let head: String = digits[..2].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("+{head}{}{tail}", "•".repeat(digits.len() - 6))
}

/// Normalises an operator-typed phone to `+digits`; `None` when it is not one.
pub fn normalize_phone(input: &str) -> Option<String> {
    let trimmed = input.trim();
    let rest = trimmed.strip_prefix('+')?;
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    (digits.len() >= 7 && digits.len() <= 15 && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("+{digits}"))
}

/// Operator names: 1–64 of `a-z0-9._-`, starting with a letter or digit.
pub fn valid_account_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("must be 1 to 64 characters".into());
    }
    if !name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return Err("must start with a letter or digit".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{c:?} is not allowed (use a-z, 0-9, '.', '_', '-')"
        ));
    }
    Ok(())
}

impl Store {
    /// The columns of an [`AccountRow`], `sealed_key_id` judged by this
    /// store's session keys.
    fn account_columns(&self) -> String {
        format!(
            "{COLUMNS}, CASE WHEN {} THEN session_key_id END AS sealed_key_id",
            self.session_sealed_sql("")
        )
    }

    /// SQL true when the account (columns prefixed `prefix`, e.g. `a.`) has
    /// a stored session this store cannot open: state `sealed`.
    pub fn session_sealed_sql(&self, prefix: &str) -> String {
        format!(
            "({prefix}session IS NOT NULL AND NOT {})",
            self.session_openable_sql(&format!("{prefix}session_key_id"))
        )
    }

    /// Creates an account in state `new`; a taken name is a conflict.
    pub async fn account_create(
        &self,
        name: &str,
        phone: &str,
        now_ms: i64,
    ) -> Result<AccountRow, StoreError> {
        let res = on_pool!(self, p => sqlx::query_scalar::<_, i64>(
            "INSERT INTO accounts (name, phone, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (name) DO NOTHING RETURNING id"
        ).bind(name).bind(phone).bind(AccountState::New).bind(now_ms).fetch_optional(p).await)?;
        match res {
            Some(id) => self.account_by_id(id).await,
            None => Err(StoreError::Conflict(format!(
                "account {name:?} already exists"
            ))),
        }
    }

    pub async fn account_by_id(&self, id: i64) -> Result<AccountRow, StoreError> {
        let sql = format!(
            "SELECT {} FROM accounts WHERE id = $1",
            self.account_columns()
        );
        on_pool!(self, p => sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_optional(p).await)?
        .ok_or_else(|| StoreError::NotFound(format!("account {id}")))
    }

    pub async fn account_by_name(&self, name: &str) -> Result<AccountRow, StoreError> {
        let sql = format!(
            "SELECT {} FROM accounts WHERE name = $1",
            self.account_columns()
        );
        on_pool!(self, p => sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(sql))
            .bind(name).fetch_optional(p).await)?
        .ok_or_else(|| StoreError::NotFound(format!("account {name:?}")))
    }

    /// Every account, by name.
    pub async fn account_list(&self) -> Result<Vec<AccountRow>, StoreError> {
        let sql = format!(
            "SELECT {} FROM accounts ORDER BY name",
            self.account_columns()
        );
        Ok(
            on_pool!(self, p => sqlx::query_as::<_, AccountRow>(sqlx::AssertSqlSafe(sql))
            .fetch_all(p).await)?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_mask_and_normalise() {
        assert_eq!(mask_phone("+905321234567"), "+90••••••4567");
        assert_eq!(
            normalize_phone(" +90 532 123-45-67 "),
            Some("+905321234567".into())
        );
        assert_eq!(normalize_phone("905321234567"), None);
        assert_eq!(normalize_phone("+90abc"), None);
        assert!(valid_account_name("sales-tr").is_ok());
        assert!(valid_account_name("Sales").is_err());
        assert!(valid_account_name("-x").is_err());
    }

    async fn create_get_list_conflict(store: crate::store::Store) {
        let a = store
            .account_create("sales-tr", "+905321234567", 5)
            .await
            .unwrap();
        assert_eq!(a.state, AccountState::New);
        assert!(a.scheduler_enabled);
        assert_eq!(store.account_by_name("sales-tr").await.unwrap(), a);
        assert!(matches!(
            store.account_create("sales-tr", "+1234567", 6).await,
            Err(StoreError::Conflict(_))
        ));
        store.account_create("alpha", "+1234567", 6).await.unwrap();
        let names: Vec<_> = store
            .account_list()
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["alpha", "sales-tr"]);
        assert!(!format!("{a:?}").contains("5321234567"));
    }
    crate::store::testing::per_backend!(create_get_list_conflict);
}
