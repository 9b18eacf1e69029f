//! What to do with the slots a template owes when it fires: which to send,
//! which to record as `missed`, and where its schedule resumes.
//!
//! # Rules
//! A slot at most [`ON_TIME`] old is on time and is sent (the dispatcher
//! was merely busy). Older slots are late and follow the template's policy:
//! * `skip` — every late slot is `missed`;
//! * `once` — when no slot is on time and the newest late slot is within
//!   `scheduler.misfire_grace`, that one is sent; the rest are `missed`;
//! * `all` — every late slot is sent, at most [`MAX_SENDS`] (the newest);
//!   older ones are `missed`.
//!
//! # Bounds
//! A huge gap (`every 1s` over a week) must not write a million rows. At
//! most [`MAX_MISSED_ROWS`] missed slots per fire are recorded individually
//! (the newest); the rest are counted in one more `missed` row per target
//! at the oldest owed slot, whose `slots` column holds the count (`stats`
//! sums it, `deliveries list` shows it in the row's error), and in one WARN
//! log line naming the template, the count and the time range. Enumeration
//! itself stops after
//! [`MAX_SCAN`] slots and then rescans the last hour before now (a schedule
//! fires at most once a second, so that is ≤ 3600 more): the count of
//! slots in between is then reported as "at least".

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::schedule::Schedule;

/// A slot this late is still "on time".
pub const ON_TIME: Duration = Duration::from_secs(30);
/// `all` sends at most this many slots per fire.
pub const MAX_SENDS: usize = 100;
/// At most this many `missed` slots are written per fire.
pub const MAX_MISSED_ROWS: usize = 100;
/// Slots enumerated from the old `next_slot` before jumping ahead.
pub const MAX_SCAN: usize = 10_000;

/// A template's misfire policy: the stored, typed one.
pub use crate::store::states::Misfire as Policy;

/// The outcome of [`plan`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Slots to send (ms), oldest first.
    pub send: Vec<i64>,
    /// Slots to record as `missed` (ms), oldest first.
    pub missed: Vec<i64>,
    /// Missed slots not written as rows (counted only).
    pub unrecorded: u64,
    /// True when `unrecorded` is a lower bound (enumeration jumped).
    pub unrecorded_at_least: bool,
    /// The oldest slot owed (for the log line).
    pub first_owed: i64,
    /// The first slot after now: the template's new `next_slot`.
    pub next_slot: Option<i64>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Plans a fire of a template whose durable `next_slot` is `first` (≤ now).
pub fn plan(
    schedule: &Schedule,
    first: i64,
    now: DateTime<Utc>,
    policy: Policy,
    grace: Duration,
) -> Plan {
    let now_ms = ms(now);
    let keep = MAX_SENDS + MAX_MISSED_ROWS;
    // The newest `keep` owed slots; older ones are only counted.
    let mut owed: VecDeque<i64> = VecDeque::with_capacity(keep.min(64));
    let mut dropped: u64 = 0;
    let mut at_least = false;
    let push = |owed: &mut VecDeque<i64>, s: i64, dropped: &mut u64| {
        if owed.len() == keep {
            owed.pop_front();
            *dropped += 1;
        }
        owed.push_back(s);
    };
    let mut cursor = Some(first);
    let mut scanned = 0usize;
    while let Some(s) = cursor.filter(|s| *s <= now_ms) {
        push(&mut owed, s, &mut dropped);
        scanned += 1;
        cursor = schedule.next_after(crate::store::from_ms(s)).map(ms);
        if scanned == MAX_SCAN {
            // Jump: the last hour before now holds at most 3600 slots.
            let hour_ago = now_ms - 3_600_000;
            if cursor.is_some_and(|c| c < hour_ago) {
                at_least = true;
                cursor = schedule
                    .next_after(crate::store::from_ms(hour_ago - 1))
                    .map(ms);
            }
        }
    }
    let next_slot = schedule.next_after(now).map(ms);
    let on_time_from = now_ms - ON_TIME.as_millis() as i64;
    let split = owed
        .iter()
        .position(|s| *s >= on_time_from)
        .unwrap_or(owed.len());
    let (late, on_time): (Vec<i64>, Vec<i64>) = {
        let v: Vec<i64> = owed.into_iter().collect();
        (v[..split].to_vec(), v[split..].to_vec())
    };
    let mut send = on_time;
    let mut missed = match policy {
        Policy::Skip => late,
        Policy::Once => {
            let grace_from = now_ms - grace.as_millis() as i64;
            match late.split_last() {
                Some((newest, rest)) if send.is_empty() && *newest >= grace_from => {
                    send.insert(0, *newest);
                    rest.to_vec()
                }
                _ => late,
            }
        }
        Policy::All => {
            let mut all = late;
            all.extend(send);
            let cut = all.len().saturating_sub(MAX_SENDS);
            send = all.split_off(cut);
            all
        }
    };
    // Sends never exceed MAX_SENDS even if many slots were on time.
    if send.len() > MAX_SENDS {
        let extra = send.len() - MAX_SENDS;
        missed.extend(send.drain(..extra));
        missed.sort_unstable();
    }
    if missed.len() > MAX_MISSED_ROWS {
        let extra = missed.len() - MAX_MISSED_ROWS;
        missed.drain(..extra);
        dropped += extra as u64;
    }
    Plan {
        send,
        missed,
        unrecorded: dropped,
        unrecorded_at_least: at_least,
        first_owed: first,
        next_slot,
    }
}

/// [`plan`] for a dispatcher that claims ahead: slots owed up to `now`
/// follow the misfire rules, and every slot after `now` up to `horizon`
/// is claimed too (at most [`MAX_SENDS`] sends in all). The new
/// `next_slot` is the first slot after `horizon`. A `first` still in the
/// future owes nothing late.
pub fn plan_ahead(
    schedule: &Schedule,
    first: i64,
    now: DateTime<Utc>,
    horizon: i64,
    policy: Policy,
    grace: Duration,
) -> Plan {
    let mut p = if first <= ms(now) {
        plan(schedule, first, now, policy, grace)
    } else {
        Plan {
            first_owed: first,
            next_slot: Some(first),
            ..Plan::default()
        }
    };
    while let Some(n) = p.next_slot.filter(|n| *n <= horizon) {
        if p.send.len() >= MAX_SENDS {
            break;
        }
        p.send.push(n);
        p.next_slot = schedule.next_after(crate::store::from_ms(n)).map(ms);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 4, h, m, s).unwrap()
    }

    const GRACE: Duration = Duration::from_secs(600);

    #[test]
    fn ninety_minute_outage_of_every_five_minutes() {
        let s = Schedule::cron("*/5 * * * *", chrono_tz::UTC).unwrap();
        let first = ms(at(0, 5, 0));
        let now = at(1, 32, 30);
        let skip = plan(&s, first, now, Policy::Skip, GRACE);
        assert_eq!((skip.send.len(), skip.missed.len()), (0, 18));
        let once = plan(&s, first, now, Policy::Once, GRACE);
        assert_eq!(once.send, vec![ms(at(1, 30, 0))]);
        assert_eq!(once.missed.len(), 17);
        let all = plan(&s, first, now, Policy::All, GRACE);
        assert_eq!((all.send.len(), all.missed.len()), (18, 0));
        assert_eq!(all.next_slot, Some(ms(at(1, 35, 0))));
        assert_eq!(all.unrecorded, 0);
    }

    #[test]
    fn on_time_slot_is_sent_under_every_policy() {
        let s = Schedule::cron("*/5 * * * *", chrono_tz::UTC).unwrap();
        for p in [Policy::Skip, Policy::Once, Policy::All] {
            let pl = plan(&s, ms(at(0, 5, 0)), at(0, 5, 1), p, GRACE);
            assert_eq!(pl.send, vec![ms(at(0, 5, 0))], "{p:?}");
            assert!(pl.missed.is_empty());
            assert_eq!(pl.next_slot, Some(ms(at(0, 10, 0))));
        }
    }

    #[test]
    fn once_outside_grace_sends_nothing() {
        let s = Schedule::cron("0 * * * *", chrono_tz::UTC).unwrap();
        let pl = plan(&s, ms(at(0, 0, 0)), at(2, 30, 0), Policy::Once, GRACE);
        assert!(pl.send.is_empty());
        assert_eq!(pl.missed.len(), 3);
    }

    #[test]
    fn a_week_of_every_second_is_bounded() {
        let start = at(0, 0, 0);
        let s = Schedule::every(Duration::from_secs(1), start).unwrap();
        let now = start + chrono::Duration::days(7);
        let pl = plan(&s, ms(start), now, Policy::All, GRACE);
        assert_eq!(pl.send.len(), MAX_SENDS);
        assert_eq!(pl.missed.len(), MAX_MISSED_ROWS);
        assert!(pl.unrecorded_at_least);
        assert!(pl.unrecorded > 10_000);
        assert_eq!(*pl.send.last().unwrap(), ms(now));
        assert!(pl.next_slot.unwrap() > ms(now));
        let skip = plan(&s, ms(start), now, Policy::Skip, GRACE);
        assert_eq!(skip.missed.len(), MAX_MISSED_ROWS);
        // The on-time window (30 s) is sent even under skip.
        assert_eq!(skip.send.len(), 31);
    }

    #[test]
    fn ahead_claims_the_window_and_late_slots_follow_the_policy() {
        let s = Schedule::every(Duration::from_secs(1), at(0, 0, 0)).unwrap();
        // Future first slot: nothing late, the window [now, now + 5 s] claimed.
        let now = at(0, 0, 10);
        let p = plan_ahead(
            &s,
            ms(at(0, 0, 12)),
            now,
            ms(at(0, 0, 15)),
            Policy::Once,
            GRACE,
        );
        let want: Vec<i64> = (12..=15).map(|x| ms(at(0, 0, x))).collect();
        assert_eq!(p.send, want);
        assert!(p.missed.is_empty());
        assert_eq!(p.next_slot, Some(ms(at(0, 0, 16))));
        // A slot beyond the horizon is left for later.
        let p = plan_ahead(
            &s,
            ms(at(0, 0, 20)),
            now,
            ms(at(0, 0, 15)),
            Policy::Once,
            GRACE,
        );
        assert!(p.send.is_empty());
        assert_eq!(p.next_slot, Some(ms(at(0, 0, 20))));
        // Late slots keep their policy; the window is added after them.
        let c = Schedule::cron("*/5 * * * *", chrono_tz::UTC).unwrap();
        let now = at(1, 32, 30);
        let p = plan_ahead(
            &c,
            ms(at(0, 5, 0)),
            now,
            ms(at(1, 35, 0)),
            Policy::Skip,
            GRACE,
        );
        assert_eq!(p.missed.len(), 18);
        assert_eq!(p.send, vec![ms(at(1, 35, 0))]);
        assert_eq!(p.next_slot, Some(ms(at(1, 40, 0))));
    }
}
