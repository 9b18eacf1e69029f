//! Parsing of the target strings operators give (`@ops`, `t.me/ops`, `-100…`)
//! into a [`TargetRef`], without any network access.
//!
//! This module is pure on purpose: the control API validates targets with it
//! before anything is written, and the transports resolve the result.

use std::fmt;

use super::PeerKind;

/// Bot-API ids of channels and supergroups are `-(10^12 + bare id)`.
const CHANNEL_OFFSET: i64 = 1_000_000_000_000;
/// Largest bare user id Telegram hands out (<https://core.telegram.org/api/bots/ids>).
const MAX_USER_ID: i64 = 0xff_ffff_ffff;
/// Bot-API ids of basic groups go down to -999999999999.
const MIN_CHAT_ID: i64 = -999_999_999_999;
/// Bot-API channel ids, including monoforums, go down to -4·10^12.
const MIN_CHANNEL_ID: i64 = -4_000_000_000_000;

/// `t.me/<path>` first segments that are Telegram features, not usernames.
const RESERVED_PATHS: &[&str] = &[
    "addemoji",
    "addlist",
    "addstickers",
    "addtheme",
    "bg",
    "boost",
    "confirmphone",
    "contact",
    "giftcode",
    "invoice",
    "login",
    "proxy",
    "setlanguage",
    "share",
    "socks",
];

/// A chat as the operator named it, before resolution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetRef {
    /// A public username, without `@`, lowercased (Telegram ignores case).
    Username(String),
    /// A Bot-API style marked id (`-100…` channel, negative group, positive user).
    PeerId { id: i64, kind: PeerKind },
}

impl TargetRef {
    /// The canonical text form: `@username` or the marked numeric id.
    /// Parsing it again yields the same value.
    pub fn canonical(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for TargetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetRef::Username(name) => write!(f, "@{name}"),
            TargetRef::PeerId { id, .. } => write!(f, "{id}"),
        }
    }
}

/// Why a target string was rejected. Messages are meant for operators.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("the target is empty")]
    Empty,
    #[error(
        "invite links cannot be targets: join the chat with the account first, then use the \
         chat's id from `microbotctl account chats`"
    )]
    InviteLink,
    #[error("invalid username {name:?}: {reason}")]
    InvalidUsername { name: String, reason: &'static str },
    #[error("{0} is not a valid Telegram chat id")]
    InvalidPeerId(String),
    #[error("unsupported link {0:?}: use @username, t.me/username or a numeric chat id")]
    UnsupportedLink(String),
}

/// Parses `@username`, `username`, `t.me/username`, `https://t.me/username`,
/// `telegram.me/…`, `tg://resolve?domain=…`, `t.me/c/<id>` or a Bot-API id.
pub fn parse_target(input: &str) -> Result<TargetRef, TargetError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(TargetError::Empty);
    }
    if looks_numeric(s) {
        return parse_peer_id(s);
    }
    if let Some(name) = s.strip_prefix('@') {
        return username(name);
    }
    if let Some(query) = strip_prefix_ci(s, "tg://resolve?") {
        return tg_resolve(s, query);
    }
    if let Some(path) = link_path(s) {
        return link(s, path);
    }
    if s.contains('/') || s.contains(':') {
        return Err(TargetError::UnsupportedLink(s.to_owned()));
    }
    username(s)
}

fn looks_numeric(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn parse_peer_id(s: &str) -> Result<TargetRef, TargetError> {
    let bad = || TargetError::InvalidPeerId(s.to_owned());
    let id: i64 = s.parse().map_err(|_| bad())?;
    let kind = if (1..=MAX_USER_ID).contains(&id) {
        PeerKind::User
    } else if (MIN_CHAT_ID..=-1).contains(&id) {
        PeerKind::Chat
    } else if (MIN_CHANNEL_ID..=-(CHANNEL_OFFSET + 1)).contains(&id) {
        PeerKind::Channel
    } else {
        return Err(bad());
    };
    Ok(TargetRef::PeerId { id, kind })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The path after a `t.me` / `telegram.me` / `telegram.dog` host, if `s` is such a link.
fn link_path(s: &str) -> Option<&str> {
    let rest = strip_prefix_ci(s, "https://")
        .or_else(|| strip_prefix_ci(s, "http://"))
        .unwrap_or(s);
    let rest = strip_prefix_ci(rest, "www.").unwrap_or(rest);
    ["t.me/", "telegram.me/", "telegram.dog/"]
        .iter()
        .find_map(|host| strip_prefix_ci(rest, host))
}

fn link(original: &str, path: &str) -> Result<TargetRef, TargetError> {
    // Query strings (`?start=…`) and fragments do not change the chat.
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments = path.split('/').filter(|p| !p.is_empty());
    let first = segments.next().unwrap_or_default();
    if first.starts_with('+') || first.eq_ignore_ascii_case("joinchat") {
        return Err(TargetError::InviteLink);
    }
    if first.eq_ignore_ascii_case("c") {
        // t.me/c/<bare channel id>/<post>: a private channel the account is in.
        let bare = segments.next().unwrap_or_default();
        let bare: i64 = bare
            .parse()
            .map_err(|_| TargetError::UnsupportedLink(original.to_owned()))?;
        return parse_peer_id(&(-(CHANNEL_OFFSET + bare)).to_string());
    }
    // t.me/s/<name> is the web preview of a public channel.
    let name = if first.eq_ignore_ascii_case("s") {
        segments.next().unwrap_or_default()
    } else {
        first
    };
    if name.is_empty() || RESERVED_PATHS.iter().any(|r| name.eq_ignore_ascii_case(r)) {
        return Err(TargetError::UnsupportedLink(original.to_owned()));
    }
    username(name)
}

fn tg_resolve(original: &str, query: &str) -> Result<TargetRef, TargetError> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("domain="))
        .map(username)
        .unwrap_or_else(|| Err(TargetError::UnsupportedLink(original.to_owned())))
}

/// Validates a username per Telegram's rules: 5–32 characters of ASCII
/// letters, digits and underscores, starting with a letter, with no
/// trailing or doubled underscore (Telegram refuses `@foobar_` and
/// `@foo__bar`).
fn username(name: &str) -> Result<TargetRef, TargetError> {
    let invalid = |reason| TargetError::InvalidUsername {
        name: name.to_owned(),
        reason,
    };
    if !(5..=32).contains(&name.len()) {
        return Err(invalid("a username has 5 to 32 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(invalid("only letters, digits and underscores are allowed"));
    }
    if !name.as_bytes()[0].is_ascii_alphabetic() {
        return Err(invalid("a username starts with a letter"));
    }
    if name.ends_with('_') {
        return Err(invalid("a username does not end with an underscore"));
    }
    if name.contains("__") {
        return Err(invalid("a username has no two underscores in a row"));
    }
    Ok(TargetRef::Username(name.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> TargetRef {
        TargetRef::Username(name.to_owned())
    }

    #[test]
    fn usernames_in_every_spelling() {
        for s in [
            "@Ops_Team",
            "ops_team",
            " @ops_team ",
            "t.me/ops_team",
            "https://t.me/ops_team",
            "http://t.me/ops_team/",
            "HTTPS://T.ME/Ops_Team",
            "https://www.t.me/ops_team",
            "telegram.me/ops_team",
            "https://telegram.dog/ops_team",
            "https://t.me/ops_team/123",
            "https://t.me/ops_team?start=x",
            "https://t.me/s/ops_team",
            "tg://resolve?domain=ops_team",
        ] {
            assert_eq!(parse_target(s), Ok(user("ops_team")), "{s}");
        }
    }

    #[test]
    fn numeric_ids_carry_their_kind() {
        let cases = [
            ("12345", PeerKind::User),
            ("1099511627775", PeerKind::User),
            ("-42", PeerKind::Chat),
            ("-999999999999", PeerKind::Chat),
            ("-1001234567890", PeerKind::Channel),
            ("-1000000000001", PeerKind::Channel),
        ];
        for (s, kind) in cases {
            let id = s.parse().unwrap();
            assert_eq!(parse_target(s), Ok(TargetRef::PeerId { id, kind }), "{s}");
        }
        assert_eq!(
            parse_target("https://t.me/c/1234567890/55"),
            Ok(TargetRef::PeerId {
                id: -1_001_234_567_890,
                kind: PeerKind::Channel
            })
        );
    }

    #[test]
    fn out_of_range_ids_are_rejected() {
        for s in [
            "0",
            "-0",
            "-1000000000000",
            "1099511627776",
            "99999999999999999999",
            "-",
        ] {
            assert!(parse_target(s).is_err(), "{s}");
        }
        assert!(matches!(
            parse_target("0"),
            Err(TargetError::InvalidPeerId(_))
        ));
    }

    #[test]
    fn invite_links_say_to_join_first() {
        for s in [
            "https://t.me/+AbCdEf123",
            "t.me/+AbCdEf123",
            "https://t.me/joinchat/AbCdEf123",
            "telegram.me/joinchat/AbC",
        ] {
            let err = parse_target(s).unwrap_err();
            assert_eq!(err, TargetError::InviteLink, "{s}");
            let msg = err.to_string();
            assert!(
                msg.contains("join") && msg.contains("account chats"),
                "{msg}"
            );
        }
    }

    #[test]
    fn bad_usernames_are_explained() {
        for (s, needle) in [
            ("@abcd", "5 to 32"),
            ("@a234567890123456789012345678901234", "5 to 32"),
            ("@1abcde", "starts with a letter"),
            ("@_abcde", "starts with a letter"),
            ("@abc-def", "letters, digits"),
            ("@abcdé", "letters, digits"),
            ("@foobar_", "does not end with an underscore"),
            ("t.me/foobar_", "does not end with an underscore"),
            ("@foo__bar", "no two underscores in a row"),
        ] {
            let err = parse_target(s).unwrap_err();
            assert!(matches!(err, TargetError::InvalidUsername { .. }), "{s}");
            assert!(err.to_string().contains(needle), "{s}: {err}");
        }
    }

    #[test]
    fn other_links_and_empty_input_are_rejected() {
        assert_eq!(parse_target("  "), Err(TargetError::Empty));
        for s in [
            "https://example.com/ops_team",
            "https://t.me/",
            "https://t.me/addstickers/Pack",
            "https://t.me/c/notanumber",
            "tg://resolve?phone=123",
            "mailto:ops@example.com",
        ] {
            assert!(
                matches!(parse_target(s), Err(TargetError::UnsupportedLink(_))),
                "{s}: {:?}",
                parse_target(s)
            );
        }
    }

    #[test]
    fn canonical_form_round_trips() {
        for s in ["https://t.me/Ops_Team", "-1001234567890", "-42", "777000"] {
            let t = parse_target(s).unwrap();
            assert_eq!(parse_target(&t.canonical()), Ok(t.clone()));
        }
        assert_eq!(
            parse_target("t.me/Ops_Team").unwrap().canonical(),
            "@ops_team"
        );
        assert_eq!(parse_target("-42").unwrap().to_string(), "-42");
    }
}
