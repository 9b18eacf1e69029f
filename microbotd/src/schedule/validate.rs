//! `microbotctl cron validate`: next fire times plus plain-language warnings
//! about the surprises people actually hit (OR-ed day fields, rate limits,
//! DST, expressions that never fire).

use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::cron::CronSchedule;
use super::field::weekday_names;
use super::tzscan::{Transition, transitions};
use super::{Schedule, ScheduleError, parse_duration};

/// More next-fire times than this are not computed, whatever `n` says.
pub const MAX_NEXT: usize = 1000;

/// What the rate-limit warning compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateContext {
    /// The account's token bucket rate (docs/DESIGN.md: default 20).
    pub rate_limit_per_minute: u32,
    /// How many chats each fire sends to.
    pub targets: u32,
}

impl Default for RateContext {
    fn default() -> Self {
        RateContext {
            rate_limit_per_minute: 20,
            targets: 1,
        }
    }
}

/// Result of a validation: the next fires in the schedule's zone and
/// warnings (empty when nothing is surprising).
#[derive(Debug, Clone)]
pub struct Validation {
    pub next: Vec<DateTime<Tz>>,
    pub warnings: Vec<String>,
}

/// Validates `expr`: a cron expression, or `every <duration>` anchored at
/// `from`. Errors are syntax errors; everything else is a warning.
pub fn validate(
    expr: &str,
    tz: Tz,
    from: DateTime<Utc>,
    n: usize,
    limits: RateContext,
) -> Result<Validation, ScheduleError> {
    let schedule = Schedule::parse(expr, tz, from)?;
    Ok(validate_schedule(&schedule, tz, from, n, limits))
}

/// Validates `every <duration>` given just the duration (`90m`), anchored
/// at `anchor`; times are shown in `tz`.
pub fn validate_every(
    duration: &str,
    anchor: DateTime<Utc>,
    tz: Tz,
    from: DateTime<Utc>,
    n: usize,
    limits: RateContext,
) -> Result<Validation, ScheduleError> {
    let schedule = Schedule::every(parse_duration(duration)?, anchor)?;
    Ok(validate_schedule(&schedule, tz, from, n, limits))
}

/// Validates an already parsed schedule; `tz` is used for display only.
pub fn validate_schedule(
    schedule: &Schedule,
    tz: Tz,
    from: DateTime<Utc>,
    n: usize,
    limits: RateContext,
) -> Validation {
    let mut next = Vec::new();
    let mut t = from;
    while next.len() < n.min(MAX_NEXT) {
        let Some(x) = schedule.next_after(t) else {
            break;
        };
        next.push(x.with_timezone(&tz));
        t = x;
    }
    let mut warnings = Vec::new();
    let fires_per_minute = match schedule {
        Schedule::Cron(c) => {
            if c.never_fires() {
                warnings.push(
                    "this schedule never fires: no calendar date matches its day-of-month, \
                     month and day-of-week fields together (like 30 February)"
                        .to_owned(),
                );
                return Validation { next, warnings };
            }
            warnings.extend(day_or_warning(c));
            warnings.extend(dst_warnings(c, from));
            f64::from(c.fires_per_hour()) / 60.0
        }
        Schedule::Every(e) => 60.0 / e.interval().as_secs_f64(),
        Schedule::Once(o) => {
            warnings.extend(o.warning().map(str::to_owned));
            return Validation { next, warnings };
        }
    };
    warnings.extend(rate_warning(fires_per_minute, limits));
    Validation { next, warnings }
}

fn day_or_warning(c: &CronSchedule) -> Option<String> {
    let (dom, dow) = (&c.core.fields[2], &c.core.fields[4]);
    if dom.star || dow.star {
        return None;
    }
    let [min, hour, dom_text, month, dow_text] = &c.core.texts;
    let dom_desc = if dom_text.eq_ignore_ascii_case("L") {
        "on the last day of the month".to_owned()
    } else if dom.count() == 1 && !dom.special {
        format!("on day {dom_text} of the month")
    } else {
        format!("on days {dom_text} of the month")
    };
    let names = weekday_names(dow.bits);
    let dow_desc = if dow.special || names.is_empty() {
        format!("on days matching day-of-week \"{dow_text}\"")
    } else {
        format!("on every {}", join_and(&names))
    };
    let mut msg = format!(
        "day-of-month and day-of-week are both restricted, so this fires {dom_desc} AND \
         {dow_desc} (cron matches a day when EITHER field matches, not both)"
    );
    match first_weekday_form(dom_text, dow) {
        Some((k, d)) => {
            let suggestion = format!("{min} {hour} * {month} {d}#{k}");
            // Only suggest what we would accept ourselves.
            if Schedule::cron(&suggestion, c.tz()).is_ok() {
                const ORD: [&str; 4] = ["first", "second", "third", "fourth"];
                msg.push_str(&format!(
                    "; for 'the {} {} of the month' use `{suggestion}`",
                    ORD[k as usize - 1],
                    names[0]
                ));
            }
        }
        None => msg.push_str(
            "; for 'the Nth weekday of the month' put '#' or 'L' in the day-of-week field \
             and * in day-of-month (e.g. `* * 1#1` = first Monday, `* * 5L` = last Friday)",
        ),
    }
    Some(msg)
}

/// `1-7` + one weekday means "first <weekday>" to most people: returns
/// (occurrence, weekday number) for the `d#k` form.
fn first_weekday_form(dom_text: &str, dow: &super::field::Field) -> Option<(u32, u32)> {
    let (a, b) = dom_text.split_once('-')?;
    let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
    if dow.special || dow.count() != 1 || b != a + 6 || (a - 1) % 7 != 0 || a > 22 {
        return None;
    }
    Some(((a - 1) / 7 + 1, dow.bits.trailing_zeros()))
}

fn rate_warning(fires_per_minute: f64, limits: RateContext) -> Option<String> {
    let targets = f64::from(limits.targets);
    let limit = limits.rate_limit_per_minute;
    let sends = fires_per_minute * targets;
    if sends > f64::from(limit) {
        return Some(format!(
            "fires up to {} times a minute; with {} target(s) that is {} sends a minute, more \
             than the account's rate limit of {limit} a minute: sends will queue up and fall \
             further and further behind",
            fmt_num(fires_per_minute),
            limits.targets,
            fmt_num(sends),
        ));
    }
    if limits.targets > limit && fires_per_minute > 0.0 {
        let minutes = if limit == 0 {
            "forever".to_owned()
        } else {
            format!("about {} minutes", fmt_num(targets / f64::from(limit)))
        };
        return Some(format!(
            "each fire sends to {} targets, more than the account's rate limit of {limit} a \
             minute: delivering one fire takes {minutes}",
            limits.targets
        ));
    }
    None
}

fn fmt_num(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn join_and(items: &[impl AsRef<str>]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [init @ .., last] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", init.join(", "), last.as_ref())
        }
    }
}

/// Warns about the DST changes in the coming year that touch a fire time.
fn dst_warnings(c: &CronSchedule, from: DateTime<Utc>) -> Vec<String> {
    let tz = c.tz();
    let until = from + TimeDelta::days(366);
    transitions(tz, from, until)
        .into_iter()
        .filter_map(|tr| dst_warning(c, tz, tr))
        .collect()
}

fn dst_warning(c: &CronSchedule, tz: Tz, tr: Transition) -> Option<String> {
    let wall = |offset: i32| tr.at.naive_utc() + TimeDelta::seconds(i64::from(offset));
    let (start, end) = if tr.is_gap() {
        (wall(tr.before), wall(tr.after))
    } else {
        (wall(tr.after), wall(tr.before))
    };
    let hits = walls_in(c, start, end);
    let first = *hits.first()?;
    let times = list_times(&hits);
    let date = first.format("%Y-%m-%d");
    let (from_hm, to_hm) = if tr.is_gap() {
        (start.format("%H:%M"), end.format("%H:%M"))
    } else {
        (end.format("%H:%M"), start.format("%H:%M"))
    };
    let real = "(the hour field is *, so it follows real time)";
    Some(match (tr.is_gap(), c.follows_real_time()) {
        (true, false) => {
            let at = tr.at.with_timezone(&tz).format("%H:%M%:z");
            format!(
                "on {date} {times} does not exist in {tz} (clocks jump from {from_hm} to \
                 {to_hm}); it fires once at {at} instead"
            )
        }
        (true, true) => format!(
            "on {date} clocks in {tz} jump from {from_hm} to {to_hm}: the fires at {times} \
             do not happen {real}"
        ),
        (false, false) => {
            let at = tz
                .from_local_datetime(&first)
                .earliest()?
                .format("%H:%M%:z");
            format!(
                "on {date} {times} happens twice in {tz} (clocks go back from {from_hm} to \
                 {to_hm}); it fires once, at the first occurrence ({at})"
            )
        }
        (false, true) => format!(
            "on {date} clocks in {tz} go back from {from_hm} to {to_hm}: {times} happens \
             twice and it fires both times {real}"
        ),
    })
}

/// Matching wall times in `[start, end)`, at most a day's worth.
fn walls_in(c: &CronSchedule, start: NaiveDateTime, end: NaiveDateTime) -> Vec<NaiveDateTime> {
    let mut out = Vec::new();
    let mut w = c.next_wall(start, true);
    while let Some(cur) = w.filter(|w| *w < end && out.len() < 1440) {
        out.push(cur);
        w = c.next_wall(cur, false);
    }
    out
}

fn list_times(hits: &[NaiveDateTime]) -> String {
    let shown: Vec<String> = hits
        .iter()
        .take(3)
        .map(|w| w.format("%H:%M").to_string())
        .collect();
    if hits.len() > 3 {
        format!("{} and {} more", shown.join(", "), hits.len() - 3)
    } else {
        join_and(&shown)
    }
}
