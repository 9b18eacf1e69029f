//! The "tls certificate" check (runbook 8.3's certificate check): the
//! remote listener's server certificate must not expire unnoticed.

use super::{Check, check};
use crate::config::ControlConfig;
use crate::control::remote::not_after;
use crate::maintenance::doctor::rules::Level;

/// Warn this long before the certificate expires.
pub const WARN_DAYS: i64 = 30;

/// `None` when there is no remote listener (no certificate to check).
pub fn server_certificate(config: &ControlConfig, now_s: i64) -> Option<Check> {
    config.tcp_listen?;
    let path = config.tls_cert.as_ref()?;
    let name = "tls certificate";
    let pem = match std::fs::read(path) {
        Ok(pem) => pem,
        Err(e) => return Some(check(name, Level::Fail, format!("{}: {e}", path.display()))),
    };
    let Some(expires) = not_after(&pem) else {
        return Some(check(
            name,
            Level::Fail,
            format!("{}: not a PEM certificate", path.display()),
        ));
    };
    Some(judge(name, &path.display().to_string(), expires, now_s))
}

fn judge(name: &str, path: &str, expires: i64, now_s: i64) -> Check {
    let days = (expires - now_s).div_euclid(86_400);
    let when = chrono::DateTime::from_timestamp(expires, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    if expires <= now_s {
        check(
            name,
            Level::Fail,
            format!("{path} expired on {when}: renew it and restart microbotd"),
        )
    } else if days < WARN_DAYS {
        check(
            name,
            Level::Warn,
            format!("{path} expires in {days} days ({when}): renew it and restart microbotd"),
        )
    } else {
        check(
            name,
            Level::Ok,
            format!("{path} valid until {when} ({days} days)"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_days_before_expiry_it_warns() {
        let now = 1_800_000_000;
        let day = 86_400;
        assert_eq!(judge("c", "p", now + 90 * day, now).level, Level::Ok);
        let soon = judge("c", "p", now + 10 * day + 5, now);
        assert_eq!(soon.level, Level::Warn);
        assert!(
            soon.detail.contains("expires in 10 days"),
            "{}",
            soon.detail
        );
        assert_eq!(judge("c", "p", now - 1, now).level, Level::Fail);
    }
}
