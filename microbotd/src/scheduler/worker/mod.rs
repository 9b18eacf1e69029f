//! [`Worker`]: one per account. It holds the account's claimed deliveries
//! in memory ([`Queue`]), sleeps until the earliest may go, and at that
//! instant only calls `Messenger::send_text` under Telegram's limits —
//! nothing durable stands between the timer and the send call.
//!
//! # What happens ahead, and after
//! * Ahead: the dispatcher commits a slot's rows (with their `random_id`)
//!   within `scheduler.lookahead` of the slot and hands them over
//!   ([`WorkerMsg::Rows`]); the worker resolves uncached chats at once and
//!   caches their peers in one statement.
//! * At the instant: a revision check (in memory) and the send call.
//! * After: outcomes go to the shared writer ([`super::writer`]), which
//!   groups every worker's outcomes into one commit.
//!
//! A crash anywhere leaves the rows `pending` with their committed
//! `random_id`; the next start reads them back and re-sends them, and
//! Telegram de-duplicates a repeat (docs/ARCHITECTURE.md, "Exactly once").

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::store::deliveries::{RowOutcome, SendState, Unclaim};
use crate::store::states::{AccountState, Misfire};
use crate::store::{StoreError, to_ms};
use crate::telegram::AccountKey;

mod follow_up;
mod resolve;
mod send;

pub(super) use send::has_cached_peer;

use super::limits::{ChatSpacing, TokenBucket};
use super::outcome::{MAX_ATTEMPTS, Verdict, backoff};
use super::queue::{Queue, Queued};
use super::writer::Outcomes;
use super::{IdMap, IdSet};

/// A send that takes longer than this counts as a transient failure.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// A chat lookup that takes longer than this counts as a transient failure.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);
/// Idle wait when nothing is queued (a message or cancel ends it sooner).
const IDLE: Duration = Duration::from_secs(3600);
/// Open rows read from the database at once; more are read when these are done.
const READ_LIMIT: i64 = 5000;
/// Settled rows are remembered this long, so a refresh that reads them back
/// before their outcome is committed does not send them again.
const SETTLED_MEMORY_MS: i64 = 120_000;

/// What the dispatcher tells a worker.
#[derive(Debug)]
pub enum WorkerMsg {
    /// Rows just claimed (committed) for this account.
    Rows(Vec<Queued>),
    /// The template changed: re-read its open rows.
    Template(i64),
    /// The account (or everything) changed: re-read the account and its rows.
    Reload,
}

/// Why a worker stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerExit {
    Cancelled,
    /// The account was removed.
    Gone(i64),
}

/// Drains one account's claimed deliveries.
pub struct Worker {
    ctx: Context,
    account_id: i64,
    rx: mpsc::UnboundedReceiver<WorkerMsg>,
    outcomes: Outcomes,
    cancel: CancellationToken,
    bucket: TokenBucket,
    spacing: ChatSpacing,
    queue: Queue,
    /// The account as last read, with the revision counter read before.
    account: Option<(u64, SendState)>,
    /// Rows settled recently (sent, failed or cancelled; the outcome maybe
    /// not yet committed) → when. A refresh skips them.
    settled: IdMap<i64, i64>,
    /// The last read hit READ_LIMIT: read again once the queue is empty.
    more_in_db: bool,
    /// Chats in slow mode (target id → until), as Telegram last said.
    slowmode: IdMap<i64, i64>,
    /// The lease epoch this turn sends under (0 on SQLite).
    epoch: i64,
    /// Held the lease at the last turn: losing it releases the connection.
    holding: bool,
    /// Templates whose rows must be re-read before anything else.
    stale: HashSet<i64>,
    /// Misfire policies read for [`Worker::catch_up`]; forgotten when the
    /// template's rows are read again (an edit may change the policy).
    misfire: HashMap<i64, Misfire>,
    /// Rows the dispatcher of this process claimed and handed over that
    /// were never handed to Telegram: the only ones a backlog may record
    /// `missed` unsent. A row read back from the database may have been in
    /// flight when an earlier process died, so it is re-sent with its
    /// `random_id` instead (Telegram de-duplicates it).
    fresh: IdSet<i64>,
    reload: bool,
    /// (template, target) → (slot, message ids: an album's every item) of
    /// the last message sent here for a `replace-previous` template: its
    /// outcome may not be committed yet when the next one goes.
    last_sent: HashMap<(i64, i64), (i64, Vec<i64>)>,
}

enum Turn {
    Wait(Duration),
    Again,
    Gone,
}

impl Worker {
    pub fn new(
        ctx: Context,
        account_id: i64,
        rx: mpsc::UnboundedReceiver<WorkerMsg>,
        outcomes: Outcomes,
        cancel: CancellationToken,
    ) -> Self {
        Worker {
            ctx,
            account_id,
            rx,
            outcomes,
            cancel,
            bucket: TokenBucket::new(Instant::now()),
            spacing: ChatSpacing::default(),
            queue: Queue::default(),
            account: None,
            settled: Default::default(),
            slowmode: Default::default(),
            epoch: 0,
            holding: false,
            more_in_db: false,
            stale: HashSet::new(),
            misfire: HashMap::new(),
            fresh: Default::default(),
            reload: true,
            last_sent: HashMap::new(),
        }
    }

    /// Runs until cancelled or the account is removed. Database errors are
    /// logged and retried after a pause: a blip must not take the daemon
    /// down, and nothing is lost because the rows stay open.
    pub async fn run(mut self) -> WorkerExit {
        loop {
            while let Ok(m) = self.rx.try_recv() {
                self.take(m);
            }
            let wait = match self.turn().await {
                Ok(Turn::Again) => None,
                Ok(Turn::Wait(w)) => Some(w),
                Ok(Turn::Gone) => return WorkerExit::Gone(self.account_id),
                Err(e) => {
                    tracing::error!(account_id = self.account_id, error = %e, "send worker: database error; retrying in 1s");
                    self.reload = true;
                    Some(Duration::from_secs(1))
                }
            };
            if self.cancel.is_cancelled() {
                return WorkerExit::Cancelled;
            }
            if let Some(wait) = wait {
                tokio::select! {
                    biased;
                    _ = self.cancel.cancelled() => return WorkerExit::Cancelled,
                    m = self.rx.recv() => match m {
                        Some(m) => self.take(m),
                        None => return WorkerExit::Cancelled,
                    },
                    _ = super::timer::sleep(wait) => {}
                }
            }
        }
    }

    fn take(&mut self, m: WorkerMsg) {
        match m {
            WorkerMsg::Rows(rows) => {
                for r in rows {
                    if r.attempts == 0 {
                        self.fresh.insert(r.id);
                    }
                    self.queue.put(r);
                }
            }
            WorkerMsg::Template(id) => {
                self.stale.insert(id);
            }
            WorkerMsg::Reload => self.reload = true,
        }
    }

    fn now_ms(&self) -> i64 {
        to_ms(self.ctx.now())
    }

    /// The real-time wait until `ms` more have passed on the context's clock.
    fn clock_wait(&self, ms: i64) -> Duration {
        self.ctx
            .clock
            .real_duration(Duration::from_millis(u64::try_from(ms.max(1)).unwrap_or(1)))
    }

    /// Brings memory up to date with the database where it may be behind.
    async fn refresh(&mut self) -> Result<bool, StoreError> {
        let revisions = self.ctx.events.revisions().clone();
        let acct_stale = self
            .account
            .as_ref()
            .is_none_or(|(seen, _)| revisions.account(self.account_id) > *seen);
        if acct_stale || self.reload {
            let seen = revisions.counter();
            match self.ctx.store.outbox_account(self.account_id).await? {
                Some(a) => self.account = Some((seen, a)),
                None => return Ok(false),
            }
        }
        let now = self.now_ms();
        self.settled.retain(|_, at| now - *at < SETTLED_MEMORY_MS);
        self.slowmode.retain(|_, until| *until > now);
        if self.reload || (self.queue.is_empty() && self.more_in_db) {
            let seen = revisions.counter();
            let rows = self
                .ctx
                .store
                .outbox_open(self.account_id, None, READ_LIMIT)
                .await?;
            self.more_in_db = rows.len() as i64 == READ_LIMIT;
            self.queue.clear();
            self.put_read(rows, seen);
            self.reload = false;
            self.stale.clear();
            self.misfire.clear();
            let queue = &self.queue;
            self.fresh.retain(|id| queue.contains(*id));
        }
        for template in std::mem::take(&mut self.stale) {
            self.misfire.remove(&template);
            let seen = revisions.counter();
            let rows = self
                .ctx
                .store
                .outbox_open(self.account_id, Some(template), READ_LIMIT)
                .await?;
            self.queue.remove_template(template);
            self.put_read(rows, seen);
            // Rows withdrawn meanwhile (an edit cancels rows claimed ahead).
            let queue = &self.queue;
            self.fresh.retain(|id| queue.contains(*id));
        }
        Ok(true)
    }

    fn put_read(&mut self, rows: Vec<crate::store::deliveries::OutboxRow>, seen: u64) {
        for r in rows {
            if let Some(until) = r.target.slowmode_until {
                self.slowmode.insert(r.target.target_id, until);
            }
            if !self.settled.contains_key(&r.id) {
                self.queue.put(Queued::from_row(r, seen));
            }
        }
    }

    /// One pass: refresh, resolve ahead, send what is due.
    async fn turn(&mut self) -> Result<Turn, StoreError> {
        if !self.refresh().await? {
            return Ok(Turn::Gone);
        }
        // Rows the dispatcher claimed while that read ran may have come
        // back from the database already; taking its hand-over now marks
        // them as this process's own claims (see `scheduler::backlog`).
        while let Ok(m) = self.rx.try_recv() {
            self.take(m);
        }
        let Some((_, acct)) = self.account.clone() else {
            return Ok(Turn::Gone);
        };
        if acct.state != AccountState::Active || !acct.scheduler_enabled {
            return Ok(Turn::Wait(IDLE));
        }
        // Several nodes: only the lease holder sends. A lease gained later
        // comes as a Reload, and everything is read again then (another
        // node may have sent meanwhile).
        let key = AccountKey {
            id: self.account_id,
            name: acct.name.clone(),
        };
        let Some(epoch) = self.ctx.leases.held(self.account_id) else {
            self.reload = true;
            if std::mem::take(&mut self.holding) {
                self.ctx.messenger.release(&key).await;
            }
            return Ok(Turn::Wait(IDLE));
        };
        self.epoch = epoch;
        self.holding = true;
        let now_ms = self.now_ms();
        if let Some(until) = acct.flood_wait_until.filter(|u| *u > now_ms) {
            return Ok(Turn::Wait(self.clock_wait(until - now_ms)));
        }
        if let Some(v) = self.resolve_ahead(&key).await? {
            self.stop_account(&key, v).await?;
            return Ok(Turn::Again);
        }
        let Some(next) = self.queue.next_ready() else {
            return Ok(Turn::Wait(IDLE));
        };
        // Waits are reckoned in microseconds: a millisecond clock would
        // add up to 1 ms to every wake ([`super::timer`] keeps the rest).
        let now_us = self.ctx.now().timestamp_micros();
        if next * 1000 > now_us {
            let wait = Duration::from_micros(u64::try_from(next * 1000 - now_us).unwrap_or(0));
            return Ok(Turn::Wait(self.ctx.clock.real_duration(wait)));
        }
        let now_ms = now_us.div_euclid(1000);
        if self.catch_up(now_ms).await? {
            return Ok(Turn::Again);
        }
        let rate = self.ctx.rate_limit_per_minute();
        let inst = Instant::now();
        let tokens = self.bucket.available(inst, rate);
        if tokens == 0 {
            return Ok(Turn::Wait(self.bucket.wait_for_one(inst, rate)));
        }
        let mut picked = Vec::new();
        let mut chats = IdSet::default();
        let mut wake: Option<Duration> = None;
        for r in self.queue.ready(now_ms) {
            if picked.len() == tokens {
                break;
            }
            if !chats.insert(r.target.target_id) {
                continue;
            }
            if let Some(until) = self
                .slowmode
                .get(&r.target.target_id)
                .filter(|u| **u > now_ms)
            {
                let d = self.clock_wait(until - now_ms);
                wake = Some(wake.map_or(d, |w| w.min(d)));
                continue;
            }
            let ready = self.spacing.ready_at(r.target.target_id, inst);
            if ready > inst {
                wake = Some(wake.map_or(ready - inst, |w| w.min(ready - inst)));
                continue;
            }
            picked.push(r.id);
        }
        if picked.is_empty() {
            return Ok(Turn::Wait(wake.unwrap_or(Duration::from_secs(1))));
        }
        self.send_batch(&key, picked).await?;
        Ok(Turn::Again)
    }

    /// A backlog older than `scheduler.misfire_grace` follows its template's
    /// misfire policy ([`super::backlog`]): under `skip` and `once` the rows
    /// a newer due row supersedes become `missed`. True when any did.
    async fn catch_up(&mut self, now_ms: i64) -> Result<bool, StoreError> {
        let grace = self.ctx.config.scheduler.misfire_grace.as_millis() as i64;
        // Cheap common case: the earliest due row is within the grace.
        if self
            .queue
            .ready(now_ms)
            .next()
            .is_none_or(|q| q.slot >= now_ms - grace)
        {
            return Ok(false);
        }
        let mut rows = super::backlog::superseded(self.queue.ready(now_ms), now_ms, grace);
        rows.retain(|(id, _, _)| self.fresh.contains(id));
        if rows.is_empty() {
            return Ok(false);
        }
        let mut unknown: Vec<i64> = rows
            .iter()
            .map(|(_, t, _)| *t)
            .filter(|t| !self.misfire.contains_key(t))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        if !unknown.is_empty() {
            let read = self.ctx.store.templates_misfire(&unknown).await?;
            self.misfire.extend(read);
        }
        let mut outcomes = Vec::new();
        for (id, template, slot) in rows {
            // A deleted template's rows are cancelled when their turn comes.
            let Some(policy) = self
                .misfire
                .get(&template)
                .copied()
                .filter(|p| *p != Misfire::All)
            else {
                continue;
            };
            if !self.fresh.remove(&id) || self.queue.remove(id).is_none() {
                continue;
            }
            self.settled.insert(id, now_ms);
            let behind = (now_ms - slot) / 1000;
            outcomes.push(RowOutcome::Missed {
                id,
                reason: format!(
                    "missed: {behind}s behind its schedule, beyond scheduler.misfire_grace; \
                     a newer slot was sent instead (misfire {policy})"
                ),
            });
        }
        if outcomes.is_empty() {
            return Ok(false);
        }
        tracing::warn!(
            account_id = self.account_id,
            rows = outcomes.len(),
            "templates fell behind by more than misfire_grace: older slots recorded missed, the newest sent"
        );
        self.outcomes.record(self.epoch, outcomes);
        Ok(true)
    }

    /// A retry outcome (or the final failure); a retried row stays queued.
    fn retry(&mut self, mut r: Queued, error: String) -> RowOutcome {
        let attempts = r.attempts;
        if attempts >= MAX_ATTEMPTS {
            return RowOutcome::Failed {
                id: r.id,
                error: format!("gave up after {attempts} attempts: {error}"),
                attempts,
            };
        }
        let not_before = self.now_ms() + backoff(attempts).as_millis() as i64;
        r.not_before = Some(not_before);
        let id = r.id;
        self.queue.put(r);
        RowOutcome::Retry {
            id,
            not_before: Some(not_before),
            error,
            attempts,
        }
    }

    async fn stop_account(&mut self, key: &AccountKey, v: Verdict) -> Result<(), StoreError> {
        let now = self.now_ms();
        match v {
            Verdict::AccountWait { seconds, error } => {
                tracing::warn!(account = %key.name, seconds, "FLOOD_WAIT: account paused; its sends wait");
                let until = now + i64::from(seconds) * 1000;
                let node = self.ctx.leases.fence_node();
                if !self
                    .ctx
                    .store
                    .account_flood_wait(key.id, until, &error, now, node, self.epoch)
                    .await?
                {
                    self.ctx.leases.lost(key.id, self.epoch);
                    return Ok(());
                }
                if let Some((_, a)) = self.account.as_mut() {
                    a.flood_wait_until = Some(until);
                }
            }
            Verdict::AccountStop { state, error } => {
                tracing::error!(account = %key.name, %state, %error, "account stops sending until an operator acts");
                let mut tx = self.ctx.store.begin().await?;
                let node = self.ctx.leases.fence_node();
                if !tx
                    .account_stop_sending(key.id, state, &error, now, node, self.epoch)
                    .await?
                {
                    self.ctx.leases.lost(key.id, self.epoch);
                    return Ok(());
                }
                // Slots claimed ahead are planned again when it may send.
                let reason = format!("cancelled: the account stopped sending ({state})");
                tx.deliveries_unclaim(Unclaim::Account(key.id), now, &reason, true)
                    .await?;
                tx.commit().await?;
                // The dispatcher stops firing this account's templates.
                self.ctx.events.send(crate::events::Change::Account(key.id));
            }
            _ => {}
        }
        Ok(())
    }
}
