//! [`sleep`]: a wait that ends within tens of microseconds of its
//! deadline, for the send workers' wait for a slot's instant.
//!
//! Tokio's timer wheel has a 1 ms tick and rounds every deadline up to the
//! next tick, so a worker woke on average ~1 ms, and up to 2 ms, after the
//! instant it slept for — at a 10,000-send burst that is most of the first
//! sends' lateness. Here the last stretch of a wait is handed to one OS
//! thread that sleeps on a condition variable with a timeout (nanosecond
//! resolution, the kernel's ~50 µs timer slack) and wakes every task due.
//! Long waits still spend all but their last [`FINE`] in tokio's timer, so
//! the thread only holds the deadlines that are about to come.
//!
//! A wake from a thread outside the runtime is dear (the runtime's shared
//! queue and a futex call: ~7 µs each, measured — 0.75 ms for the 100
//! workers of one burst). So the thread wakes only the first task due and
//! leaves the rest in [`Timer::relay`]; that task, running on a runtime
//! thread, wakes them there, where a wake is a push on the local queue and
//! the other runtime threads steal from it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The part of a wait handed to the precise thread.
const FINE: Duration = Duration::from_millis(3);
/// How long the thread leaves the passing on of wakes to the first task
/// before it wakes the rest itself: that task may have dropped its wait
/// (its `select!` took another branch) between the thread's taking it and
/// the wake, and then nobody else would.
const RELAY_GRACE: Duration = Duration::from_micros(500);

/// Sleeps for `wait`: tokio's timer for all but the last [`FINE`], then
/// the precise thread. Cancel-safe: dropping it forgets its deadline.
pub async fn sleep(wait: Duration) {
    let deadline = Instant::now() + wait;
    if let Some(coarse) = wait.checked_sub(FINE) {
        tokio::time::sleep(coarse).await;
    }
    Fine {
        deadline,
        key: None,
    }
    .await
}

/// The waits handed to the thread, by (deadline, registration number).
struct Timer {
    waiting: Mutex<BTreeMap<(Instant, u64), Waker>>,
    /// Due tasks not woken yet: the first task woken wakes them.
    relay: Mutex<Vec<Waker>>,
    changed: Condvar,
    next_key: AtomicU64,
}

fn timer() -> &'static Timer {
    static TIMER: OnceLock<&'static Timer> = OnceLock::new();
    TIMER.get_or_init(|| {
        let t: &'static Timer = Box::leak(Box::new(Timer {
            waiting: Mutex::new(BTreeMap::new()),
            relay: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            next_key: AtomicU64::new(0),
        }));
        std::thread::Builder::new()
            .name("microbot-timer".into())
            .spawn(move || t.run())
            .expect("cannot start the timer thread");
        t
    })
}

impl Timer {
    /// Wakes the tasks the thread left to be woken from a runtime thread.
    fn pass_on(&self) {
        let relay = std::mem::take(&mut *self.relay.lock().unwrap_or_else(|p| p.into_inner()));
        relay.into_iter().for_each(Waker::wake);
    }

    fn run(&self) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let mut relayed_at: Option<Instant> = None;
        loop {
            let now = Instant::now();
            if relayed_at.is_some_and(|at| now >= at + RELAY_GRACE) {
                relayed_at = None;
                drop(waiting);
                self.pass_on();
                waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let mut due = Vec::new();
            while let Some(entry) = waiting.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                due.push(entry.remove());
            }
            if !due.is_empty() {
                drop(waiting);
                let first = due.pop().expect("not empty");
                self.relay
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .append(&mut due);
                first.wake();
                relayed_at.get_or_insert_with(Instant::now);
                waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let next = waiting.first_key_value().map(|(k, _)| k.0);
            let grace = relayed_at.map(|at| at + RELAY_GRACE);
            waiting = match next.into_iter().chain(grace).min() {
                Some(at) => {
                    self.changed
                        .wait_timeout(waiting, at.saturating_duration_since(now))
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => self
                    .changed
                    .wait(waiting)
                    .unwrap_or_else(|p| p.into_inner()),
            };
        }
    }
}

/// The last stretch of a [`sleep`].
struct Fine {
    deadline: Instant,
    key: Option<(Instant, u64)>,
}

impl Future for Fine {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            self.forget();
            timer().pass_on();
            return Poll::Ready(());
        }
        let t = timer();
        let deadline = self.deadline;
        let key = *self
            .key
            .get_or_insert_with(|| (deadline, t.next_key.fetch_add(1, Ordering::Relaxed)));
        let mut waiting = t.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let earliest = waiting.first_key_value().is_none_or(|(k, _)| key < *k);
        waiting.insert(key, cx.waker().clone());
        drop(waiting);
        if earliest {
            t.changed.notify_one();
        }
        Poll::Pending
    }
}

impl Fine {
    fn forget(&mut self) {
        if let Some(key) = self.key.take() {
            timer()
                .waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        }
    }
}

impl Drop for Fine {
    fn drop(&mut self) {
        // A task woken to pass the wakes on may be dropped instead of
        // polled (its select took another branch): pass them on here.
        if self.key.is_some() {
            timer().pass_on();
        }
        self.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn never_wakes_before_its_deadline() {
        for ms in [0u64, 1, 2, 4, 7] {
            let start = Instant::now();
            sleep(Duration::from_millis(ms)).await;
            assert!(start.elapsed() >= Duration::from_millis(ms), "{ms} ms");
        }
    }

    #[tokio::test]
    async fn many_waiters_all_wake() {
        let tasks: Vec<_> = (0..50u64)
            .map(|i| tokio::spawn(sleep(Duration::from_micros(200 * i))))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }

    /// The task the thread wakes first may never pass the others' wakes
    /// on (its wait was dropped as it was taken): they still wake.
    #[tokio::test]
    async fn wakes_left_to_a_task_that_never_passes_them_on_still_come() {
        let deadline = Instant::now() + Duration::from_millis(20);
        let waiter = tokio::spawn(Fine {
            deadline,
            key: None,
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        // Same instant, a larger key: woken first, and it does nothing.
        timer()
            .waiting
            .lock()
            .unwrap()
            .insert((deadline, u64::MAX), Waker::noop().clone());
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("a wake left with a silent task was lost")
            .unwrap();
    }

    #[test]
    fn a_dropped_wait_is_forgotten() {
        let mut fine = Box::pin(Fine {
            deadline: Instant::now() + Duration::from_secs(60),
            key: None,
        });
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fine.as_mut().poll(&mut cx).is_pending());
        let key = fine.key.expect("registered");
        let registered = || timer().waiting.lock().unwrap().contains_key(&key);
        assert!(registered());
        drop(fine);
        assert!(!registered(), "a dropped wait stays registered");
    }
}
