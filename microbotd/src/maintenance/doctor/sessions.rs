//! The "active sessions" check (runbook 8.1's daily list): how many
//! accounts are logged in at Telegram, of all accounts; and the "sealed
//! sessions" check: accounts whose session is sealed under a key this
//! daemon lacks.

use super::{Check, check};
use crate::context::Context;
use crate::maintenance::doctor::rules::Level;
use crate::store::states::AccountState;
use crate::store::{StoreError, on_pool};

/// States of an account whose Telegram session is in place (a paused or
/// limited account keeps its session).
const LOGGED_IN: [AccountState; 3] = [
    AccountState::Active,
    AccountState::Limited,
    AccountState::Paused,
];

/// Names listed in the detail before "…".
const SHOWN: usize = 5;

/// OK when every account is logged in (or there is none); WARN naming the
/// ones that are not.
pub async fn active_sessions(ctx: &Context) -> Result<Check, StoreError> {
    let rows: Vec<(String, AccountState)> = on_pool!(ctx.store, p => sqlx::query_as(
        "SELECT name, state FROM accounts ORDER BY name"
    ).fetch_all(p).await)?;
    Ok(judge(&rows))
}

/// FAIL naming each account (and key id) whose session this daemon cannot
/// open; OK saying how sessions are kept otherwise.
pub async fn sealed_sessions(ctx: &Context) -> Result<Check, StoreError> {
    let sealed = ctx.store.sealed_accounts().await?;
    let broken = ctx.store.unopenable_sessions().await?;
    if let Some((account, why)) = broken.first() {
        return Ok(check(
            "sealed sessions",
            Level::Fail,
            format!(
                "{} sessions do not open; first: {account}: {why} (log that account in again: \
                 microbotctl account logout NAME, then account login NAME)",
                broken.len()
            ),
        ));
    }
    Ok(judge_sealed(&sealed, ctx.store.keys().current_id()))
}

fn judge_sealed(sealed: &[(String, String)], key: Option<crate::seal::KeyId>) -> Check {
    let name = "sealed sessions";
    if sealed.is_empty() {
        let detail = match key {
            Some(id) => format!("every stored session opens; new ones are sealed under key {id}"),
            None => "no session key: sessions are stored in clear".to_string(),
        };
        return check(name, Level::Ok, detail);
    }
    let mut shown = sealed
        .iter()
        .take(SHOWN)
        .map(|(account, id)| format!("{account} (key {id})"))
        .collect::<Vec<_>>()
        .join(", ");
    if sealed.len() > SHOWN {
        shown.push_str(", …");
    }
    check(
        name,
        Level::Fail,
        format!(
            "{} accounts sealed under a session key this daemon does not have: {shown}; they \
             do not send until it gets that key (systemd credential session_key or \
             telegram.session_key_file)",
            sealed.len()
        ),
    )
}

fn judge(rows: &[(String, AccountState)]) -> Check {
    let name = "active sessions";
    let out: Vec<&str> = rows
        .iter()
        .filter(|(_, state)| !LOGGED_IN.contains(state))
        .map(|(n, _)| n.as_str())
        .collect();
    let logged_in = rows.len() - out.len();
    if out.is_empty() {
        return check(
            name,
            Level::Ok,
            format!("{logged_in}/{} accounts logged in", rows.len()),
        );
    }
    let mut names = out
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if out.len() > SHOWN {
        names.push_str(", …");
    }
    check(
        name,
        Level::Warn,
        format!(
            "{logged_in}/{} accounts logged in; not: {names} (microbotctl account login NAME)",
            rows.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(states: &[&str]) -> Vec<(String, AccountState)> {
        states
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("a{i}"), s.parse().unwrap()))
            .collect()
    }

    #[test]
    fn counts_logged_in_accounts() {
        let c = judge(&rows(&[]));
        assert_eq!(
            (c.level, c.detail.as_str()),
            (Level::Ok, "0/0 accounts logged in")
        );
        let c = judge(&rows(&["active", "paused", "limited"]));
        assert_eq!(
            (c.level, c.detail.as_str()),
            (Level::Ok, "3/3 accounts logged in")
        );
        let c = judge(&rows(&["active", "new", "logged_out"]));
        assert_eq!(c.level, Level::Warn);
        assert!(
            c.detail.starts_with("1/3 accounts logged in; not: a1, a2"),
            "{}",
            c.detail
        );
        let c = judge(&rows(&["new"; 7]));
        assert!(c.detail.contains("a4, …"), "{}", c.detail);
    }

    #[test]
    fn sealed_accounts_fail_naming_the_key_and_the_credential() {
        let c = judge_sealed(&[], None);
        assert_eq!(c.level, Level::Ok);
        assert!(c.detail.contains("in clear"), "{}", c.detail);
        let c = judge_sealed(&[("sales".into(), "00112233aabbccdd".into())], None);
        assert_eq!(c.level, Level::Fail);
        assert!(
            c.detail.contains("sales (key 00112233aabbccdd)")
                && c.detail.contains("credential session_key"),
            "{}",
            c.detail
        );
    }
}
