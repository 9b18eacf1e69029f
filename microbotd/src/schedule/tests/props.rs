//! Property tests: parsers never panic, parsed schedules always move
//! forward, canonical durations round-trip.

use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::tz;
use crate::schedule::{Schedule, format_duration, parse_duration};

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9*/,#LW-]{1,6}",
        "[0-9]{1,2}(-[0-9]{1,2})?(/[0-9]{1,2})?",
        prop::sample::select(vec![
            "*", "MON", "jan-mar", "SUN", "1#5", "5L", "L", "LW", "15W", "*/7", "?"
        ])
        .prop_map(str::to_owned),
    ]
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // 2000-01-01 to 2040-01-01
    (946_684_800i64..2_208_988_800).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,40}") {
        let _ = Schedule::cron(&s, tz("UTC"));
        let _ = parse_duration(&s);
        let _ = Schedule::parse(&s, tz("UTC"), Utc::now());
    }

    #[test]
    fn five_tokens_parse_or_error_and_move_forward(
        toks in prop::collection::vec(token(), 5),
        zone in prop::sample::select(ZONES.to_vec()),
        t in instant(),
    ) {
        let expr = toks.join(" ");
        if let Ok(s) = Schedule::cron(&expr, tz(zone)) {
            let mut t = t;
            for step in 0..4 {
                match s.next_after(t) {
                    Some(x) => { prop_assert!(x > t, "{expr}: {x} !> {t}"); t = x; }
                    None => {
                        // A pattern that fires at all fires every 28 years.
                        prop_assert!(step == 0 && s.never_fires(), "{expr}: None from {t}");
                        break;
                    }
                }
            }
        }
    }

    #[test]
    fn extreme_instants_never_panic(secs in any::<i64>(), zone in prop::sample::select(ZONES.to_vec())) {
        if let Some(t) = DateTime::from_timestamp(secs % 8_000_000_000_000, 0) {
            for expr in ["* * * * *", "0 0 29 2 *", "30 2 * * *", "0 0 * * 5L"] {
                if let Some(x) = Schedule::cron(expr, tz(zone)).unwrap().next_after(t) {
                    prop_assert!(x > t);
                }
            }
            let e = Schedule::every(Duration::from_secs(90), DateTime::UNIX_EPOCH).unwrap();
            if let Some(x) = e.next_after(t) { prop_assert!(x > t); }
        }
    }

    #[test]
    fn canonical_durations_round_trip(ms in 0u64..=u64::MAX / 2) {
        let d = Duration::from_millis(ms);
        let text = format_duration(d);
        prop_assert_eq!(parse_duration(&text), Ok(d), "{}", text);
        prop_assert_eq!(format_duration(parse_duration(&text).unwrap()), text);
    }

    #[test]
    fn every_is_on_the_grid(secs in 1u64..=366 * 86_400, anchor in instant(), t in instant()) {
        let s = Schedule::every(Duration::from_secs(secs), anchor).unwrap();
        let x = s.next_after(t).unwrap();
        prop_assert!(x > t);
        let k = (x - anchor).num_seconds();
        prop_assert!(k >= 0 && k % secs as i64 == 0);
        prop_assert!(x == anchor || (x - t).num_seconds() <= secs as i64);
    }
}
