//! Conversions between wire types and the plain Rust types both sides use.

use chrono::{DateTime, TimeZone, Utc};
use prost_types::Timestamp;

/// A UTC instant as a protobuf `Timestamp`.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A protobuf `Timestamp` as a UTC instant; `None` when out of chrono's range.
pub fn from_timestamp(ts: &Timestamp) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(ts.seconds, ts.nanos.clamp(0, 999_999_999) as u32)
        .single()
}

/// Unix milliseconds (the database's time format) as a protobuf `Timestamp`.
pub fn timestamp_ms(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: (ms.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// Renders an optional timestamp as RFC 3339 UTC (`2026-11-28T05:21:41Z`),
/// the form `-o json` uses.
pub fn rfc3339(ts: Option<&Timestamp>) -> Option<String> {
    ts.and_then(from_timestamp)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The text form of the state and kind enums: the value's name without the
/// enum's prefix, in lower case (`DELIVERY_STATE_SENT` → `sent`). It is the
/// text the daemon stores and `-o json` shows, so the enums carry exactly
/// the strings scripts already read.
pub trait EnumText: Sized + Copy + TryFrom<i32> {
    /// `DELIVERY_STATE_`.
    const PREFIX: &'static str;
    /// The generated `as_str_name`.
    fn name(self) -> &'static str;
    /// The generated `from_str_name`.
    fn from_name(name: &str) -> Option<Self>;

    /// `None` for the `…_UNSPECIFIED` value.
    fn text(self) -> Option<String> {
        let rest = self.name().strip_prefix(Self::PREFIX)?;
        (rest != "UNSPECIFIED").then(|| rest.to_ascii_lowercase())
    }

    /// The value whose text is `s` (lower case only; never `…_UNSPECIFIED`).
    fn from_text(s: &str) -> Option<Self> {
        if s.is_empty() || s.bytes().any(|b| !(b.is_ascii_lowercase() || b == b'_')) {
            return None;
        }
        Self::from_name(&format!("{}{}", Self::PREFIX, s.to_ascii_uppercase()))
            .filter(|v| v.text().is_some())
    }

    /// The text of a wire value (an `i32` field), or `fallback` (the older
    /// text field) when the daemon did not set it or sent a value this
    /// build does not know.
    fn text_or(value: i32, fallback: &str) -> String {
        Self::try_from(value)
            .ok()
            .and_then(Self::text)
            .unwrap_or_else(|| fallback.to_owned())
    }
}

macro_rules! enum_text {
    ($($ty:ty => $prefix:literal),+ $(,)?) => {$(
        impl EnumText for $ty {
            const PREFIX: &'static str = $prefix;
            fn name(self) -> &'static str {
                self.as_str_name()
            }
            fn from_name(name: &str) -> Option<Self> {
                Self::from_str_name(name)
            }
        }
    )+};
}

enum_text! {
    crate::v1::DeliveryState => "DELIVERY_STATE_",
    crate::v1::AccountState => "ACCOUNT_STATE_",
    crate::v1::ScheduleKind => "SCHEDULE_KIND_",
    crate::v1::MisfirePolicy => "MISFIRE_POLICY_",
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{AccountState, DeliveryState, MisfirePolicy};

    #[test]
    fn enum_text_is_the_lower_case_name() {
        assert_eq!(DeliveryState::Sent.text().as_deref(), Some("sent"));
        assert_eq!(
            AccountState::LoggedOut.text().as_deref(),
            Some("logged_out")
        );
        assert_eq!(DeliveryState::Unspecified.text(), None);
        assert_eq!(MisfirePolicy::from_text("once"), Some(MisfirePolicy::Once));
        for bad in ["", "ONCE", "Once", "unspecified", "never", "once "] {
            assert_eq!(MisfirePolicy::from_text(bad), None, "{bad:?}");
        }
        assert_eq!(DeliveryState::text_or(5, "x"), "missed");
        assert_eq!(DeliveryState::text_or(0, "sent"), "sent");
        assert_eq!(DeliveryState::text_or(99, "sent"), "sent");
    }

    #[test]
    fn timestamp_round_trips() {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 5, 21, 41).unwrap();
        assert_eq!(from_timestamp(&timestamp(t)), Some(t));
        let ms = t.timestamp_millis() + 123;
        let back = from_timestamp(&timestamp_ms(ms)).unwrap();
        assert_eq!(back.timestamp_millis(), ms);
        assert_eq!(timestamp_ms(-1).seconds, -1);
        assert_eq!(timestamp_ms(-1).nanos, 999_000_000);
    }
}
