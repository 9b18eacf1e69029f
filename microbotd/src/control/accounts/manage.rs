//! Account operations after login: [`logout`], [`resume`], [`chats`] and
//! [`remove`]. Each tells the dispatcher what changed.

use crate::store::states::AccountState;
use microbot_proto::v1;

use crate::context::Context;
use crate::events::Change;
use crate::store::account_state::RemoveOutcome;
use crate::store::accounts::AccountRow;
use crate::store::to_ms;
use crate::telegram::AccountKey;

use super::login::{account_key, find_account, telegram_error};
use super::wire::account_to_proto;
use crate::control::error::ApiError;

/// States in which the account holds a Telegram session.
fn logged_in(row: &AccountRow) -> bool {
    matches!(
        row.state,
        AccountState::Active | AccountState::Limited | AccountState::Paused
    )
}

fn log_it_in_first(row: &AccountRow) -> ApiError {
    ApiError::FailedPrecondition(format!(
        "account {} is {}: log it in first (microbotctl account login {})",
        row.name, row.state, row.name
    ))
}

/// Tells Telegram the session ends; a failure becomes a warning for the
/// operator, because the local session is dropped regardless.
async fn log_out_at_telegram(ctx: &Context, key: &AccountKey) -> String {
    match ctx.messenger.log_out(key).await {
        Ok(()) => String::new(),
        Err(e) => {
            tracing::warn!(account = %key.name, error = %e, "Telegram logout failed; dropping the session anyway");
            format!("Telegram could not be told ({e}); the local session was dropped anyway")
        }
    }
}

/// Logs out at Telegram (best effort), drops the session, `logged_out`.
pub async fn logout(ctx: &Context, name: &str) -> Result<v1::LogoutAccountResponse, ApiError> {
    let row = find_account(ctx, name).await?;
    let warning = log_out_at_telegram(ctx, &account_key(&row)).await;
    let now = to_ms(ctx.now());
    ctx.store.account_logged_out(row.id, now).await?;
    ctx.events.send(Change::Account(row.id));
    tracing::info!(account = %row.name, "account logged out; session dropped");
    let row = ctx.store.account_by_id(row.id).await?;
    Ok(v1::LogoutAccountResponse {
        account: Some(account_to_proto(&row, now)),
        warning,
    })
}

/// `limited`/`paused` → `active`, clearing the last error and flood wait.
pub async fn resume(ctx: &Context, name: &str) -> Result<v1::Account, ApiError> {
    let row = find_account(ctx, name).await?;
    if !logged_in(&row) {
        return Err(log_it_in_first(&row));
    }
    let now = to_ms(ctx.now());
    ctx.store.account_resume(row.id, now).await?;
    ctx.events.send(Change::Account(row.id));
    tracing::info!(account = %row.name, was = %row.state, "account resumed");
    Ok(account_to_proto(
        &ctx.store.account_by_id(row.id).await?,
        now,
    ))
}

/// The account's dialogs, optionally filtered.
pub async fn chats(
    ctx: &Context,
    name: &str,
    search: &str,
) -> Result<v1::ListChatsResponse, ApiError> {
    let row = find_account(ctx, name).await?;
    if !logged_in(&row) {
        return Err(log_it_in_first(&row));
    }
    let search = Some(search.trim()).filter(|s| !s.is_empty());
    let dialogs = ctx
        .messenger
        .dialogs(&account_key(&row), search)
        .await
        .map_err(|e| telegram_error(name, &e))?;
    Ok(v1::ListChatsResponse {
        chats: dialogs
            .into_iter()
            .map(|d| v1::Chat {
                id: d.peer.peer_id,
                kind: d.peer.kind.as_str().to_owned(),
                title: d.peer.title,
                username: d.username.unwrap_or_default(),
            })
            .collect(),
    })
}

fn in_use(name: &str, templates: i64) -> ApiError {
    ApiError::FailedPrecondition(format!(
        "account {name} is used by {templates} template(s); delete them first, \
         or pass --force to delete them with the account"
    ))
}

/// Deletes the account (with `force`, its templates too) after logging it
/// out at Telegram, best effort.
pub async fn remove(
    ctx: &Context,
    name: &str,
    force: bool,
) -> Result<v1::RemoveAccountResponse, ApiError> {
    let row = find_account(ctx, name).await?;
    // Refuse before touching Telegram; the transaction checks again.
    let templates = ctx.store.account_template_count(row.id).await?;
    if templates > 0 && !force {
        return Err(in_use(name, templates));
    }
    let warning = if logged_in(&row) || row.state == AccountState::PasswordNeeded {
        log_out_at_telegram(ctx, &account_key(&row)).await
    } else {
        String::new()
    };
    match ctx
        .store
        .account_remove(row.id, force, to_ms(ctx.now()))
        .await?
    {
        RemoveOutcome::InUse { templates } => Err(in_use(name, templates)),
        RemoveOutcome::Removed {
            templates_deleted,
            deliveries_cancelled,
        } => {
            ctx.events.send(Change::Account(row.id));
            tracing::info!(
                account = %row.name,
                templates_deleted,
                deliveries_cancelled,
                "account removed"
            );
            Ok(v1::RemoveAccountResponse {
                templates_deleted,
                deliveries_cancelled,
                warning,
            })
        }
    }
}
