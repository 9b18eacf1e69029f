//! [`LoginLimiter`]: the brute-force brake on logins (runbook 7.2). After
//! [`MAX_FAILURES`] wrong codes or passwords within [`WINDOW`] for one
//! account, further login attempts for it are refused for [`LOCKOUT`].
//!
//! Kept in memory: a restart forgets the count, but every failure is also
//! logged at WARN in a fixed form (`login failed account=… uid=… reason=…`)
//! that fail2ban can count across restarts.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// Failures tolerated within [`WINDOW`]; the next one locks the account.
pub const MAX_FAILURES: usize = 5;
/// How far back failures count.
pub const WINDOW: Duration = Duration::minutes(15);
/// How long a locked account refuses login attempts.
pub const LOCKOUT: Duration = Duration::minutes(15);

#[derive(Default)]
struct Entry {
    /// Instants of recent failures, oldest first, none older than WINDOW.
    failures: VecDeque<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

/// Failed login attempts per account name. Times come from the caller (the
/// context's clock), so tests move time instead of sleeping.
#[derive(Default)]
pub struct LoginLimiter {
    /// Never held across an await.
    accounts: Mutex<HashMap<String, Entry>>,
}

impl LoginLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    fn accounts(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Counters only: a panicking holder cannot leave them inconsistent.
        self.accounts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Err(until)` while the account is locked out.
    pub fn check(&self, account: &str, now: DateTime<Utc>) -> Result<(), DateTime<Utc>> {
        match self.accounts().get(account).and_then(|e| e.locked_until) {
            Some(until) if until > now => Err(until),
            _ => Ok(()),
        }
    }

    /// Counts a wrong code or password. Returns the lock's end when this
    /// failure locked the account.
    pub fn record_failure(&self, account: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut accounts = self.accounts();
        let entry = accounts.entry(account.to_owned()).or_default();
        while entry.failures.front().is_some_and(|t| now - *t >= WINDOW) {
            entry.failures.pop_front();
        }
        entry.failures.push_back(now);
        if entry.failures.len() >= MAX_FAILURES {
            let until = now + LOCKOUT;
            entry.locked_until = Some(until);
            // The lock is the consequence; a fresh count starts after it.
            entry.failures.clear();
            return Some(until);
        }
        None
    }

    /// A successful login forgets earlier failures.
    pub fn record_success(&self, account: &str) {
        self.accounts().remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn fifth_failure_locks_for_fifteen_minutes() {
        let l = LoginLimiter::new();
        let now = t0();
        for i in 0..4 {
            assert_eq!(l.record_failure("a", now + Duration::seconds(i)), None);
            assert!(l.check("a", now).is_ok());
        }
        let locked_at = now + Duration::seconds(10);
        assert_eq!(l.record_failure("a", locked_at), Some(locked_at + LOCKOUT));
        assert_eq!(
            l.check("a", locked_at + Duration::minutes(14)),
            Err(locked_at + LOCKOUT)
        );
        // Other accounts are not affected.
        assert!(l.check("b", locked_at).is_ok());
        // The lock ends on time.
        assert!(l.check("a", locked_at + LOCKOUT).is_ok());
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let l = LoginLimiter::new();
        let now = t0();
        for i in 0..4 {
            l.record_failure("a", now + Duration::seconds(i));
        }
        // Sixteen minutes later the four old ones have expired.
        let later = now + Duration::minutes(16);
        for i in 0..4 {
            assert_eq!(l.record_failure("a", later + Duration::seconds(i)), None);
        }
        assert!(l.check("a", later + Duration::seconds(5)).is_ok());
        assert!(
            l.record_failure("a", later + Duration::seconds(6))
                .is_some()
        );
    }

    #[test]
    fn success_resets_the_count() {
        let l = LoginLimiter::new();
        let now = t0();
        for _ in 0..4 {
            l.record_failure("a", now);
        }
        l.record_success("a");
        for _ in 0..4 {
            assert_eq!(l.record_failure("a", now), None);
        }
        assert!(l.check("a", now).is_ok());
    }
}
