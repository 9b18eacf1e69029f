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

#[cfg(test)]
mod tests {
    use super::*;

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
