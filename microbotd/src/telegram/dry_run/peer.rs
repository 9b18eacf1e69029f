//! Offline target resolution for messengers that never talk to Telegram
//! (dry-run and the test fake): the same input always yields the same peer,
//! in this process and the next.

use crate::telegram::target::{TargetError, TargetRef, parse_target};
use crate::telegram::{PeerKind, ResolvedPeer, TelegramError};

/// User ids handed out for usernames stay below 2^40, roughly where real
/// Telegram user ids live, so they look plausible in logs and tables.
const USER_ID_SPACE: u64 = (1 << 40) - 1;

/// FNV-1a: fixed, seedless, so ids survive restarts (std's `RandomState`
/// would give a different id every run and break `targets` caching).
pub(crate) fn stable_hash(seed: &str, value: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes().chain([0]).chain(value.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A plausible positive user id for `value`, never 0.
pub(crate) fn stable_user_id(seed: &str, value: &str) -> i64 {
    // The modulus keeps the value well inside i64, so the cast is lossless.
    (1 + stable_hash(seed, value) % USER_ID_SPACE) as i64
}

fn access_hash(value: &str) -> i64 {
    // Reinterpreting the bits is fine: access hashes are arbitrary i64s.
    stable_hash("access_hash", value) as i64
}

/// Resolves whatever [`parse_target`] accepts — the same rules the control
/// API validates with — without any network. Usernames become users with
/// a hash-derived id; numeric ids keep their value and kind.
pub(crate) fn resolve_offline(target: &str) -> Result<ResolvedPeer, TelegramError> {
    match parse_target(target) {
        Ok(TargetRef::Username(name)) => Ok(ResolvedPeer {
            peer_id: stable_user_id("username", &name),
            kind: PeerKind::User,
            access_hash: Some(access_hash(&name)),
            title: format!("@{name}"),
        }),
        Ok(TargetRef::PeerId { id, kind }) => Ok(ResolvedPeer {
            peer_id: id,
            kind,
            // Basic groups are addressed without an access hash.
            access_hash: (kind != PeerKind::Chat).then(|| access_hash(&id.to_string())),
            title: id.to_string(),
        }),
        // Telegram's own answer for an id that names no peer.
        Err(TargetError::InvalidPeerId(_)) => Err(TelegramError::PeerInvalid {
            code: "PEER_ID_INVALID".into(),
        }),
        Err(_) => Err(TelegramError::PeerInvalid {
            code: "USERNAME_INVALID".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(code: &str) -> Result<ResolvedPeer, TelegramError> {
        Err(TelegramError::PeerInvalid { code: code.into() })
    }

    #[test]
    fn username_forms_resolve_to_the_same_peer() {
        let a = resolve_offline("@Ops_team").unwrap();
        for form in [
            "ops_team",
            "t.me/ops_team",
            "https://t.me/OPS_TEAM/42",
            "http://www.telegram.me/ops_team?start=1",
            "t.me/s/ops_team",
        ] {
            assert_eq!(resolve_offline(form).unwrap().peer_id, a.peer_id, "{form}");
        }
        assert_eq!(a.kind, PeerKind::User);
        assert_eq!(a.title, "@ops_team");
        // Pinned: ids must not change between builds or restarts, or
        // cached targets would stop matching the ledger.
        assert_eq!(a.peer_id, 804_038_796_854);
        assert_ne!(resolve_offline("@other_team").unwrap().peer_id, a.peer_id);
    }

    #[test]
    fn numeric_ids_keep_value_and_kind() {
        let ch = resolve_offline("-1001234567890").unwrap();
        assert_eq!((ch.peer_id, ch.kind), (-1001234567890, PeerKind::Channel));
        let chat = resolve_offline("-4567").unwrap();
        assert_eq!(
            (chat.peer_id, chat.kind, chat.access_hash),
            (-4567, PeerKind::Chat, None)
        );
        let user = resolve_offline("777000").unwrap();
        assert_eq!((user.peer_id, user.kind), (777000, PeerKind::User));
        let link = resolve_offline("https://t.me/c/1234567890/5").unwrap();
        assert_eq!(link.peer_id, -1001234567890);
    }

    #[test]
    fn garbage_is_peer_invalid() {
        for bad in [
            "",
            "@",
            "@1abcde",
            "a b c",
            "t.me/+AbCdEf",
            "t.me/joinchat/x",
            "héllo",
        ] {
            assert_eq!(resolve_offline(bad), invalid("USERNAME_INVALID"), "{bad:?}");
        }
        assert_eq!(resolve_offline("0"), invalid("PEER_ID_INVALID"));
    }
}
