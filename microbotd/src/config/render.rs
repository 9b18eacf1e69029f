//! Printing the effective configuration (`microbotd check-config`) with
//! secrets redacted.

use super::{Config, format_duration};

/// Replaces the password of a `scheme://user:password@host/…` URL with `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return redact_query(url);
    };
    let user = userinfo.split(':').next().unwrap_or("");
    let userinfo = if userinfo.contains(':') {
        format!("{user}:***")
    } else {
        user.to_string()
    };
    redact_query(&format!("{scheme}://{userinfo}@{host}{tail}"))
}

/// `?password=…` is as secret as the userinfo form.
fn redact_query(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The effective configuration in the file's own format.
pub(crate) fn to_toml(c: &Config) -> String {
    let mut out = String::new();
    if let Some(src) = &c.source {
        out.push_str(&format!("# from {}\n", src.display()));
    }
    let d = &c.daemon;
    out.push_str("[daemon]\n");
    out.push_str(&format!(
        "socket = {}\n",
        q(&d.socket.display().to_string())
    ));
    out.push_str(&format!(
        "state_dir = {}\n",
        q(&d.state_dir.display().to_string())
    ));
    out.push_str(&format!("operator_group = {}\n", q(&d.operator_group)));
    out.push_str(&format!("admin_group = {}\n", q(&d.admin_group)));
    out.push_str(&format!(
        "slow_call_warn = {}\n",
        q(&format_duration(d.slow_call_warn))
    ));
    out.push_str(&format!("log_level = {}\n", q(&d.log_level)));
    out.push_str(&format!("node_id = {}\n", q(&d.node_id)));
    out.push_str("\n[database]\n");
    out.push_str(&format!("url = {}\n", q(&redact_url(&c.database.url))));
    out.push_str(&format!(
        "max_connections = {}\n",
        c.database.max_connections
    ));
    let t = &c.telegram;
    out.push_str("\n[telegram]\n");
    out.push_str(&format!("mode = {}\n", q(t.mode.as_str())));
    out.push_str(&format!("api_id = {}\n", t.api_id));
    match &t.api_hash_source {
        Some(src) => out.push_str(&format!("api_hash = \"<redacted>\"  # from {src}\n")),
        None => out.push_str("api_hash = \"\"  # not set\n"),
    }
    out.push_str(&format!(
        "rate_limit_per_minute = {}\n",
        t.rate_limit_per_minute
    ));
    let proxy = t.proxy.as_ref().map(|p| redact_url(p.expose()));
    out.push_str(&format!("proxy = {}\n", q(proxy.as_deref().unwrap_or(""))));
    // Where the session key came from and its id; never the key.
    match (&t.session_key, &t.session_key_source) {
        (Some(key), Some(src)) if src.starts_with("systemd credential") => out.push_str(&format!(
            "session_key_file = \"\"  # session key from {src} (key id {})\n",
            key.id()
        )),
        (Some(key), Some(src)) => out.push_str(&format!(
            "session_key_file = {}  # session key id {}\n",
            q(src),
            key.id()
        )),
        _ => out
            .push_str("session_key_file = \"\"  # no session key: sessions are stored in clear\n"),
    }
    out.push_str(&format!(
        "allow_plain_sessions = {}\n",
        t.allow_plain_sessions
    ));
    out.push_str("\n[scheduler]\n");
    out.push_str(&format!(
        "default_timezone = {}\n",
        q(c.scheduler.default_timezone.name())
    ));
    out.push_str(&format!(
        "misfire_grace = {}\n",
        q(&format_duration(c.scheduler.misfire_grace))
    ));
    out.push_str(&format!(
        "lookahead = {}\n",
        q(&format_duration(c.scheduler.lookahead))
    ));
    out.push_str("\n[backup]\n");
    out.push_str(&format!(
        "dir = {}\n",
        q(&c.backup.dir.display().to_string())
    ));
    out.push_str(&format!("keep_days = {}\n", c.backup.keep_days));
    out.push_str(&format!(
        "max_unpacked_bytes = {}\n",
        q(&super::format_bytes(c.backup.max_unpacked_bytes))
    ));
    out.push_str("\n[retention]\n");
    out.push_str(&format!(
        "deliveries_days = {}\n",
        c.retention.deliveries_days
    ));
    out.push_str("\n[templates]\n");
    out.push_str(&format!("max_chats = {}\n", c.templates.max_chats));
    out.push_str(&format!(
        "max_media_bytes = {}\n",
        q(&super::format_bytes(c.templates.max_media_bytes))
    ));
    let cl = &c.cluster;
    out.push_str("\n[cluster]\n");
    for (name, d) in [
        ("lease", cl.lease),
        ("renew", cl.renew),
        ("retry", cl.retry),
    ] {
        out.push_str(&format!("{name} = {}\n", q(&format_duration(d))));
    }
    out.push_str("\n[metrics]\n");
    out.push_str(&format!(
        "listen = {}\n",
        q(&c.metrics.listen.map(|a| a.to_string()).unwrap_or_default())
    ));
    out.push_str(&format!("per_account = {}\n", c.metrics.per_account));
    let k = &c.control;
    let path = |p: &Option<std::path::PathBuf>| {
        q(&p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default())
    };
    let names = |v: &[String]| {
        format!(
            "[{}]",
            v.iter().map(|n| q(n)).collect::<Vec<_>>().join(", ")
        )
    };
    out.push_str("\n[control]\n");
    out.push_str(&format!(
        "tcp_listen = {}\n",
        q(&k.tcp_listen.map(|a| a.to_string()).unwrap_or_default())
    ));
    out.push_str(&format!("tls_cert = {}\n", path(&k.tls_cert)));
    out.push_str(&format!("tls_key = {}\n", path(&k.tls_key)));
    out.push_str(&format!("client_ca = {}\n", path(&k.client_ca)));
    out.push_str(&format!("admin_names = {}\n", names(&k.admin_names)));
    out.push_str(&format!("operator_names = {}\n", names(&k.operator_names)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://bot:s3cret@db:5432/microbot"),
            "postgres://bot:***@db:5432/microbot"
        );
        assert_eq!(
            redact_url("postgres://bot@db/microbot"),
            "postgres://bot@db/microbot"
        );
        assert_eq!(
            redact_url("postgres://db/microbot?user=x&password=y"),
            "postgres://db/microbot?user=x&password=***"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/microbot/microbot.db"),
            "sqlite:///var/lib/microbot/microbot.db"
        );
    }
}
