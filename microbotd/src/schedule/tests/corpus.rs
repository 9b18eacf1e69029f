//! Known next-fire times for common expressions, error messages, durations
//! and `every` arithmetic.

use std::time::Duration;

use super::{fires, tz, utc};
use crate::schedule::{Schedule, ScheduleError, format_duration, parse_duration};

/// 2026-03-04 is a Wednesday.
const FROM: &str = "2026-03-04T10:17:00Z";

#[track_caller]
fn check(expr: &str, zone: &str, expected: &[&str]) {
    assert_eq!(
        fires(expr, zone, FROM, expected.len()),
        expected,
        "{expr} in {zone}"
    );
}

#[test]
fn macros() {
    check(
        "@daily",
        "UTC",
        &["2026-03-05T00:00:00+00:00", "2026-03-06T00:00:00+00:00"],
    );
    check("@midnight", "UTC", &["2026-03-05T00:00:00+00:00"]);
    check(
        "@hourly",
        "UTC",
        &["2026-03-04T11:00:00+00:00", "2026-03-04T12:00:00+00:00"],
    );
    check(
        "@weekly",
        "UTC",
        &["2026-03-08T00:00:00+00:00", "2026-03-15T00:00:00+00:00"],
    );
    check("@monthly", "UTC", &["2026-04-01T00:00:00+00:00"]);
    check("@yearly", "UTC", &["2027-01-01T00:00:00+00:00"]);
    check("@ANNUALLY", "UTC", &["2027-01-01T00:00:00+00:00"]);
}

#[test]
fn weekdays_steps_lists_names() {
    check(
        "0 9 * * 1-5",
        "UTC",
        &[
            "2026-03-05T09:00:00+00:00",
            "2026-03-06T09:00:00+00:00",
            "2026-03-09T09:00:00+00:00",
        ],
    );
    check(
        "*/15 9-17 * * MON-FRI",
        "UTC",
        &[
            "2026-03-04T10:30:00+00:00",
            "2026-03-04T10:45:00+00:00",
            "2026-03-04T11:00:00+00:00",
        ],
    );
    check(
        "0 0 1 * *",
        "UTC",
        &["2026-04-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00"],
    );
    check(
        "0 12 * * SUN",
        "UTC",
        &["2026-03-08T12:00:00+00:00", "2026-03-15T12:00:00+00:00"],
    );
    check("0 12 * * 7", "UTC", &["2026-03-08T12:00:00+00:00"]);
    check(
        "0 0 * * mon-sun",
        "UTC",
        &["2026-03-05T00:00:00+00:00", "2026-03-06T00:00:00+00:00"],
    );
    check(
        "30 8 * JAN,JUL MON",
        "UTC",
        &["2026-07-06T08:30:00+00:00", "2026-07-13T08:30:00+00:00"],
    );
    check(
        "5,35 */6 * * *",
        "UTC",
        &[
            "2026-03-04T12:05:00+00:00",
            "2026-03-04T12:35:00+00:00",
            "2026-03-04T18:05:00+00:00",
        ],
    );
    check(
        "0 0 1-10/3 * *",
        "UTC",
        &[
            "2026-03-07T00:00:00+00:00",
            "2026-03-10T00:00:00+00:00",
            "2026-04-01T00:00:00+00:00",
        ],
    );
}

#[test]
fn day_fields_or_when_both_restricted() {
    // Days 1-7 OR Mondays, not "first Monday".
    check(
        "0 9 1-7 * 1",
        "UTC",
        &[
            "2026-03-05T09:00:00+00:00",
            "2026-03-06T09:00:00+00:00",
            "2026-03-07T09:00:00+00:00",
            "2026-03-09T09:00:00+00:00",
            "2026-03-16T09:00:00+00:00",
            "2026-03-23T09:00:00+00:00",
            "2026-03-30T09:00:00+00:00",
            "2026-04-01T09:00:00+00:00",
        ],
    );
}

#[test]
fn day_fields_and_when_one_starts_with_star() {
    // crontab(5): `*/2` is unrestricted, so odd days that are Mondays. croner
    // alone would OR here and fire on 2026-03-05.
    check(
        "0 0 */2 * 1",
        "UTC",
        &["2026-03-09T00:00:00+00:00", "2026-03-23T00:00:00+00:00"],
    );
}

#[test]
fn leap_day_and_extensions() {
    check(
        "0 0 29 2 *",
        "UTC",
        &["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"],
    );
    check(
        "0 0 L * *",
        "UTC",
        &["2026-03-31T00:00:00+00:00", "2026-04-30T00:00:00+00:00"],
    );
    check(
        "0 0 * * 5L",
        "UTC",
        &["2026-03-27T00:00:00+00:00", "2026-04-24T00:00:00+00:00"],
    );
    check(
        "0 9 * * 1#1",
        "UTC",
        &["2026-04-06T09:00:00+00:00", "2026-05-04T09:00:00+00:00"],
    );
    check("0 9 * * MON#1", "UTC", &["2026-04-06T09:00:00+00:00"]);
}

#[test]
fn zones() {
    check(
        "0 22 * * 1-5",
        "Europe/Istanbul",
        &["2026-03-04T22:00:00+03:00"],
    );
    check(
        "0 9 * * *",
        "America/New_York",
        &["2026-03-04T09:00:00-05:00", "2026-03-05T09:00:00-05:00"],
    );
    check("0 9 * * *", "Asia/Tokyo", &["2026-03-05T09:00:00+09:00"]);
    check("0 9 * * *", "Asia/Kolkata", &["2026-03-05T09:00:00+05:30"]);
    // New York springs forward on 2026-03-08: 09:00 stays 09:00 local.
    assert_eq!(
        fires("0 9 * * *", "America/New_York", "2026-03-07T20:00:00Z", 2),
        ["2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00"]
    );
}

#[test]
fn dst_examples_from_dependencies_md() {
    let b = "Europe/Berlin";
    assert_eq!(
        fires("30 2 * * *", b, "2027-03-27T12:00:00Z", 2),
        ["2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00"]
    );
    assert_eq!(
        fires("30 2 * * *", b, "2027-10-30T12:00:00Z", 2),
        ["2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00"]
    );
    // Not a single-value hour+minute, so croner alone skips the day / fires twice.
    assert_eq!(
        fires("*/20 2 * * *", b, "2027-03-27T12:00:00Z", 2),
        ["2027-03-28T03:00:00+02:00", "2027-03-29T02:00:00+02:00"]
    );
    assert_eq!(
        fires("0,30 1-3 * * *", b, "2027-10-30T22:30:00Z", 6),
        [
            "2027-10-31T01:00:00+02:00",
            "2027-10-31T01:30:00+02:00",
            "2027-10-31T02:00:00+02:00",
            "2027-10-31T02:30:00+02:00",
            "2027-10-31T03:00:00+01:00",
            "2027-10-31T03:30:00+01:00"
        ]
    );
    // Hour `*`: real time, both passes of the repeated hour, gap skipped.
    assert_eq!(
        fires("30 * * * *", b, "2027-10-30T23:00:00Z", 4),
        [
            "2027-10-31T01:30:00+02:00",
            "2027-10-31T02:30:00+02:00",
            "2027-10-31T02:30:00+01:00",
            "2027-10-31T03:30:00+01:00"
        ]
    );
    assert_eq!(
        fires("30 * * * *", b, "2027-03-28T00:00:00Z", 2),
        ["2027-03-28T01:30:00+01:00", "2027-03-28T03:30:00+02:00"]
    );
    // Starting inside the first pass still finds the second pass.
    assert_eq!(
        fires("10 * * * *", b, "2027-10-31T00:40:00Z", 2),
        ["2027-10-31T02:10:00+01:00", "2027-10-31T03:10:00+01:00"]
    );
    // Lord Howe moves by 30 minutes.
    let lh = "Australia/Lord_Howe";
    assert_eq!(
        fires("0 2 * * *", lh, "2027-10-02T00:00:00Z", 2),
        ["2027-10-03T02:30:00+11:00", "2027-10-04T02:00:00+11:00"]
    );
    assert_eq!(
        fires("45 1 * * *", lh, "2027-04-03T00:00:00Z", 2),
        ["2027-04-04T01:45:00+11:00", "2027-04-05T01:45:00+10:30"]
    );
}

#[test]
fn never_fires_is_quick_none() {
    for expr in ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 */31 2 1#5"] {
        let s = Schedule::cron(expr, tz("UTC")).unwrap();
        assert!(s.never_fires(), "{expr}");
        assert_eq!(s.next_after(utc(FROM)), None, "{expr}");
    }
    assert!(
        !Schedule::cron("0 0 29 2 *", tz("UTC"))
            .unwrap()
            .never_fires()
    );
    // OR semantics: the Monday part still fires.
    assert!(
        !Schedule::cron("0 0 30 2 1", tz("UTC"))
            .unwrap()
            .never_fires()
    );
}

#[track_caller]
fn err(expr: &str) -> String {
    match Schedule::cron(expr, tz("UTC")) {
        Ok(_) => panic!("{expr:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_name_the_field() {
    assert_eq!(
        err("61 * * * *"),
        "minute field \"61\": 61 is out of range 0-59"
    );
    assert!(err("* * * * FOO").starts_with("day-of-week field \"FOO\": unknown name"));
    assert_eq!(
        err("1 2 3 4 5 6"),
        "expected 5 fields (minute hour day-of-month month day-of-week), got 6: seconds and years are not supported"
    );
    assert_eq!(
        err("* * * *"),
        "expected 5 fields (minute hour day-of-month month day-of-week), got 4"
    );
    assert_eq!(
        err("* 24 * * *"),
        "hour field \"24\": 24 is out of range 0-23"
    );
    assert_eq!(
        err("* * 0 * *"),
        "day-of-month field \"0\": 0 is out of range 1-31"
    );
    assert_eq!(
        err("* * * 13 *"),
        "month field \"13\": 13 is out of range 1-12"
    );
    assert!(err("* * * FOO *").starts_with("month field \"FOO\": unknown name"));
    assert!(err("*/0 * * * *").contains("step of 0"));
    assert!(err("5-1 * * * *").contains("reversed"));
    assert!(err("1,,2 * * * *").starts_with("minute field \"1,,2\": empty list item"));
    assert!(err("0/5 * * * *").contains("*/5"));
    assert!(err("* * * * 1#6").starts_with("day-of-week field \"1#6\": #6"));
    assert!(err("L * * * *").starts_with("minute field"));
    assert!(err("@reboot").contains("unknown macro"));
    assert_eq!(err("   "), "empty cron expression");
    assert!(matches!(
        Schedule::cron("0 0 ? * *", tz("UTC")),
        Err(ScheduleError::Field { .. })
    ));
}

/// A star inside a list is its whole range (croner alone refused it with
/// "Component error", which reached operators).
#[test]
fn stars_in_lists() {
    check(
        "*,*,*,*,* * * * *",
        "UTC",
        &["2026-03-04T10:18:00+00:00", "2026-03-04T10:19:00+00:00"],
    );
    check(
        "*/30,17 10 * * *",
        "UTC",
        &["2026-03-04T10:30:00+00:00", "2026-03-05T10:00:00+00:00"],
    );
    for expr in [
        "*,* * * * *",
        "* *,1 * * *",
        "0 0 *,1 * *",
        "0 0 * *,1 *",
        "0 0 * * *,1",
    ] {
        assert!(Schedule::cron(expr, tz("UTC")).is_ok(), "{expr}");
    }
}

#[test]
fn durations() {
    let d = |s: &str| parse_duration(s).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d("90s"), Duration::from_secs(90));
    assert_eq!(d("15m"), Duration::from_secs(900));
    assert_eq!(d("2h"), Duration::from_secs(7200));
    assert_eq!(d("1d"), Duration::from_secs(86_400));
    assert_eq!(d("1h30m"), Duration::from_secs(5400));
    assert_eq!(d("1d 2h"), Duration::from_secs(93_600));
    assert_eq!(d("500ms"), Duration::from_millis(500));
    assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
    assert_eq!(format_duration(Duration::from_secs(86_400 + 1)), "1d1s");
    assert_eq!(format_duration(Duration::ZERO), "0s");
    assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
    for bad in [
        "",
        "90",
        "m",
        "1x",
        "30m1h",
        "1h1h",
        "-5m",
        "1.5h",
        "99999999999999999999s",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn every_is_anchored_arithmetic() {
    let anchor = utc("2026-03-04T10:00:00Z");
    let s = Schedule::every(Duration::from_secs(5400), anchor).unwrap();
    assert_eq!(s.next_after(utc("2026-03-01T00:00:00Z")), Some(anchor));
    assert_eq!(s.next_after(anchor), Some(utc("2026-03-04T11:30:00Z")));
    assert_eq!(
        s.next_after(utc("2026-03-04T11:29:59Z")),
        Some(utc("2026-03-04T11:30:00Z"))
    );
    assert_eq!(
        s.next_after(utc("2026-03-04T11:30:00Z")),
        Some(utc("2026-03-04T13:00:00Z"))
    );
    // Far future in one division: 10^6 years is not iterated.
    let far = utc("9999-12-31T23:00:00Z");
    let next = s.next_after(far).unwrap();
    assert!(next > far && (next - far).num_seconds() <= 5400);
    assert_eq!((next - anchor).num_seconds() % 5400, 0);
    // Zone-independent: 90 minutes across a DST change is still 90 minutes.
    let b = Schedule::every(Duration::from_secs(5400), utc("2027-03-28T00:30:00Z")).unwrap();
    assert_eq!(
        b.next_after(utc("2027-03-28T00:30:00Z")),
        Some(utc("2027-03-28T02:00:00Z"))
    );
    assert!(Schedule::every(Duration::from_millis(999), anchor).is_err());
    assert!(Schedule::every(Duration::from_secs(367 * 86_400), anchor).is_err());
    assert!(Schedule::every(Duration::from_secs(366 * 86_400), anchor).is_ok());
    let parsed = Schedule::parse("every 1h30m", tz("UTC"), anchor).unwrap();
    assert_eq!(parsed.to_string(), "every 1h30m");
    assert_eq!(parsed.next_after(anchor), Some(utc("2026-03-04T11:30:00Z")));
}

#[test]
fn cache_shares_parsed_expressions() {
    use crate::schedule::CronCache;
    let mut cache = CronCache::new();
    let a = cache.cron("0 9 * * *", tz("Europe/Berlin")).unwrap();
    let b = cache.cron(" 0 9 * * * ", tz("Asia/Tokyo")).unwrap();
    assert_eq!(cache.len(), 1);
    let t = utc("2026-03-04T10:17:00Z");
    assert_eq!(a.next_after(t), Some(utc("2026-03-05T08:00:00Z")));
    assert_eq!(b.next_after(t), Some(utc("2026-03-05T00:00:00Z")));
    assert!(cache.cron("61 * * * *", tz("UTC")).is_err());
    drop((a, b));
    cache.prune();
    assert!(cache.is_empty());
}
