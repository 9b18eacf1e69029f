//! [`Queue`]: one account's claimed deliveries held in memory, ordered by
//! the instant each may go (its slot, or later after a retry). Rows enter
//! from the dispatcher right after their claim committed, or from the
//! database when a worker starts or refreshes; at the instant the worker
//! takes them from here — no database read stands between the timer and
//! the send call.
//!
//! Each row remembers `seen`: the [`crate::events::Revisions`] counter
//! read *before* the row's template was read from the database. A template
//! whose revision is newer than that has changed since; the row is not
//! sent but re-read.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::store::deliveries::OutboxRow;
use crate::store::dispatch::TargetInfo;
use crate::store::media::parse_attachments;
use crate::telegram::{Attachment, ParseMode};
use crate::templates::SendOptions;
use chrono_tz::Tz;

/// A stored zone; one that does not parse (only a hand-edited database
/// holds one) fills placeholders in UTC rather than not sending.
pub fn zone_or_utc(name: Option<&str>) -> Tz {
    name.and_then(|n| crate::schedule::parse_tz(n).ok())
        .unwrap_or(Tz::UTC)
}

/// A delivery waiting in memory for its instant.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: i64,
    pub template_id: i64,
    pub slot: i64,
    pub random_id: i64,
    pub attempts: i64,
    /// Not before this instant (a retry's backoff, slow mode); else `slot`.
    pub not_before: Option<i64>,
    /// `None` when the template was deleted after the claim.
    pub text: Option<Arc<str>>,
    pub parse_mode: ParseMode,
    pub options: SendOptions,
    /// Files sent with the text (empty: a text message).
    pub attachments: Arc<[Attachment]>,
    /// The template's zone: placeholders are filled in with the slot's
    /// local date and time.
    pub tz: Tz,
    pub target: Arc<TargetInfo>,
    /// The revision counter read before the template was read.
    pub seen: u64,
}

impl Queued {
    /// When the row may be sent (never before its slot).
    pub fn ready_at(&self) -> i64 {
        self.not_before.map_or(self.slot, |n| n.max(self.slot))
    }

    /// A row read back from the outbox table.
    pub fn from_row(r: OutboxRow, seen: u64) -> Queued {
        Queued {
            id: r.id,
            template_id: r.template_id,
            slot: r.slot,
            random_id: r.random_id,
            attempts: r.attempts,
            not_before: r.not_before,
            text: r.text.map(Arc::from),
            parse_mode: r
                .parse_mode
                .as_deref()
                .and_then(ParseMode::parse)
                .unwrap_or_default(),
            options: SendOptions::stored_or_none(r.send_options.as_deref()),
            attachments: parse_attachments(r.attachments.as_deref()),
            tz: zone_or_utc(r.timezone.as_deref()),
            target: Arc::new(r.target),
            seen,
        }
    }
}

/// The rows of one account by `(ready_at, id)`, with an index by id so a
/// row handed over twice (claimed, then read back on a refresh) is held once.
#[derive(Debug, Default)]
pub struct Queue {
    by_time: BTreeMap<(i64, i64), Queued>,
    by_id: super::IdMap<i64, i64>,
}

impl Queue {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Adds or replaces (by id) a row.
    pub fn put(&mut self, q: Queued) {
        self.remove(q.id);
        let at = q.ready_at();
        self.by_id.insert(q.id, at);
        self.by_time.insert((at, q.id), q);
    }

    pub fn contains(&self, id: i64) -> bool {
        self.by_id.contains_key(&id)
    }

    pub fn remove(&mut self, id: i64) -> Option<Queued> {
        let at = self.by_id.remove(&id)?;
        self.by_time.remove(&(at, id))
    }

    /// Drops every row of the template.
    pub fn remove_template(&mut self, template_id: i64) {
        let ids: Vec<i64> = self
            .by_time
            .values()
            .filter(|q| q.template_id == template_id)
            .map(|q| q.id)
            .collect();
        for id in ids {
            self.remove(id);
        }
    }

    pub fn clear(&mut self) {
        self.by_time.clear();
        self.by_id.clear();
    }

    /// The earliest instant a row may go.
    pub fn next_ready(&self) -> Option<i64> {
        self.by_time.keys().next().map(|(at, _)| *at)
    }

    /// Rows ready at `now_ms`, earliest first.
    pub fn ready(&self, now_ms: i64) -> impl Iterator<Item = &Queued> {
        self.by_time.range(..=(now_ms, i64::MAX)).map(|(_, q)| q)
    }

    /// Every row (for resolving targets ahead of the instant).
    pub fn iter(&self) -> impl Iterator<Item = &Queued> {
        self.by_time.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, template_id: i64, slot: i64, not_before: Option<i64>) -> Queued {
        Queued {
            id,
            template_id,
            slot,
            random_id: id * 10,
            attempts: 0,
            not_before,
            text: Some(Arc::from("t")),
            parse_mode: ParseMode::Plain,
            options: SendOptions::default(),
            attachments: Arc::from([]),
            tz: Tz::UTC,
            target: Arc::new(TargetInfo {
                target_id: 1,
                spec: "@c".into(),
                peer_id: None,
                peer_kind: None,
                access_hash: None,
                title: None,
                slowmode_until: None,
            }),
            seen: 0,
        }
    }

    #[test]
    fn rows_go_by_ready_time_never_before_their_slot() {
        let mut q = Queue::default();
        q.put(row(1, 7, 300, None));
        q.put(row(2, 7, 100, None));
        q.put(row(3, 8, 100, Some(50))); // a not_before before the slot: slot wins
        q.put(row(4, 8, 50, Some(400)));
        assert_eq!(q.next_ready(), Some(100));
        let ids: Vec<i64> = q.ready(300).map(|r| r.id).collect();
        assert_eq!(ids, [2, 3, 1]);
        assert_eq!(q.ready(99).count(), 0);
        // Put again by id replaces; removing a template drops its rows.
        q.put(row(1, 7, 10, None));
        assert_eq!(q.len(), 4);
        assert_eq!(q.next_ready(), Some(10));
        q.remove_template(7);
        assert_eq!(q.iter().map(|r| r.id).collect::<Vec<_>>(), [3, 4]);
    }
}
