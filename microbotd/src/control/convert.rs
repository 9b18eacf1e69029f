//! The one place stored states meet their wire enums: `From` the typed
//! states of [`crate::store::states`] to the `microbot.v1` enums and
//! `TryFrom` back (the `…_UNSPECIFIED` value has no stored state). Every
//! response carries both the enum and its text form, and the text of each
//! enum value is the stored text (checked below), so `-o json` output and
//! older clients read the same strings as before.

use microbot_proto::v1;

use crate::store::states::{AccountState, DeliveryState, Misfire, ScheduleKind};

/// The wire value has no stored counterpart (`…_UNSPECIFIED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unspecified {0}")]
pub struct Unspecified(&'static str);

/// Declares `From<domain> for wire` and `TryFrom<wire> for domain` from one
/// list of variant pairs (exhaustive both ways: a new variant on either
/// side fails to compile until it is paired here).
macro_rules! pair {
    ($domain:ident, $wire:ident, $what:literal { $($d:ident <=> $w:ident),+ $(,)? }) => {
        impl From<$domain> for v1::$wire {
            fn from(s: $domain) -> Self {
                match s {
                    $($domain::$d => v1::$wire::$w),+
                }
            }
        }

        impl TryFrom<v1::$wire> for $domain {
            type Error = Unspecified;
            fn try_from(w: v1::$wire) -> Result<Self, Unspecified> {
                match w {
                    $(v1::$wire::$w => Ok($domain::$d),)+
                    v1::$wire::Unspecified => Err(Unspecified($what)),
                }
            }
        }
    };
}

pair!(DeliveryState, DeliveryState, "delivery state" {
    Pending <=> Pending,
    Sending <=> Sending,
    Sent <=> Sent,
    Failed <=> Failed,
    Missed <=> Missed,
    Cancelled <=> Cancelled,
});

pair!(AccountState, AccountState, "account state" {
    New <=> New,
    CodeSent <=> CodeSent,
    PasswordNeeded <=> PasswordNeeded,
    Active <=> Active,
    LoggedOut <=> LoggedOut,
    Limited <=> Limited,
    Paused <=> Paused,
});

pair!(ScheduleKind, ScheduleKind, "schedule kind" {
    Cron <=> Cron,
    Every <=> Every,
    At <=> At,
});

pair!(Misfire, MisfirePolicy, "misfire policy" {
    Skip <=> Skip,
    Once <=> Once,
    All <=> All,
});

#[cfg(test)]
mod tests {
    use microbot_proto::convert::EnumText;

    use super::*;

    /// Each wire value's text is the stored text, and back: one spelling.
    fn same_text<D, W>(all: &[D], stored: fn(D) -> &'static str)
    where
        D: Copy + Into<W> + TryFrom<W> + PartialEq + std::fmt::Debug,
        W: EnumText,
    {
        for d in all {
            let w: W = (*d).into();
            assert_eq!(w.text().as_deref(), Some(stored(*d)), "{d:?}");
            assert_eq!(W::from_text(stored(*d)).map(|w| w.name()), Some(w.name()));
            assert!(D::try_from(w).is_ok_and(|back| back == *d), "{d:?}");
        }
    }

    #[test]
    fn wire_enums_spell_the_stored_text() {
        same_text::<_, v1::DeliveryState>(DeliveryState::ALL, DeliveryState::as_str);
        same_text::<_, v1::AccountState>(AccountState::ALL, AccountState::as_str);
        same_text::<_, v1::ScheduleKind>(ScheduleKind::ALL, ScheduleKind::as_str);
        same_text::<_, v1::MisfirePolicy>(Misfire::ALL, Misfire::as_str);
        assert_eq!(
            DeliveryState::try_from(v1::DeliveryState::Unspecified),
            Err(Unspecified("delivery state"))
        );
    }
}
