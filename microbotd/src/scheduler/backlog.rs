//! A template that fell behind its schedule. A chat takes one message a
//! second, so a template firing that often that owes several slots to one
//! chat (after an outage, a FLOOD_WAIT, a slow database) would send them in
//! order and trail by the backlog forever. When several rows of one
//! template and chat are due at once and the oldest is older than
//! `scheduler.misfire_grace`, the backlog follows the template's misfire
//! policy instead: under `skip` and `once` the newest due row is sent and
//! the older ones are recorded `missed`; under `all` every one is sent.
//! A backlog within the grace is sent in full (nothing is dropped for a
//! short wait).

use std::collections::HashMap;

use super::queue::Queued;

/// At most this many due rows are looked at per turn: the check stays
/// cheap when an account's backlog is huge (the rest are looked at later).
const SCAN: usize = 2000;

/// Due rows (oldest first) that a newer due row of the same template and
/// chat supersedes, in groups whose oldest slot is before `now - grace`:
/// `(row id, template id, slot)`. Policies are not applied here.
pub fn superseded<'a>(
    due: impl Iterator<Item = &'a Queued>,
    now_ms: i64,
    grace_ms: i64,
) -> Vec<(i64, i64, i64)> {
    let cutoff = now_ms.saturating_sub(grace_ms);
    let mut groups: HashMap<(i64, i64), Vec<&Queued>> = HashMap::new();
    for q in due.take(SCAN) {
        groups
            .entry((q.template_id, q.target.target_id))
            .or_default()
            .push(q);
    }
    let mut out = Vec::new();
    for rows in groups.values_mut() {
        rows.sort_by_key(|q| (q.slot, q.id));
        if rows.len() < 2 || rows[0].slot >= cutoff {
            continue;
        }
        out.extend(
            rows[..rows.len() - 1]
                .iter()
                .map(|q| (q.id, q.template_id, q.slot)),
        );
    }
    out.sort_by_key(|(id, _, slot)| (*slot, *id));
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::dispatch::TargetInfo;

    fn row(id: i64, template_id: i64, target_id: i64, slot: i64) -> Queued {
        Queued {
            id,
            template_id,
            slot,
            random_id: id,
            attempts: 0,
            not_before: None,
            text: Some(Arc::from("hi")),
            parse_mode: crate::telegram::ParseMode::Plain,
            attachments: Arc::from([]),
            target: Arc::new(TargetInfo {
                target_id,
                spec: format!("@chat{target_id}"),
                peer_id: None,
                peer_kind: None,
                access_hash: None,
                title: None,
                slowmode_until: None,
            }),
            seen: 0,
            options: Default::default(),
            tz: chrono_tz::UTC,
        }
    }

    #[test]
    fn only_the_older_rows_of_a_backlog_past_the_grace_are_superseded() {
        let now = 100_000;
        let rows = [
            // Template 1, chat 10: 20 s behind; the newest (slot 100 s) stays.
            row(1, 1, 10, 80_000),
            row(2, 1, 10, 90_000),
            row(3, 1, 10, 100_000),
            // Template 1, chat 11: one row, however late: nothing newer.
            row(4, 1, 11, 10_000),
            // Template 2, chat 10: two rows, the oldest within the grace.
            row(5, 2, 10, 96_000),
            row(6, 2, 10, 99_000),
        ];
        assert_eq!(
            superseded(rows.iter(), now, 5_000),
            [(1, 1, 80_000), (2, 1, 90_000)]
        );
        assert!(superseded(rows.iter(), now, 60_000).is_empty());
    }
}
