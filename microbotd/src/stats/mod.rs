//! `microbotctl stats`: the delivery log summed per UTC day, account or
//! template over a window of slots ([`summarize`]), and the flood-wait log
//! that feeds its `flood_waits` column ([`flood_log`]).
//!
//! What each number counts: deliveries whose *slot* is in the window, by
//! their state now (`sent`, `failed`, `missed`, `cancelled`; `open` is
//! `pending` + `sending`); `flood_waits` the FLOOD_WAIT answers those
//! deliveries' send calls got; lateness `sent_at - slot` of sent ones,
//! p50 and p95 by nearest rank.

pub mod flood_log;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::store::states::DeliveryState;
use crate::store::stats::{Lateness, StateCount};

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Day,
    Account,
    Template,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        match s {
            "" | "day" => Some(By::Day),
            "account" => Some(By::Account),
            "template" => Some(By::Template),
            _ => None,
        }
    }
}

/// One row of the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// `YYYY-MM-DD` (UTC) when grouped by day.
    pub day: Option<NaiveDate>,
    /// When grouped by account or template.
    pub account: Option<String>,
    /// When grouped by template (the name is empty once it is deleted).
    pub template: Option<(i64, String)>,
    /// When grouped by template: what it sends (text | photo | video |
    /// document | album).
    pub kind: Option<String>,
    pub sent: i64,
    pub failed: i64,
    pub missed: i64,
    pub cancelled: i64,
    /// `pending` + `sending`.
    pub open: i64,
    pub flood_waits: i64,
    pub flood_wait_seconds: i64,
    pub lateness_p50_ms: Option<i64>,
    pub lateness_p95_ms: Option<i64>,
}

/// Group key: day number, account id, or (account id, template id).
type Key = (i64, i64);

fn key_of(by: By, account_id: i64, template_id: i64, day: i64) -> Key {
    match by {
        By::Day => (day, 0),
        By::Account => (account_id, 0),
        By::Template => (account_id, template_id),
    }
}

fn date_of(day: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp(day.saturating_mul(86_400), 0).map(|t| t.date_naive())
}

/// Sums `counts` and `lateness` into rows. By day, every day from `since`
/// to `now` has a row (zeros included), oldest first; otherwise rows are
/// ordered by account and template.
pub fn summarize(
    by: By,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    counts: &[StateCount],
    lateness: &[Lateness],
) -> Vec<Row> {
    let mut rows: BTreeMap<Key, Row> = BTreeMap::new();
    if by == By::Day {
        let first = since.timestamp().div_euclid(86_400);
        let last = now.timestamp().div_euclid(86_400);
        for day in first..=last {
            rows.insert(
                (day, 0),
                Row {
                    day: date_of(day),
                    ..Row::default()
                },
            );
        }
    }
    for c in counts {
        let row = rows
            .entry(key_of(by, c.account_id, c.template_id, c.day))
            .or_default();
        match by {
            By::Day => row.day = date_of(c.day),
            By::Account => row.account = Some(c.account.clone()),
            By::Template => {
                row.account = Some(c.account.clone());
                row.template = Some((c.template_id, c.template.clone()));
                row.kind = Some(c.kind.clone());
            }
        }
        match c.state {
            DeliveryState::Sent => row.sent += c.deliveries,
            DeliveryState::Failed => row.failed += c.deliveries,
            DeliveryState::Missed => row.missed += c.deliveries,
            DeliveryState::Cancelled => row.cancelled += c.deliveries,
            DeliveryState::Pending | DeliveryState::Sending => row.open += c.deliveries,
        }
        row.flood_waits += c.flood_waits;
        row.flood_wait_seconds += c.flood_wait_seconds;
    }
    let mut late: BTreeMap<Key, Vec<i64>> = BTreeMap::new();
    for l in lateness {
        late.entry(key_of(by, l.account_id, l.template_id, l.day))
            .or_default()
            .push(l.late_ms.max(0));
    }
    for (key, mut values) in late {
        values.sort_unstable();
        if let Some(row) = rows.get_mut(&key) {
            row.lateness_p50_ms = nearest_rank(&values, 50);
            row.lateness_p95_ms = nearest_rank(&values, 95);
        }
    }
    let mut out: Vec<Row> = rows.into_values().collect();
    if by != By::Day {
        out.sort_by(|a, b| (&a.account, &a.template).cmp(&(&b.account, &b.template)));
    }
    out
}

/// The `p`th percentile of sorted `values` by nearest rank: the smallest
/// value with at least p % of the values at or below it.
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len() as u64;
    let rank = (u64::from(p) * n).div_ceil(100).max(1);
    sorted.get(rank as usize - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(
        account_id: i64,
        template_id: i64,
        day: i64,
        state: DeliveryState,
        n: i64,
    ) -> StateCount {
        StateCount {
            account_id,
            account: format!("acc{account_id}"),
            template_id,
            template: format!("t{template_id}"),
            kind: "text".into(),
            day,
            state,
            deliveries: n,
            flood_waits: if state == DeliveryState::Sent { 1 } else { 0 },
            flood_wait_seconds: if state == DeliveryState::Sent { 30 } else { 0 },
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=20).collect();
        assert_eq!(nearest_rank(&v, 50), Some(10));
        assert_eq!(nearest_rank(&v, 95), Some(19));
        assert_eq!(nearest_rank(&[7], 95), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
    }

    #[test]
    fn days_are_filled_and_states_summed() {
        let since = DateTime::from_timestamp(2 * 86_400 + 5, 0).unwrap();
        let now = DateTime::from_timestamp(5 * 86_400 + 5, 0).unwrap();
        let counts = [
            count(1, 10, 2, DeliveryState::Sent, 3),
            count(2, 20, 2, DeliveryState::Sent, 1),
            count(1, 10, 4, DeliveryState::Missed, 2),
            count(1, 11, 4, DeliveryState::Pending, 1),
        ];
        let late = [
            Lateness {
                account_id: 1,
                template_id: 10,
                day: 2,
                late_ms: 100,
            },
            Lateness {
                account_id: 2,
                template_id: 20,
                day: 2,
                late_ms: 900,
            },
        ];
        let rows = summarize(By::Day, since, now, &counts, &late);
        assert_eq!(rows.len(), 4, "{rows:?}");
        assert_eq!(rows[0].day.unwrap().to_string(), "1970-01-03");
        assert_eq!((rows[0].sent, rows[0].flood_waits), (4, 2));
        assert_eq!(rows[0].lateness_p50_ms, Some(100));
        assert_eq!(rows[0].lateness_p95_ms, Some(900));
        assert_eq!(
            rows[1],
            Row {
                day: date_of(3),
                ..Row::default()
            }
        );
        assert_eq!((rows[2].missed, rows[2].open), (2, 1));
        let by_template = summarize(By::Template, since, now, &counts, &late);
        assert_eq!(by_template.len(), 3);
        assert_eq!(by_template[0].template, Some((10, "t10".into())));
        assert_eq!((by_template[0].sent, by_template[0].missed), (3, 2));
        let by_account = summarize(By::Account, since, now, &counts, &late);
        assert_eq!(by_account.len(), 2);
        assert_eq!(by_account[0].open, 1);
        assert_eq!(by_account[1].lateness_p50_ms, Some(900));
    }
}
