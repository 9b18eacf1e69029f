//! Warnings from `cron validate`.

use super::{tz, utc};
use crate::schedule::{RateContext, validate, validate_every};

fn warnings(expr: &str, zone: &str, limits: RateContext) -> Vec<String> {
    validate(expr, tz(zone), utc("2027-01-01T00:00:00Z"), 5, limits)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .warnings
}

const ONE: RateContext = RateContext {
    rate_limit_per_minute: 20,
    targets: 1,
};

#[test]
fn plain_schedules_have_no_warnings() {
    for expr in [
        "0 9 * * *",
        "*/15 9-17 * * MON-FRI",
        "@daily",
        "0 9 * * 1#1",
        "every 90m",
    ] {
        assert_eq!(warnings(expr, "UTC", ONE), Vec::<String>::new(), "{expr}");
    }
    assert_eq!(
        warnings("0 9 * * *", "Europe/Berlin", ONE),
        Vec::<String>::new()
    );
}

#[test]
fn or_of_day_fields_is_explained() {
    let w = warnings("0 9 1-7 * 1", "UTC", ONE);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("days 1-7 of the month AND on every Monday"),
        "{}",
        w[0]
    );
    assert!(w[0].contains("EITHER"));
    assert!(w[0].contains("`0 9 * * 1#1`"), "{}", w[0]);
    let w = warnings("0 9 15-21 * FRI", "UTC", ONE);
    assert!(
        w[0].contains("third Friday") && w[0].contains("`0 9 * * 5#3`"),
        "{}",
        w[0]
    );
    let w = warnings("0 9 13 * 5", "UTC", ONE);
    assert!(w[0].contains("EITHER") && !w[0].contains("#3`"), "{}", w[0]);
    // `*/2` is unrestricted per crontab(5): AND, nothing to warn about.
    assert!(warnings("0 0 */2 * 1", "UTC", ONE).is_empty());
}

#[test]
fn rate_limits() {
    let thirty = RateContext {
        rate_limit_per_minute: 20,
        targets: 30,
    };
    let w = warnings("* * * * *", "UTC", thirty);
    assert!(w.iter().any(|w| w.contains("30 sends a minute")), "{w:?}");
    let w = validate_every(
        "1s",
        utc("2027-01-01T00:00:00Z"),
        tz("UTC"),
        utc("2027-01-01T00:00:00Z"),
        3,
        ONE,
    )
    .unwrap();
    assert!(
        w.warnings.iter().any(|w| w.contains("60 sends a minute")),
        "{:?}",
        w.warnings
    );
    assert_eq!(w.next.len(), 3);
    let w = warnings("0 9 * * *", "UTC", thirty);
    assert!(
        w.iter()
            .any(|w| w.contains("each fire sends to 30 targets")),
        "{w:?}"
    );
    assert!(
        warnings(
            "*/5 * * * *",
            "UTC",
            RateContext {
                rate_limit_per_minute: 20,
                targets: 20
            }
        )
        .is_empty()
    );
}

#[test]
fn dst_gap_and_overlap() {
    let w = warnings("30 2 * * *", "Europe/Berlin", ONE);
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].contains("2027-03-28")
            && w[0].contains("does not exist")
            && w[0].contains("03:00+02:00"),
        "{}",
        w[0]
    );
    assert!(
        w[1].contains("2027-10-31") && w[1].contains("twice") && w[1].contains("02:30+02:00"),
        "{}",
        w[1]
    );
    let w = warnings("30 * * * *", "Europe/Berlin", ONE);
    assert!(
        w.iter().all(|w| w.contains("follows real time")) && w.len() == 2,
        "{w:?}"
    );
    let w = warnings("15 2 * * *", "Australia/Lord_Howe", ONE);
    assert!(
        w.iter().any(|w| w.contains("fires once at 02:30+11:00")),
        "{w:?}"
    );
}

#[test]
fn never_fires() {
    let v = validate("0 0 30 2 *", tz("UTC"), utc("2027-01-01T00:00:00Z"), 5, ONE).unwrap();
    assert!(v.next.is_empty());
    assert!(v.warnings[0].contains("never fires"), "{:?}", v.warnings);
}

#[test]
fn next_times_are_in_the_zone() {
    let v = validate(
        "0 9 * * *",
        tz("Europe/Istanbul"),
        utc("2027-01-01T00:00:00Z"),
        2,
        ONE,
    )
    .unwrap();
    let shown: Vec<String> = v.next.iter().map(|t| t.to_rfc3339()).collect();
    assert_eq!(
        shown,
        ["2027-01-01T09:00:00+03:00", "2027-01-02T09:00:00+03:00"]
    );
    assert!(validate("61 * * * *", tz("UTC"), utc("2027-01-01T00:00:00Z"), 2, ONE).is_err());
}
