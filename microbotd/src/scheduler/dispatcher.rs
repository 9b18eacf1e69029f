//! [`Dispatcher`]: the one timer loop. A min-heap of `(next_slot ms,
//! template id)` — 16 bytes a template — loaded in one query at start; the
//! loop sleeps until the earliest entry comes within `scheduler.lookahead`,
//! a change notification, or at most [`BEAT`] (to prove it turns), and
//! claims what is due by then: the burst's rows (with their `random_id`)
//! and new `next_slot`s are committed in one transaction BEFORE the slots,
//! then handed to the account workers, which only send at the instant.
//!
//! Heap entries are never updated in place: a change pushes a fresh entry
//! and a stale one is recognised when it comes due, because the template's
//! durable `next_slot` no longer equals it (the claim is a compare-and-swap
//! on `next_slot`). Schedules are parsed lazily, through one [`CronCache`],
//! the first time a template fires.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::events::Change;
use crate::schedule::{CronCache, Schedule, parse_tz};
use crate::store::dispatch::{
    Claim, Claimed, FireTemplate, NewDelivery, TargetInfo, fresh_random_id,
};
use crate::store::media::parse_attachments;
use crate::store::states::DeliveryState;
use crate::store::{StoreError, from_ms, to_ms};
use crate::telegram::{Attachment, ParseMode};
use crate::templates::SendOptions;
use chrono_tz::Tz;

use super::misfire::{Plan, Policy, plan_ahead};
use super::queue::{Queued, zone_or_utc};
use super::worker::{Worker, WorkerExit, WorkerMsg};
use super::writer::{self, Outcomes};
use crate::store::states::ScheduleKind;

/// What a template's rows send: text, parse mode, options, attachments,
/// and the zone placeholders are filled in.
type Content = (Arc<str>, ParseMode, SendOptions, Arc<[Attachment]>, Tz);

/// The loop turns (and beats the heartbeat) at least this often.
pub const BEAT: Duration = Duration::from_secs(5);
/// Due templates claimed per transaction: PostgreSQL takes a large burst
/// in one statement per kind at little cost per row; on SQLite each commit
/// is an fsync of the WAL and the temporary relation is filled in chunks,
/// so a middling batch keeps both the commits few and the first rows
/// reaching the workers soon.
fn fire_batch_size(backend: crate::store::Backend) -> usize {
    match backend {
        crate::store::Backend::Sqlite => 2000,
        crate::store::Backend::Postgres => 5000,
    }
}

/// Why the dispatcher stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("dispatcher: {0}")]
    Store(#[from] StoreError),
    #[error("a send worker died: {0}")]
    Worker(String),
}

/// A template being claimed, with its targets by id.
type Fired = (FireTemplate, HashMap<i64, Arc<TargetInfo>>);

/// The timer loop's state.
pub struct Dispatcher {
    ctx: Context,
    heap: BinaryHeap<Reverse<(i64, i64)>>,
    /// Parsed schedules of templates that have fired (dropped on change).
    schedules: HashMap<i64, Schedule>,
    crons: CronCache,
    /// Each account's worker, by account id.
    workers_tx: HashMap<i64, mpsc::UnboundedSender<WorkerMsg>>,
    workers: JoinSet<WorkerExit>,
    outcomes: Outcomes,
    writer: Option<JoinHandle<()>>,
    /// How far ahead of a slot its rows are claimed.
    lookahead_ms: i64,
    cancel: CancellationToken,
}

impl Dispatcher {
    /// Loads the heap and starts one send worker per account.
    pub async fn start(ctx: Context, cancel: CancellationToken) -> Result<Self, DispatchError> {
        let entries = ctx.store.dispatch_heap_load().await?;
        let heap = BinaryHeap::from(entries.into_iter().map(Reverse).collect::<Vec<_>>());
        tracing::info!(templates = heap.len(), "dispatcher loaded its schedule");
        let (outcomes, rx) = Outcomes::channel();
        // The writer outlives the workers: it stops once they (and this
        // dispatcher) dropped their `Outcomes`, after writing what is left.
        let writer = tokio::spawn(writer::run(
            ctx.store.clone(),
            ctx.clock.clone(),
            ctx.leases.fence_node().map(str::to_owned),
            rx,
            cancel.clone(),
        ));
        let lookahead_ms = ctx.config.scheduler.lookahead.as_millis() as i64;
        let mut d = Dispatcher {
            ctx,
            heap,
            schedules: HashMap::new(),
            crons: CronCache::new(),
            workers_tx: HashMap::new(),
            workers: JoinSet::new(),
            outcomes,
            writer: Some(writer),
            lookahead_ms,
            cancel,
        };
        for id in d.ctx.store.dispatch_account_ids().await? {
            d.worker_for(id, None);
        }
        Ok(d)
    }

    /// Runs until cancelled; then stops the workers and waits for them.
    pub async fn run(
        mut self,
        mut changes: mpsc::UnboundedReceiver<Change>,
    ) -> Result<(), DispatchError> {
        let mut changes_open = true;
        let result = loop {
            let now_ms = to_ms(self.ctx.now());
            self.ctx.heartbeat.beat(now_ms);
            if let Err(e) = self.fire_due(now_ms).await {
                // A database blip: keep turning; the due entries were put back.
                tracing::error!(error = %e, "dispatcher could not fire due templates; retrying");
            }
            // `due` is on the context's clock (which a benchmark may run
            // faster than real time); BEAT is real time.
            let sleep = match self.heap.peek() {
                Some(Reverse((due, _))) => self
                    .ctx
                    .clock
                    .real_duration(Duration::from_millis(
                        u64::try_from(due - self.lookahead_ms - to_ms(self.ctx.now())).unwrap_or(0),
                    ))
                    .min(BEAT),
                None => BEAT,
            };
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => break Ok(()),
                Some(joined) = self.workers.join_next(), if !self.workers.is_empty() => {
                    match joined {
                        Ok(WorkerExit::Gone(account)) => {
                            tracing::info!(account_id = account, "account removed; its send worker stopped");
                            self.workers_tx.remove(&account);
                        }
                        Ok(WorkerExit::Cancelled) => break Err(DispatchError::Worker("stopped unasked".into())),
                        Err(e) => break Err(DispatchError::Worker(e.to_string())),
                    }
                }
                change = changes.recv(), if changes_open => match change {
                    Some(c) => {
                        let mut batch = vec![c];
                        while let Ok(c) = changes.try_recv() {
                            batch.push(c);
                        }
                        for c in batch {
                            if let Err(e) = self.apply(c).await {
                                tracing::error!(error = %e, change = ?c, "dispatcher could not apply a change");
                            }
                        }
                    }
                    None => changes_open = false,
                },
                _ = tokio::time::sleep(sleep) => {}
            }
        };
        self.cancel.cancel();
        while let Some(joined) = self.workers.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "send worker failed while stopping");
            }
        }
        // Last: the outcomes the workers handed over are written.
        let Dispatcher {
            outcomes, writer, ..
        } = self;
        drop(outcomes);
        if let Some(w) = writer
            && let Err(e) = w.await
        {
            tracing::error!(error = %e, "outcome writer failed while stopping");
        }
        tracing::info!("dispatcher stopped");
        result
    }

    /// The account's worker channel, starting its worker on first use with
    /// `first` already in its channel: a new worker's first turn reads the
    /// account's open rows from the database, and must see the rows this
    /// dispatcher just handed over as its own claims (never sent by anyone,
    /// see `scheduler::backlog`), not as rows read back.
    fn worker_for(
        &mut self,
        account_id: i64,
        first: Option<WorkerMsg>,
    ) -> mpsc::UnboundedSender<WorkerMsg> {
        if let Some(w) = self.workers_tx.get(&account_id) {
            if let Some(m) = first {
                let _ = w.send(m);
            }
            return w.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        if let Some(m) = first {
            let _ = tx.send(m);
        }
        let worker = Worker::new(
            self.ctx.clone(),
            account_id,
            rx,
            self.outcomes.clone(),
            self.cancel.child_token(),
        );
        self.workers.spawn(worker.run());
        self.workers_tx.insert(account_id, tx.clone());
        tx
    }

    /// Tells the account's worker (a stopped worker is not an error: the
    /// daemon is stopping, or the account was removed).
    fn tell(&mut self, account_id: i64, msg: WorkerMsg) {
        self.worker_for(account_id, Some(msg));
    }

    async fn apply(&mut self, change: Change) -> Result<(), StoreError> {
        match change {
            Change::Template(id) => {
                self.schedules.remove(&id);
                if let Some(t) = self.ctx.store.dispatch_template(id).await? {
                    if let Some(next) = t.next_slot.filter(|_| t.active && t.dispatchable) {
                        self.heap.push(Reverse((next, id)));
                    }
                    self.tell(t.account_id, WorkerMsg::Template(id));
                }
            }
            Change::Account(id) => {
                for e in self.ctx.store.dispatch_heap_account(id).await? {
                    self.heap.push(Reverse(e));
                }
                self.tell(id, WorkerMsg::Reload);
            }
            Change::All => {
                self.schedules.clear();
                self.crons.prune();
                let entries = self.ctx.store.dispatch_heap_load().await?;
                self.heap = BinaryHeap::from(entries.into_iter().map(Reverse).collect::<Vec<_>>());
                for id in self.ctx.store.dispatch_account_ids().await? {
                    self.tell(id, WorkerMsg::Reload);
                }
            }
        }
        Ok(())
    }

    /// Claims every heap entry due by `now_ms` + lookahead, in batches of
    /// one commit.
    async fn fire_due(&mut self, now_ms: i64) -> Result<(), StoreError> {
        let horizon = now_ms + self.lookahead_ms;
        loop {
            let mut due = Vec::new();
            while due.len() < fire_batch_size(self.ctx.store.backend()) {
                match self.heap.peek() {
                    Some(Reverse((slot, _))) if *slot <= horizon => {
                        let Reverse(e) = self.heap.pop().expect("peeked");
                        due.push(e);
                    }
                    _ => break,
                }
            }
            if due.is_empty() {
                return Ok(());
            }
            if let Err(e) = self.fire_batch(&due).await {
                // Put them back: nothing was committed, the next turn retries.
                self.heap.extend(due.into_iter().map(Reverse));
                return Err(e);
            }
        }
    }

    async fn fire_batch(&mut self, due: &[(i64, i64)]) -> Result<(), StoreError> {
        let now = self.ctx.now();
        let horizon = to_ms(now) + self.lookahead_ms;
        let grace = self.ctx.config.scheduler.misfire_grace;
        // Read before the templates: an edit committed after this read is
        // seen by the workers as a newer revision (see events::Revisions).
        let seen = self.ctx.events.revisions().counter();
        let ids: Vec<i64> = due.iter().map(|&(_, id)| id).collect();
        let mut templates = self.ctx.store.dispatch_templates(&ids).await?;
        let mut all_targets = self.ctx.store.dispatch_targets_many(&ids).await?;
        let mut claims = Vec::new();
        let mut fired: HashMap<i64, Fired> = HashMap::new();
        for &(slot, id) in due {
            let Some(t) = templates.remove(&id) else {
                self.schedules.remove(&id);
                continue;
            };
            // Stale entry, disabled template, or an account that may not
            // send (its templates are re-added when it changes).
            if t.next_slot != Some(slot) || !t.active || !t.dispatchable {
                continue;
            }
            // Another node holds the account (its entries come back with
            // `Change::Account` when this node takes the lease).
            let Some(epoch) = self.ctx.leases.held(t.account_id) else {
                continue;
            };
            let Some(schedule) = self.schedule_for(&t) else {
                continue;
            };
            let p = plan_ahead(
                &schedule,
                slot,
                now,
                horizon,
                // Checked on every write and restore; a row that still
                // does not parse gets the documented default.
                t.misfire.parse().unwrap_or(Policy::Once),
                grace,
            );
            log_misses(&t, &p);
            let targets: Vec<Arc<TargetInfo>> = all_targets
                .remove(&id)
                .unwrap_or_default()
                .into_iter()
                .map(Arc::new)
                .collect();
            let mut rows = Vec::with_capacity(targets.len() * (1 + p.send.len() + p.missed.len()));
            // Slots too many to write one row each: one row per target
            // counts them all, at the oldest (see `misfire` Bounds).
            let range = (p.unrecorded > 0).then_some((p.first_owed, p.unrecorded as i64));
            let each = p.missed.iter().map(|&s| (s, DeliveryState::Missed, 1));
            let each = each.chain(p.send.iter().map(|&s| (s, DeliveryState::Pending, 1)));
            for (slot, state, slots) in range
                .map(|(s, n)| (s, DeliveryState::Missed, n))
                .into_iter()
                .chain(each)
            {
                for target in &targets {
                    rows.push(NewDelivery {
                        target_id: target.target_id,
                        slot,
                        state,
                        random_id: fresh_random_id(),
                        slots,
                    });
                }
            }
            let missed_reason = format!(
                "missed: the daemon or this account's scheduler was not running (misfire {})",
                t.misfire
            );
            claims.push(Claim {
                template_id: id,
                account_id: t.account_id,
                expected_next_slot: slot,
                epoch,
                new_next_slot: p.next_slot,
                rows,
                missed_range_reason: format!(
                    "{missed_reason}; this row stands for {}{} missed slots, from its slot up to the next missed row",
                    if p.unrecorded_at_least { "at least " } else { "" },
                    p.unrecorded
                ),
                missed_reason,
            });
            let targets = targets.into_iter().map(|g| (g.target_id, g)).collect();
            fired.insert(id, (t, targets));
        }
        if claims.is_empty() {
            return Ok(());
        }
        let node = self.ctx.leases.fence_node().map(str::to_owned);
        let (won, claimed) = self
            .ctx
            .store
            .dispatch_claim(&claims, node.as_deref(), to_ms(now))
            .await?;
        let won: std::collections::HashSet<i64> = won.into_iter().collect();
        for c in &claims {
            if won.contains(&c.template_id)
                && let Some(next) = c.new_next_slot
            {
                self.heap.push(Reverse((next, c.template_id)));
            }
        }
        self.hand_over(claimed, &fired, seen);
        Ok(())
    }

    /// Gives each account's worker its freshly committed rows.
    ///
    /// A template's content is built once and shared by all its rows.
    fn hand_over(&mut self, claimed: Vec<Claimed>, fired: &HashMap<i64, Fired>, seen: u64) {
        let mut per_account: HashMap<i64, Vec<Queued>> = HashMap::new();
        let mut texts: HashMap<i64, Content> = HashMap::new();
        for c in claimed
            .into_iter()
            .filter(|c| c.state == DeliveryState::Pending)
        {
            let Some((t, targets)) = fired.get(&c.template_id) else {
                continue;
            };
            let Some(target) = targets.get(&c.target_id) else {
                continue;
            };
            let (text, parse_mode, options, attachments, tz) = texts
                .entry(t.id)
                .or_insert_with(|| {
                    (
                        Arc::from(t.text.as_str()),
                        ParseMode::parse(&t.parse_mode).unwrap_or_default(),
                        SendOptions::stored_or_none(Some(&t.send_options)),
                        parse_attachments(t.attachments.as_deref()),
                        zone_or_utc(Some(&t.timezone)),
                    )
                })
                .clone();
            per_account.entry(t.account_id).or_default().push(Queued {
                id: c.id,
                template_id: c.template_id,
                slot: c.slot,
                random_id: c.random_id,
                attempts: c.attempts,
                not_before: None,
                text: Some(text),
                parse_mode,
                options,
                attachments,
                tz,
                target: target.clone(),
                seen,
            });
        }
        for (account, rows) in per_account {
            self.tell(account, WorkerMsg::Rows(rows));
        }
    }

    /// The template's schedule, parsed once (crons shared via the cache).
    fn schedule_for(&mut self, t: &FireTemplate) -> Option<Schedule> {
        if let Some(s) = self.schedules.get(&t.id) {
            return Some(s.clone());
        }
        let kind = t.schedule_kind.parse::<ScheduleKind>();
        let parsed = match kind {
            Ok(ScheduleKind::Every) => crate::schedule::parse_duration(&t.schedule_expr)
                .and_then(|d| Schedule::every(d, from_ms(t.anchor_at)))
                .map_err(|e| e.to_string()),
            Ok(ScheduleKind::At) => parse_tz(&t.timezone)
                .and_then(|tz| Schedule::once(&t.schedule_expr, tz))
                .map_err(|e| e.to_string()),
            Ok(ScheduleKind::Cron) => parse_tz(&t.timezone)
                .and_then(|tz| self.crons.cron(&t.schedule_expr, tz))
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match parsed {
            Ok(s) => {
                self.schedules.insert(t.id, s.clone());
                Some(s)
            }
            Err(e) => {
                tracing::error!(template = t.id, error = %e, "stored schedule does not parse; template not fired");
                None
            }
        }
    }
}

fn log_misses(t: &FireTemplate, p: &Plan) {
    if p.missed.is_empty() && p.unrecorded == 0 {
        return;
    }
    tracing::warn!(
        template = t.id,
        misfire = %t.misfire,
        sent = p.send.len(),
        missed_recorded = p.missed.len(),
        "template fired late: missed slots recorded as `missed` deliveries"
    );
    if p.unrecorded > 0 {
        tracing::warn!(
            template = t.id,
            count = p.unrecorded,
            at_least = p.unrecorded_at_least,
            from = %from_ms(p.first_owed),
            "more missed slots than are recorded individually; {}{} older missed slots counted in one `missed` row per target",
            if p.unrecorded_at_least { "at least " } else { "" },
            p.unrecorded
        );
    }
}
