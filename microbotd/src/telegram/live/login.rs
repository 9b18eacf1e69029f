//! The login conversation for one account: the grammers tokens kept in
//! memory between "send code", "submit code" and "submit password", each
//! with an expiry, plus the calls themselves with grammers' panics contained.
//!
//! grammers' `LoginToken` has private fields and cannot be persisted, so a
//! daemon restart between the steps means starting over — by design.

use std::fmt;
use std::time::{Duration, Instant};

use grammers_client::client::{LoginToken, PasswordToken};
use grammers_client::peer::User;
use grammers_client::{Client, SignInError};

use super::contained;
use super::rpc_map::map_invocation;
use crate::telegram::{Secret, SignIn, TelegramError, UserInfo};

/// How long a sent code (and a pending 2FA step) stays usable here.
pub const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);

/// Where an account's login stands. Debug is by hand: the tokens hold the
/// phone number and SRP parameters.
#[derive(Default)]
pub enum LoginState {
    #[default]
    Idle,
    CodeSent {
        token: LoginToken,
        at: Instant,
    },
    PasswordNeeded {
        token: PasswordToken,
        at: Instant,
    },
}

impl fmt::Debug for LoginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LoginState::Idle => "Idle",
            LoginState::CodeSent { .. } => "CodeSent",
            LoginState::PasswordNeeded { .. } => "PasswordNeeded",
        })
    }
}

impl LoginState {
    /// Takes the code token if one is pending and fresh.
    pub fn take_code_token(&mut self, now: Instant) -> Result<LoginToken, TelegramError> {
        match std::mem::take(self) {
            LoginState::CodeSent { token, at } if now.duration_since(at) < LOGIN_TTL => Ok(token),
            LoginState::CodeSent { .. } => Err(TelegramError::CodeExpired),
            other => {
                *self = other;
                Err(TelegramError::NoLoginInProgress)
            }
        }
    }

    /// Takes the 2FA token if one is pending and fresh.
    pub fn take_password_token(&mut self, now: Instant) -> Result<PasswordToken, TelegramError> {
        match std::mem::take(self) {
            LoginState::PasswordNeeded { token, at } if now.duration_since(at) < LOGIN_TTL => {
                Ok(token)
            }
            LoginState::PasswordNeeded { .. } => Err(TelegramError::NoLoginInProgress),
            other => {
                *self = other;
                Err(TelegramError::NoLoginInProgress)
            }
        }
    }
}

/// `@username` when there is one, else the display name.
pub fn user_info(user: &User) -> UserInfo {
    let display = match user.username() {
        Some(u) => format!("@{u}"),
        None => user.full_name(),
    };
    UserInfo {
        user_id: user.id().bare_id().unwrap_or_default(),
        display,
    }
}

/// Asks Telegram for a code. grammers panics when Telegram answers
/// `SentCode::Success` or `PaymentRequired`; [`contained`] turns that into an error.
pub async fn request_code(
    client: &Client,
    phone: &Secret,
    api_hash: &Secret,
) -> Result<LoginToken, TelegramError> {
    let (client, phone, api_hash) = (client.clone(), phone.clone(), api_hash.clone());
    contained("auth.sendCode", async move {
        client
            .request_login_code(phone.expose(), api_hash.expose())
            .await
            .map_err(|e| map_invocation(&e))
    })
    .await
}

/// What happened to a code: the token comes back when the code may be retried.
pub enum CodeOutcome {
    Done(UserInfo),
    Password(PasswordToken),
    Retry(LoginToken, TelegramError),
    Failed(TelegramError),
}

pub async fn submit_code(client: &Client, token: LoginToken, code: &Secret) -> CodeOutcome {
    let (client, code) = (client.clone(), code.clone());
    let res = contained("auth.signIn", async move {
        let res = client.sign_in(&token, code.expose()).await;
        Ok((token, res))
    })
    .await;
    match res {
        Err(e) => CodeOutcome::Failed(e),
        Ok((_, Ok(user))) => CodeOutcome::Done(user_info(&user)),
        Ok((_, Err(SignInError::PasswordRequired(pt)))) => CodeOutcome::Password(pt),
        // grammers folds every PHONE_CODE_* (also EXPIRED) into InvalidCode;
        // the token is kept so the operator may retry until LOGIN_TTL.
        Ok((token, Err(SignInError::InvalidCode))) => {
            CodeOutcome::Retry(token, TelegramError::CodeInvalid)
        }
        Ok((_, Err(SignInError::SignUpRequired))) => {
            CodeOutcome::Failed(TelegramError::SignUpRequired)
        }
        Ok((_, Err(SignInError::InvalidPassword(_)))) => {
            CodeOutcome::Failed(TelegramError::PasswordInvalid)
        }
        Ok((token, Err(SignInError::Other(e)))) => match map_invocation(&e) {
            // Transient trouble or a flood wait: the same code may still work.
            err @ (TelegramError::Transient(_) | TelegramError::FloodWait { .. }) => {
                CodeOutcome::Retry(token, err)
            }
            err => CodeOutcome::Failed(err),
        },
    }
}

/// What happened to a password: the token comes back for another try.
pub enum PasswordOutcome {
    Done(UserInfo),
    Retry(PasswordToken, TelegramError),
    Failed(TelegramError),
}

pub async fn submit_password(
    client: &Client,
    token: PasswordToken,
    password: &Secret,
) -> PasswordOutcome {
    let (client, password) = (client.clone(), password.clone());
    // check_password unwraps SRP fields Telegram should always send; contain it.
    let res = contained("auth.checkPassword", async move {
        Ok(client
            .check_password(token, password.expose().as_bytes())
            .await)
    })
    .await;
    match res {
        Err(e) => PasswordOutcome::Failed(e),
        Ok(Ok(user)) => PasswordOutcome::Done(user_info(&user)),
        Ok(Err(SignInError::InvalidPassword(pt))) => {
            PasswordOutcome::Retry(pt, TelegramError::PasswordInvalid)
        }
        Ok(Err(SignInError::Other(e))) => PasswordOutcome::Failed(map_invocation(&e)),
        Ok(Err(SignInError::SignUpRequired)) => {
            PasswordOutcome::Failed(TelegramError::SignUpRequired)
        }
        Ok(Err(SignInError::InvalidCode | SignInError::PasswordRequired(_))) => {
            PasswordOutcome::Failed(TelegramError::NoLoginInProgress)
        }
    }
}

/// Converts a finished code step into the trait's answer, updating `state`.
pub fn code_answer(state: &mut LoginState, outcome: CodeOutcome) -> Result<SignIn, TelegramError> {
    match outcome {
        CodeOutcome::Done(info) => Ok(SignIn::Done(info)),
        CodeOutcome::Password(token) => {
            let hint = token.hint().map(str::to_owned);
            *state = LoginState::PasswordNeeded {
                token,
                at: Instant::now(),
            };
            Ok(SignIn::PasswordNeeded { hint })
        }
        CodeOutcome::Retry(token, err) => {
            *state = LoginState::CodeSent {
                token,
                at: Instant::now(),
            };
            Err(err)
        }
        CodeOutcome::Failed(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_pending_means_no_login_in_progress() {
        let mut s = LoginState::Idle;
        let now = Instant::now();
        assert_eq!(
            s.take_code_token(now).err(),
            Some(TelegramError::NoLoginInProgress)
        );
        assert_eq!(
            s.take_password_token(now).err(),
            Some(TelegramError::NoLoginInProgress)
        );
        assert_eq!(format!("{s:?}"), "Idle");
    }

    #[test]
    fn code_answer_without_token_changes_nothing() {
        let mut s = LoginState::Idle;
        let r = code_answer(&mut s, CodeOutcome::Failed(TelegramError::SignUpRequired));
        assert_eq!(r, Err(TelegramError::SignUpRequired));
        assert!(matches!(s, LoginState::Idle));
    }
}
