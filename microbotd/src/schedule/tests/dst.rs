//! DST properties over every offset change 2020-2035 of zones with unusual
//! rules, checked against an oracle built from chrono's own wall-clock
//! resolution and the transition instants found by `tzscan` (not croner).

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::{tz, utc};
use crate::schedule::Schedule;
use crate::schedule::tzscan::{Transition, transitions};

const ZONES: &[&str] = &[
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "America/Asuncion",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Tehran",
    "Asia/Jerusalem",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Africa/Cairo",
    "Antarctica/Troll",
];

fn all_transitions() -> Vec<(Tz, Transition)> {
    let (from, to) = (utc("2020-01-01T00:00:00Z"), utc("2036-01-01T00:00:00Z"));
    let mut out = Vec::new();
    for name in ZONES {
        let z = tz(name);
        let found = transitions(z, from, to);
        assert!(
            !found.is_empty() || *name == "Asia/Tehran",
            "{name}: none found"
        );
        out.extend(found.into_iter().map(|t| (z, t)));
    }
    out
}

/// The wall-clock range a transition skips (gap) or repeats (overlap).
fn affected(tr: &Transition) -> (NaiveDateTime, NaiveDateTime) {
    let wall = |o: i32| tr.at.naive_utc() + Duration::seconds(i64::from(o));
    let (a, b) = (wall(tr.before), wall(tr.after));
    (a.min(b), a.max(b))
}

/// Expected fires in `(start, end)` of a schedule that fires at the wall
/// times `(h, m)` for h in `hours`, m in `minutes` every day.
fn oracle(
    z: Tz,
    tr: &Transition,
    hours: &[u32],
    minutes: &[u32],
    real_time: bool,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Vec<DateTime<Utc>> {
    let first_day = (start - Duration::days(1)).with_timezone(&z).date_naive();
    let mut out = Vec::new();
    for day in first_day.iter_days().take(5) {
        for &h in hours {
            for &m in minutes {
                let w = day.and_hms_opt(h, m, 0).expect("valid wall time");
                match z.from_local_datetime(&w) {
                    LocalResult::Single(x) => out.push(x.with_timezone(&Utc)),
                    LocalResult::Ambiguous(a, b) => {
                        out.push(a.with_timezone(&Utc));
                        if real_time {
                            out.push(b.with_timezone(&Utc));
                        }
                    }
                    LocalResult::None if real_time => {}
                    LocalResult::None => {
                        assert!(tr.is_gap(), "{z}: nonexistent {w} away from a gap");
                        out.push(tr.at);
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out.retain(|x| *x > start && *x < end);
    out
}

fn engine(s: &Schedule, (start, end): (DateTime<Utc>, DateTime<Utc>)) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut t = start;
    while let Some(x) = s.next_after(t).filter(|x| *x < end) {
        assert!(x > t, "not strictly after");
        out.push(x);
        t = x;
    }
    out
}

fn list(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

#[track_caller]
fn check(z: Tz, tr: &Transition, hours: &[u32], minutes: &[u32]) {
    let real_time = hours.len() == 24;
    let hour_field = if real_time {
        "*".to_owned()
    } else {
        list(hours)
    };
    let expr = format!("{} {hour_field} * * *", list(minutes));
    let s = Schedule::cron(&expr, z).expect("valid");
    let window = (tr.at - Duration::hours(30), tr.at + Duration::hours(30));
    let want = oracle(z, tr, hours, minutes, real_time, window);
    let got = engine(&s, window);
    assert_eq!(got, want, "`{expr}` in {z} around {tr:?}");
}

/// Quarter hours from an hour before the affected range to an hour after.
fn nearby_times(tr: &Transition) -> Vec<(u32, u32)> {
    use chrono::Timelike;
    let (a, b) = affected(tr);
    let mut out = Vec::new();
    let mut w = a - Duration::hours(1);
    while w <= b + Duration::hours(1) {
        let q = (w.hour(), w.minute() / 15 * 15);
        if !out.contains(&q) {
            out.push(q);
        }
        w += Duration::minutes(15);
    }
    out
}

#[test]
fn fixed_daily_times_fire_once_per_day() {
    let all = all_transitions();
    assert!(all.len() > 250, "only {} transitions found", all.len());
    for (z, tr) in &all {
        for (h, m) in nearby_times(tr)
            .into_iter()
            .chain([(0, 0), (3, 0), (1, 30)])
        {
            check(*z, tr, &[h], &[m]);
            // One fire per local day: the list of days is exactly consecutive.
            let s = Schedule::cron(&format!("{m} {h} * * *"), *z).unwrap();
            let fired = engine(&s, (tr.at - Duration::days(3), tr.at + Duration::days(3)));
            let days: Vec<NaiveDate> = fired
                .iter()
                .map(|x| x.with_timezone(z).date_naive())
                .collect();
            for pair in days.windows(2) {
                assert_eq!(
                    pair[1],
                    pair[0].succ_opt().unwrap(),
                    "{m} {h} in {z} around {tr:?}: {fired:?}"
                );
            }
        }
    }
}

#[test]
fn fixed_multi_value_schedules_fire_each_wall_time_once() {
    use chrono::Timelike;
    for (z, tr) in all_transitions() {
        let (a, b) = affected(&tr);
        let hours: Vec<u32> = (a.hour()..=b.hour().max(a.hour())).collect();
        if hours.len() < 24 {
            check(z, &tr, &hours, &[0, 20, 40]);
            check(z, &tr, &hours, &[0, 30]);
        }
    }
}

#[test]
fn star_hour_schedules_follow_real_time() {
    let every_hour: Vec<u32> = (0..24).collect();
    for (z, tr) in all_transitions() {
        check(z, &tr, &every_hour, &[30]);
        check(z, &tr, &every_hour, &[0]);
        check(z, &tr, &every_hour, &[0, 15, 30, 45]);
        check(z, &tr, &every_hour, &[10, 59]);
    }
}

#[test]
fn every_transition_kind_is_covered() {
    let all = all_transitions();
    assert!(all.iter().any(|(_, t)| t.is_gap()) && all.iter().any(|(_, t)| !t.is_gap()));
    // Lord Howe's 30-minute and Troll's 2-hour shifts are in the sample.
    assert!(all.iter().any(|(_, t)| (t.after - t.before).abs() == 1800));
    assert!(all.iter().any(|(_, t)| (t.after - t.before).abs() == 7200));
    // Midnight transitions (Santiago, Havana, Cairo, Asuncion) are in too.
    assert!(all.iter().any(|(z, t)| {
        use chrono::Timelike;
        t.at.with_timezone(z).hour() <= 1 && t.is_gap()
    }));
}
