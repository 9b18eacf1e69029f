//! Logging an account in: [`start_login`] → [`submit_code`] →
//! ([`submit_password`]), moving `accounts.state` through
//! `new → code_sent → (password_needed) → active`, and the one mapping of
//! Telegram login failures to [`ApiError`]s ([`telegram_error`]).
//!
//! Codes and passwords arrive as [`Secret`]s and are only handed to the
//! messenger: no log line, error or audit row carries them. Wrong codes and
//! passwords count towards the [`LoginLimiter`].

use crate::store::states::AccountState;
use chrono::{DateTime, Utc};
use microbot_proto::v1;

use crate::context::Context;
use crate::events::Change;
use crate::store::accounts::AccountRow;
use crate::store::to_ms;
use crate::telegram::{AccountKey, LoginStart, Secret, SignIn, TelegramError, UserInfo};

use super::login_limit::LoginLimiter;
use super::wire::account_to_proto;
use crate::control::caller::Caller;
use crate::control::error::ApiError;

/// The account row by operator name.
pub async fn find_account(ctx: &Context, name: &str) -> Result<AccountRow, ApiError> {
    Ok(ctx.store.account_by_name(name).await?)
}

pub fn account_key(row: &AccountRow) -> AccountKey {
    AccountKey {
        id: row.id,
        name: row.name.clone(),
    }
}

/// A Telegram failure in the operator's terms, for account `name`.
pub fn telegram_error(name: &str, e: &TelegramError) -> ApiError {
    let again = format!("run `microbotctl account login {name}` again");
    match e {
        TelegramError::CodeInvalid => ApiError::invalid("code", e.to_string()),
        TelegramError::PasswordInvalid => ApiError::invalid("password", e.to_string()),
        TelegramError::CodeExpired | TelegramError::NoLoginInProgress => {
            ApiError::FailedPrecondition(format!("{name}: {e}; {again}"))
        }
        TelegramError::SignUpRequired
        | TelegramError::PhoneInvalid { .. }
        | TelegramError::Unauthorized { .. } => {
            ApiError::FailedPrecondition(format!("{name}: {e}"))
        }
        TelegramError::FloodWait { seconds } => ApiError::ResourceExhausted(format!(
            "Telegram asks {name} to wait {seconds}s before trying again (FLOOD_WAIT)"
        )),
        TelegramError::Transient(_) => {
            ApiError::Unavailable(format!("{name}: Telegram is not reachable now: {e}"))
        }
        other => ApiError::FailedPrecondition(format!("{name}: {other}")),
    }
}

/// The stable token for the fail2ban line.
fn reason(e: &TelegramError) -> &'static str {
    match e {
        TelegramError::CodeInvalid => "code_invalid",
        TelegramError::PasswordInvalid => "password_invalid",
        TelegramError::CodeExpired => "code_expired",
        TelegramError::NoLoginInProgress => "no_login_in_progress",
        TelegramError::SignUpRequired => "sign_up_required",
        TelegramError::PhoneInvalid { .. } => "phone_invalid",
        TelegramError::FloodWait { .. } => "flood_wait",
        TelegramError::Transient(_) => "transient",
        _ => "telegram_error",
    }
}

fn locked_out(name: &str, until: DateTime<Utc>) -> ApiError {
    ApiError::ResourceExhausted(format!(
        "too many failed login attempts for {name}; try again after {}",
        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ))
}

/// Refuses while the account is locked out by the limiter.
fn check_limit(ctx: &Context, limiter: &LoginLimiter, name: &str) -> Result<(), ApiError> {
    limiter
        .check(name, ctx.now())
        .map_err(|until| locked_out(name, until))
}

/// Records a failed login step: the WARN line, the limiter, the account's
/// state and last error. Returns the error for the caller.
async fn login_failed(
    ctx: &Context,
    limiter: &LoginLimiter,
    caller: &Caller,
    row: &AccountRow,
    e: TelegramError,
) -> ApiError {
    let name = row.name.as_str();
    let uid = caller.uid;
    tracing::warn!(
        "login failed account={name} uid={uid} reason={}",
        reason(&e)
    );
    let guessed_wrong = matches!(
        e,
        TelegramError::CodeInvalid | TelegramError::PasswordInvalid
    );
    let mut api = telegram_error(name, &e);
    if guessed_wrong && let Some(until) = limiter.record_failure(name, ctx.now()) {
        tracing::warn!(
            "login locked account={name} uid={uid} until={}",
            until.to_rfc3339()
        );
        api = locked_out(name, until);
    }
    let now = to_ms(ctx.now());
    let message = e.to_string();
    // A login that Telegram ended falls back to where the account was
    // before it started; a wrong guess or a wait keeps the login open.
    let ends_login = !guessed_wrong
        && !matches!(
            e,
            TelegramError::FloodWait { .. } | TelegramError::Transient(_)
        );
    let in_login = matches!(
        row.state,
        AccountState::CodeSent | AccountState::PasswordNeeded
    );
    let write = if ends_login && in_login {
        let before = if row.tg_user_id.is_some() {
            AccountState::LoggedOut
        } else {
            AccountState::New
        };
        ctx.store
            .account_set_login_state(row.id, before, Some(&message), now)
            .await
    } else {
        ctx.store
            .account_set_last_error(row.id, &message, now)
            .await
    };
    if let Err(err) = write {
        tracing::error!(account = name, error = %err, "cannot record the failed login");
    }
    api
}

/// Marks the account logged in as `user` and tells the dispatcher.
async fn logged_in(
    ctx: &Context,
    limiter: &LoginLimiter,
    row: &AccountRow,
    user: &UserInfo,
) -> Result<AccountRow, ApiError> {
    limiter.record_success(&row.name);
    ctx.store
        .account_logged_in(row.id, user.user_id, &user.display, to_ms(ctx.now()))
        .await?;
    ctx.events.send(Change::Account(row.id));
    tracing::info!(account = %row.name, tg_user_id = user.user_id, "account logged in");
    Ok(ctx.store.account_by_id(row.id).await?)
}

/// Asks Telegram for a login code (state `code_sent`), or finds the stored
/// session still valid.
pub async fn start_login(
    ctx: &Context,
    limiter: &LoginLimiter,
    caller: &Caller,
    name: &str,
) -> Result<v1::StartLoginResponse, ApiError> {
    let row = find_account(ctx, name).await?;
    check_limit(ctx, limiter, name)?;
    let phone = Secret::new(row.phone.clone());
    let started = match ctx.messenger.request_code(&account_key(&row), &phone).await {
        Ok(s) => s,
        Err(e) => return Err(login_failed(ctx, limiter, caller, &row, e).await),
    };
    let now = to_ms(ctx.now());
    match started {
        LoginStart::CodeSent { via } => {
            ctx.store
                .account_set_login_state(row.id, AccountState::CodeSent, None, now)
                .await?;
            tracing::info!(account = %row.name, "login code requested");
            let row = ctx.store.account_by_id(row.id).await?;
            Ok(v1::StartLoginResponse {
                already_authorized: false,
                code_sent_via: via,
                account: Some(account_to_proto(&row, now)),
            })
        }
        LoginStart::AlreadyAuthorized(user) => {
            // A limited or paused account stays so: only `resume` lifts that.
            let row = if matches!(row.state, AccountState::Limited | AccountState::Paused) {
                row
            } else {
                logged_in(ctx, limiter, &row, &user).await?
            };
            Ok(v1::StartLoginResponse {
                already_authorized: true,
                code_sent_via: String::new(),
                account: Some(account_to_proto(&row, now)),
            })
        }
    }
}

fn no_login(name: &str) -> ApiError {
    telegram_error(name, &TelegramError::NoLoginInProgress)
}

/// Submits the login code: done (`active`) or `password_needed`.
pub async fn submit_code(
    ctx: &Context,
    limiter: &LoginLimiter,
    caller: &Caller,
    name: &str,
    code: &Secret,
) -> Result<v1::LoginStep, ApiError> {
    let row = find_account(ctx, name).await?;
    check_limit(ctx, limiter, name)?;
    if code.expose().trim().is_empty() {
        return Err(ApiError::invalid("code", "is empty"));
    }
    if row.state != AccountState::CodeSent {
        return Err(no_login(name));
    }
    let code = Secret::new(code.expose().trim());
    let signed = match ctx.messenger.submit_code(&account_key(&row), &code).await {
        Ok(s) => s,
        Err(e) => return Err(login_failed(ctx, limiter, caller, &row, e).await),
    };
    let now = to_ms(ctx.now());
    match signed {
        SignIn::Done(user) => {
            let row = logged_in(ctx, limiter, &row, &user).await?;
            Ok(step(&row, None, now))
        }
        SignIn::PasswordNeeded { hint } => {
            ctx.store
                .account_set_login_state(row.id, AccountState::PasswordNeeded, None, now)
                .await?;
            let row = ctx.store.account_by_id(row.id).await?;
            Ok(step(&row, Some(hint.unwrap_or_default()), now))
        }
    }
}

/// Submits the two-step verification password: done (`active`).
pub async fn submit_password(
    ctx: &Context,
    limiter: &LoginLimiter,
    caller: &Caller,
    name: &str,
    password: &Secret,
) -> Result<v1::LoginStep, ApiError> {
    let row = find_account(ctx, name).await?;
    check_limit(ctx, limiter, name)?;
    if password.is_empty() {
        return Err(ApiError::invalid("password", "is empty"));
    }
    if row.state != AccountState::PasswordNeeded {
        return Err(no_login(name));
    }
    match ctx
        .messenger
        .submit_password(&account_key(&row), password)
        .await
    {
        Ok(user) => {
            let row = logged_in(ctx, limiter, &row, &user).await?;
            Ok(step(&row, None, to_ms(ctx.now())))
        }
        Err(e) => Err(login_failed(ctx, limiter, caller, &row, e).await),
    }
}

fn step(row: &AccountRow, password_hint: Option<String>, now: i64) -> v1::LoginStep {
    v1::LoginStep {
        password_needed: password_hint.is_some(),
        password_hint: password_hint.unwrap_or_default(),
        account: Some(account_to_proto(row, now)),
    }
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;
