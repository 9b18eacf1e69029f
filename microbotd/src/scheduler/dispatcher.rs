//! [`Dispatcher`]: the one timer loop. A min-heap of `(next_slot ms,
//! template id)` — 16 bytes a template — loaded in one query at start; the
//! loop sleeps until the earliest entry, a change notification, or at most
//! [`BEAT`] (to prove it turns), and fires what is due.
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

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::events::Change;
use crate::schedule::{CronCache, Schedule, parse_tz};
use crate::store::dispatch::{Claim, FireTemplate, NewDelivery, fresh_random_id};
use crate::store::{StoreError, from_ms, to_ms};

use super::misfire::{Plan, Policy, plan};
use super::worker::Worker;

/// The loop turns (and beats the heartbeat) at least this often.
pub const BEAT: Duration = Duration::from_secs(5);
/// Due templates claimed per transaction.
const FIRE_BATCH: usize = 500;

/// Why the dispatcher stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("dispatcher: {0}")]
    Store(#[from] StoreError),
    #[error("a send worker died: {0}")]
    Worker(String),
}

/// The timer loop's state.
pub struct Dispatcher {
    ctx: Context,
    heap: BinaryHeap<Reverse<(i64, i64)>>,
    /// Parsed schedules of templates that have fired (dropped on change).
    schedules: HashMap<i64, Schedule>,
    crons: CronCache,
    wakes: HashMap<i64, Arc<Notify>>,
    workers: JoinSet<()>,
    cancel: CancellationToken,
}

impl Dispatcher {
    /// Loads the heap and starts one send worker per account.
    pub async fn start(ctx: Context, cancel: CancellationToken) -> Result<Self, DispatchError> {
        let entries = ctx.store.dispatch_heap_load().await?;
        let heap = BinaryHeap::from(entries.into_iter().map(Reverse).collect::<Vec<_>>());
        tracing::info!(templates = heap.len(), "dispatcher loaded its schedule");
        let mut d = Dispatcher {
            ctx,
            heap,
            schedules: HashMap::new(),
            crons: CronCache::new(),
            wakes: HashMap::new(),
            workers: JoinSet::new(),
            cancel,
        };
        for id in d.ctx.store.dispatch_account_ids().await? {
            d.worker_for(id);
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
                        u64::try_from(due - to_ms(self.ctx.now())).unwrap_or(0),
                    ))
                    .min(BEAT),
                None => BEAT,
            };
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => break Ok(()),
                Some(joined) = self.workers.join_next(), if !self.workers.is_empty() => {
                    let why = match joined {
                        Err(e) => e.to_string(),
                        Ok(()) => "exited".to_string(),
                    };
                    break Err(DispatchError::Worker(why));
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
        tracing::info!("dispatcher stopped");
        result
    }

    /// The account's wake handle, starting its worker on first use.
    fn worker_for(&mut self, account_id: i64) -> Arc<Notify> {
        if let Some(w) = self.wakes.get(&account_id) {
            return w.clone();
        }
        let wake = Arc::new(Notify::new());
        let worker = Worker::new(
            self.ctx.clone(),
            account_id,
            wake.clone(),
            self.cancel.child_token(),
        );
        self.workers.spawn(worker.run());
        self.wakes.insert(account_id, wake.clone());
        wake
    }

    async fn apply(&mut self, change: Change) -> Result<(), StoreError> {
        match change {
            Change::Template(id) => {
                self.schedules.remove(&id);
                if let Some(t) = self.ctx.store.dispatch_template(id).await? {
                    if let Some(next) = t.next_slot.filter(|_| t.active && t.dispatchable) {
                        self.heap.push(Reverse((next, id)));
                    }
                    self.worker_for(t.account_id).notify_one();
                }
            }
            Change::Account(id) => {
                for e in self.ctx.store.dispatch_heap_account(id).await? {
                    self.heap.push(Reverse(e));
                }
                self.worker_for(id).notify_one();
            }
            Change::All => {
                self.schedules.clear();
                self.crons.prune();
                let entries = self.ctx.store.dispatch_heap_load().await?;
                self.heap = BinaryHeap::from(entries.into_iter().map(Reverse).collect::<Vec<_>>());
                for id in self.ctx.store.dispatch_account_ids().await? {
                    self.worker_for(id).notify_one();
                }
            }
        }
        Ok(())
    }

    /// Fires every heap entry due at `now_ms`, in batches of one commit.
    async fn fire_due(&mut self, now_ms: i64) -> Result<(), StoreError> {
        loop {
            let mut due = Vec::new();
            while due.len() < FIRE_BATCH {
                match self.heap.peek() {
                    Some(Reverse((slot, _))) if *slot <= now_ms => {
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
        let grace = self.ctx.config.scheduler.misfire_grace;
        let mut claims = Vec::new();
        let ids: Vec<i64> = due.iter().map(|&(_, id)| id).collect();
        let mut templates = self.ctx.store.dispatch_templates(&ids).await?;
        let mut all_targets = self.ctx.store.dispatch_targets_many(&ids).await?;
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
            let Some(schedule) = self.schedule_for(&t) else {
                continue;
            };
            let p = plan(&schedule, slot, now, Policy::parse(&t.misfire), grace);
            log_misses(&t, &p);
            let targets = all_targets.remove(&id).unwrap_or_default();
            let mut rows = Vec::with_capacity(targets.len() * (p.send.len() + p.missed.len()));
            for (slots, state) in [(&p.missed, "missed"), (&p.send, "pending")] {
                for &s in slots {
                    for &target_id in &targets {
                        rows.push(NewDelivery {
                            target_id,
                            slot: s,
                            state,
                            random_id: fresh_random_id(),
                        });
                    }
                }
            }
            claims.push((
                Claim {
                    template_id: id,
                    account_id: t.account_id,
                    expected_next_slot: slot,
                    new_next_slot: p.next_slot,
                    rows,
                    missed_reason: format!("missed: the daemon or this account's scheduler was not running (misfire {})", t.misfire),
                },
                p.next_slot,
            ));
        }
        if claims.is_empty() {
            return Ok(());
        }
        let only: Vec<Claim> = claims.iter().map(|(c, _)| c.clone()).collect();
        let won = self.ctx.store.dispatch_claim(&only, to_ms(now)).await?;
        for ((claim, next), won) in claims.into_iter().zip(won) {
            if !won {
                continue;
            }
            if let Some(next) = next {
                self.heap.push(Reverse((next, claim.template_id)));
            }
            if claim.rows.iter().any(|r| r.state == "pending") {
                self.worker_for(claim.account_id).notify_one();
            }
        }
        Ok(())
    }

    /// The template's schedule, parsed once (crons shared via the cache).
    fn schedule_for(&mut self, t: &FireTemplate) -> Option<Schedule> {
        if let Some(s) = self.schedules.get(&t.id) {
            return Some(s.clone());
        }
        let parsed = match t.schedule_kind.as_str() {
            "every" => crate::schedule::parse_duration(&t.schedule_expr)
                .and_then(|d| Schedule::every(d, from_ms(t.anchor_at))),
            _ => parse_tz(&t.timezone).and_then(|tz| self.crons.cron(&t.schedule_expr, tz)),
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
            "more missed slots than are recorded individually; {}{} older missed slots not written as rows",
            if p.unrecorded_at_least { "at least " } else { "" },
            p.unrecorded
        );
    }
}
