//! Cron schedules: croner finds wall-clock matches, this file maps them to
//! real instants with microbot's DST rule (docs/DESIGN.md, delivery point 4).
//!
//! croner is run on `NaiveDateTime`, i.e. on the wall clock with no zone at
//! all, so it never sees a gap or an overlap. Turning a wall time into an
//! instant is done here, in one place, because croner's own zone handling
//! only treats single-value minute+hour patterns as "fixed time": for
//! `*/20 2 * * *` it skips the spring-forward day entirely and fires twice on
//! the fall-back day, and it uses an OR of the day fields even when one of
//! them starts with `*` (Vixie/cronie use AND then).

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use std::sync::Arc;

use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use super::error::{CronField, ScheduleError};
use super::field::{Field, expand_macro, parse_field};

/// Bounds the candidate loops. Each skipped candidate is a match inside one
/// DST overlap or gap (at most one per minute of a ≤ 24 h shift), so a
/// correct run never comes close; the bound only guards against bugs.
const MAX_CANDIDATES: usize = 10_000;

/// croner gives up at year 5000; stopping earlier keeps chrono's local-time
/// arithmetic far from its own limits.
const LAST_YEAR: i32 = 4000;

/// A parsed, validated 5-field cron expression evaluated in a time zone.
///
/// The parsed expression sits behind an `Arc`: a croner `Cron` carries
/// about 5 KB of heap (its year bitmap spans 1-5000), so templates sharing
/// an expression should share one (see [`super::CronCache`]), and cloning
/// is cheap.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    pub(super) core: Arc<CronCore>,
    tz: Tz,
}

/// The zone-independent part of a cron schedule.
#[derive(Debug)]
pub(super) struct CronCore {
    expr: String,
    cron: Cron,
    /// Hour field selects all 24 hours: fires follow real time (cronie),
    /// otherwise each matching wall time fires exactly once.
    real_time: bool,
    never: bool,
    pub(super) fields: [Field; 5],
    pub(super) texts: [String; 5],
}

impl CronCore {
    pub(super) fn parse(expr: &str) -> Result<Self, ScheduleError> {
        let trimmed = expr.trim();
        if trimmed.is_empty() {
            return Err(ScheduleError::EmptyCron);
        }
        let body = if trimmed.starts_with('@') {
            expand_macro(trimmed)?
        } else {
            trimmed
        };
        let parts: Vec<&str> = body.split_whitespace().collect();
        if parts.len() != 5 {
            let hint = match parts.len() {
                6 | 7 => ": seconds and years are not supported",
                _ => "",
            };
            return Err(ScheduleError::FieldCount {
                got: parts.len(),
                hint,
            });
        }
        let mut fields = Vec::with_capacity(5);
        for (field, text) in CronField::ALL.into_iter().zip(&parts) {
            fields.push(parse_field(field, text)?);
        }
        let fields: [Field; 5] = fields.try_into().expect("exactly five fields");
        let numeric = fields
            .iter()
            .map(|f| f.normalized.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        // crontab(5): the day fields are ORed only when both are restricted,
        // and "restricted" means "does not start with *". croner ORs unless a
        // field is exactly "*", so `*/2` needs its AND mode switched on.
        let and_mode = fields[2].star || fields[4].star;
        let build = |year: Year, seconds: Seconds, text: &str| {
            CronParser::builder()
                .seconds(seconds)
                .year(year)
                .dom_and_dow(and_mode)
                .build()
                .parse(text)
                .map_err(|e| {
                    tracing::debug!(expr, croner = %e, "croner refused a checked expression");
                    ScheduleError::Croner {
                        expr: expr.to_owned(),
                        reason: e.to_string(),
                    }
                })
        };
        let cron = build(Year::Disallowed, Seconds::Disallowed, &numeric)?;
        // Day matching depends only on the year's type (leap, weekday of
        // 1 January) and 2001-2028 contains all 14 types, so a pattern with
        // no fire there has none ever. Bounding the year makes croner give
        // up in microseconds instead of walking to year 5000.
        let probe = build(
            Year::Required,
            Seconds::Required,
            &format!("0 {numeric} 2001-2028"),
        )?;
        let start = NaiveDate::from_ymd_opt(2001, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid date");
        let never = probe.find_next_occurrence(&start, true).is_err();
        Ok(CronCore {
            expr: trimmed.to_owned(),
            cron,
            real_time: fields[1].count() == 24,
            never,
            texts: std::array::from_fn(|i| parts[i].to_owned()),
            fields,
        })
    }
}

impl CronSchedule {
    pub(super) fn parse(expr: &str, tz: Tz) -> Result<Self, ScheduleError> {
        Ok(Self::with_core(Arc::new(CronCore::parse(expr)?), tz))
    }

    pub(super) fn with_core(core: Arc<CronCore>, tz: Tz) -> Self {
        CronSchedule { core, tz }
    }

    /// The expression as given (trimmed).
    pub fn expr(&self) -> &str {
        &self.core.expr
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// True when no calendar date ever matches (e.g. `0 0 30 2 *`).
    pub fn never_fires(&self) -> bool {
        self.core.never
    }

    /// True when the hour field selects every hour, so fires follow real
    /// time through DST changes instead of the once-per-wall-time rule.
    pub fn follows_real_time(&self) -> bool {
        self.core.real_time
    }

    /// Fires per hour in an hour that fires at all: the densest rate.
    pub(super) fn fires_per_hour(&self) -> u32 {
        self.core.fields[0].count()
    }

    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.core.never || t.year() >= LAST_YEAR {
            return None;
        }
        let floor = Utc.with_ymd_and_hms(2, 1, 1, 0, 0, 0).single()?;
        let t = t.max(floor);
        if self.core.real_time {
            self.next_real_time(t)
        } else {
            self.next_wall_once(t)
        }
    }

    pub(super) fn next_wall(&self, after: NaiveDateTime, inclusive: bool) -> Option<NaiveDateTime> {
        let w = self
            .core
            .cron
            .find_next_occurrence(&after, inclusive)
            .ok()?;
        (w.year() < LAST_YEAR).then_some(w)
    }

    /// Each matching wall time fires once, at the earliest instant whose
    /// wall clock has reached it: the first occurrence of an ambiguous time,
    /// the end of the gap for a skipped one. That mapping is monotonic in
    /// the wall time, so the first candidate past `t` is the answer.
    fn next_wall_once(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut w = self.next_wall(local(self.tz, t), false)?;
        for _ in 0..MAX_CANDIDATES {
            let x = match self.tz.from_local_datetime(&w) {
                LocalResult::Single(x) => x.with_timezone(&Utc),
                LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
                LocalResult::None => gap_end(self.tz, w)?.1,
            };
            // Candidates at or before `t` are first passes of an overlap we
            // are already in the second pass of, or a gap already fired.
            if x > t {
                return Some(x);
            }
            w = self.next_wall(w, false)?;
        }
        None
    }

    /// Every real instant whose wall clock matches fires: nonexistent
    /// minutes are skipped and a repeated hour fires twice.
    fn next_real_time(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let l = local(self.tz, t);
        let mut best = None;
        // In the first pass of an overlap the repeated wall times at or
        // before `l` come round again after `t`; walking forward from `l`
        // alone would miss them.
        if let LocalResult::Ambiguous(first, second) = self.tz.from_local_datetime(&l)
            && first.with_timezone(&Utc) == t
        {
            let span = second.signed_duration_since(first);
            let mut w = self.next_wall(l.checked_sub_signed(span)?, true);
            for _ in 0..MAX_CANDIDATES {
                let Some(cur) = w.filter(|w| *w <= l) else {
                    break;
                };
                if let LocalResult::Ambiguous(_, later) = self.tz.from_local_datetime(&cur) {
                    let later = later.with_timezone(&Utc);
                    if later > t {
                        best = Some(later);
                        break;
                    }
                }
                w = self.next_wall(cur, false);
            }
        }
        let mut w = self.next_wall(l, false);
        for _ in 0..MAX_CANDIDATES {
            let cur = w?;
            let found = match self.tz.from_local_datetime(&cur) {
                LocalResult::Single(x) => Some(x.with_timezone(&Utc)).filter(|x| *x > t),
                LocalResult::Ambiguous(a, b) => [a, b]
                    .into_iter()
                    .map(|x| x.with_timezone(&Utc))
                    .find(|x| *x > t),
                LocalResult::None => {
                    // Jump over the whole gap rather than minute by minute.
                    w = self.next_wall(gap_end(self.tz, cur)?.0, true);
                    continue;
                }
            };
            if let Some(x) = found {
                return Some(best.map_or(x, |b: DateTime<Utc>| b.min(x)));
            }
            w = self.next_wall(cur, false);
        }
        best
    }
}

/// The wall clock of `t` in `tz`.
pub(super) fn local(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    tz.from_utc_datetime(&t.naive_utc()).naive_local()
}

fn exists(tz: Tz, w: NaiveDateTime) -> bool {
    !matches!(tz.from_local_datetime(&w), LocalResult::None)
}

/// For a wall time inside a DST gap: the first wall time after the gap and
/// the instant it denotes (the transition itself). Gaps up to 3 days are
/// found, which covers Pacific/Apia's skipped day in 2011.
pub(super) fn gap_end(tz: Tz, w: NaiveDateTime) -> Option<(NaiveDateTime, DateTime<Utc>)> {
    let minute = TimeDelta::minutes(1);
    let mut lo = w;
    let mut hi = None;
    for _ in 0..3 * 24 * 60 {
        let next = lo.checked_add_signed(minute)?;
        if exists(tz, next) {
            hi = Some(next);
            break;
        }
        lo = next;
    }
    let hi = hi?;
    // Transitions fall on whole seconds; refine within the last minute in
    // case one is not on a whole minute counted from `w`.
    let (mut bad, mut good) = (0i64, 60i64);
    while good - bad > 1 {
        let mid = (bad + good) / 2;
        if exists(tz, lo + TimeDelta::seconds(mid)) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    let hi = if good < 60 {
        lo + TimeDelta::seconds(good)
    } else {
        hi
    };
    let at = tz.from_local_datetime(&hi).earliest()?.with_timezone(&Utc);
    Some((hi, at))
}
