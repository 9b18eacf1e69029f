//! The `Schedules` service: `microbotctl cron validate`. It runs in the
//! daemon so the answer uses the daemon's default zone and its
//! `telegram.rate_limit_per_minute` for the rate warning.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use microbot_proto::convert::from_timestamp;
use microbot_proto::v1::{self, schedules_server::Schedules};
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::schedule::{RateContext, Schedule, parse_tz, validate};

use super::templates::rfc3339_in;

/// Fires listed when the request asks for none.
const DEFAULT_COUNT: usize = 5;
/// Most fires one call lists.
const MAX_COUNT: usize = 1000;

pub struct SchedulesService {
    ctx: Context,
}

impl SchedulesService {
    pub fn new(ctx: Context) -> Self {
        SchedulesService { ctx }
    }
}

/// Explains `expr` (cron or `every <duration>`) in `tz` from `from`.
/// A schedule that never fires is reported invalid: templates refuse it.
pub fn explain(
    expr: &str,
    tz: Tz,
    from: DateTime<Utc>,
    count: usize,
    rate: u32,
) -> v1::ValidateCronResponse {
    let limits = RateContext {
        rate_limit_per_minute: rate,
        targets: 1,
    };
    let invalid = |error: String, warnings: Vec<String>| v1::ValidateCronResponse {
        valid: false,
        next: Vec::new(),
        warnings,
        error,
    };
    match validate(expr, tz, from, count, limits) {
        Err(e) => invalid(e.to_string(), Vec::new()),
        Ok(v) => {
            let parsed = Schedule::parse(expr, tz, from);
            if parsed.as_ref().is_ok_and(|s| s.never_fires()) {
                return invalid(format!("\"{}\" never fires", expr.trim()), v.warnings);
            }
            if let Ok(Schedule::Once(o)) = &parsed
                && v.next.is_empty()
            {
                return invalid(past_at(o, tz, from), v.warnings);
            }
            v1::ValidateCronResponse {
                valid: true,
                next: v
                    .next
                    .iter()
                    .map(|t| rfc3339_in(t.with_timezone(&Utc), tz))
                    .collect(),
                warnings: v.warnings,
                error: String::new(),
            }
        }
    }
}

/// Why a one-shot time is refused: it is not after `from` (now).
pub fn past_at(o: &crate::schedule::OnceSchedule, tz: Tz, from: DateTime<Utc>) -> String {
    format!(
        "{} in {tz} is {}, which is already past (now {}): a one-shot schedule fires once, at a \
         future time",
        o.expr(),
        rfc3339_in(o.instant(), tz),
        rfc3339_in(from, tz)
    )
}

#[tonic::async_trait]
impl Schedules for SchedulesService {
    async fn validate_cron(
        &self,
        req: Request<v1::ValidateCronRequest>,
    ) -> Result<Response<v1::ValidateCronResponse>, Status> {
        let r = req.into_inner();
        let tz = if r.timezone.trim().is_empty() {
            self.ctx.config.scheduler.default_timezone
        } else {
            match parse_tz(&r.timezone) {
                Ok(tz) => tz,
                Err(e) => {
                    return Ok(Response::new(v1::ValidateCronResponse {
                        valid: false,
                        next: Vec::new(),
                        warnings: Vec::new(),
                        error: format!("tz: {e}"),
                    }));
                }
            }
        };
        let from = match r.from.as_ref() {
            None => self.ctx.now(),
            Some(ts) => {
                from_timestamp(ts).ok_or_else(|| Status::invalid_argument("from: out of range"))?
            }
        };
        let count = match r.count as usize {
            0 => DEFAULT_COUNT,
            n => n.min(MAX_COUNT),
        };
        Ok(Response::new(explain(
            &r.expr,
            tz,
            from,
            count,
            self.ctx.rate_limit_per_minute(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_one_shot_lists_its_instant_or_explains_a_past_time() {
        let from = at("2027-03-27T12:00:00Z");
        let r = explain("at 2027-03-28T02:30", Tz::Europe__Berlin, from, 5, 20);
        assert!(r.valid, "{r:?}");
        assert_eq!(r.next, ["2027-03-28T03:00:00+02:00"]);
        assert!(r.warnings[0].contains("does not exist"), "{r:?}");
        let r = explain("at 2027-03-27T10:00", Tz::Europe__Berlin, from, 5, 20);
        assert!(!r.valid);
        assert_eq!(
            r.error,
            "2027-03-27T10:00 in Europe/Berlin is 2027-03-27T10:00:00+01:00, which is already \
             past (now 2027-03-27T13:00:00+01:00): a one-shot schedule fires once, at a future time"
        );
    }

    #[test]
    fn dst_gap_fires_after_the_gap_with_the_offset() {
        let r = explain(
            "30 2 * * *",
            Tz::Europe__Berlin,
            at("2027-03-27T12:00:00Z"),
            2,
            20,
        );
        assert!(r.valid, "{r:?}");
        assert_eq!(
            r.next,
            ["2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00"]
        );
    }

    #[test]
    fn invalid_and_never_firing_expressions_are_not_valid() {
        let from = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let r = explain("61 * * * *", Tz::UTC, from, 5, 20);
        assert!(!r.valid && r.error.starts_with("minute field"), "{r:?}");
        let r = explain("0 0 30 2 *", Tz::UTC, from, 5, 20);
        assert!(
            !r.valid && r.error.contains("never fires") && r.next.is_empty(),
            "{r:?}"
        );
    }

    #[test]
    fn every_and_the_rate_limit_warning() {
        let from = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let r = explain("every 90m", Tz::UTC, from, 2, 20);
        assert_eq!(
            r.next,
            ["2027-01-01T01:30:00+00:00", "2027-01-01T03:00:00+00:00"]
        );
        let r = explain("every 2s", Tz::UTC, from, 1, 20);
        assert!(
            r.valid && r.warnings.iter().any(|w| w.contains("rate limit of 20")),
            "{r:?}"
        );
        let r = explain("every 2s", Tz::UTC, from, 1, 40);
        assert!(r.warnings.is_empty(), "{r:?}");
    }
}
