//! `[telegram] proxy`: every Telegram connection (the accounts' senders and
//! `doctor`'s probes) through one SOCKS5 proxy, for networks where Telegram
//! is filtered. The connecting is grammers' (`proxy` feature of
//! grammers-mtsender); here the URL is checked at start-up and handed over.
//! The URL may hold a password: it lives in a [`Secret`] and is shown only
//! through [`crate::config::redact_database_url`].

use std::net::SocketAddr;

use grammers_mtsender::ServerAddr;

use crate::telegram::Secret;

/// Checks `socks5://[user[:password]@]host:port`, the only form grammers
/// accepts. The error never repeats the URL (it may hold the password).
pub fn validate(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("socks5://")
        .ok_or("must start with socks5:// (the only proxy kind supported)")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let hostport = match rest.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            if userinfo.split(':').next().is_none_or(str::is_empty) {
                return Err("the user name before @ is empty".into());
            }
            hostport
        }
        None => rest,
    };
    if hostport.contains(['/', '?', '#']) {
        return Err("must be socks5://[user[:password]@]host:port, nothing after the port".into());
    }
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or("needs a port (socks5://host:port)")?;
    if host.is_empty() || host == "[]" {
        return Err("needs a host (socks5://host:port)".into());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!("port {port:?} is not a number from 1 to 65535")),
    }
}

/// Where grammers connects for `address`: directly, or through the proxy.
pub fn server_addr(address: SocketAddr, proxy: Option<&Secret>) -> ServerAddr {
    match proxy {
        Some(p) => ServerAddr::Proxied {
            address,
            proxy: p.expose().to_owned(),
        },
        None => ServerAddr::Tcp { address },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        for ok in [
            "socks5://127.0.0.1:1080",
            "socks5://proxy.example:1080/",
            "socks5://user:pa:ss@host:9050",
            "socks5://user@[::1]:1080",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refused_forms_never_echo_the_password() {
        for bad in [
            "http://user:hunter2@host:8080",
            "socks5://user:hunter2@host",
            "socks5://user:hunter2@:1080",
            "socks5://user:hunter2@host:0",
            "socks5://user:hunter2@host:99999",
            "socks5://:hunter2@host:1080",
            "socks5://user:hunter2@host:1080/path",
        ] {
            let err = validate(bad).expect_err(bad);
            assert!(!err.contains("hunter2"), "{bad}: {err}");
        }
    }
}
