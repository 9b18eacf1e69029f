//! [`spawn_housekeeping`]: memory the allocator keeps after a burst is
//! handed back to the system on a quiet tick, never in the middle of the
//! next burst.
//!
//! mimalloc (the daemon's allocator, `main.rs`) returns freed memory to the
//! system ("purges" it, with `madvise`) once it has been free for a while,
//! but only when the allocator next runs its slow path — and in a daemon
//! that is idle until a slot's instant, that is the burst of sends itself.
//! Each purge flushes the TLB of every core (an IPI per core): measured,
//! that was a fifth of a 10,000-send burst's CPU on SQLite, whose claim
//! transaction frees the most just before (bench/RESULTS.md). A tick that
//! runs the collection when nothing is due moves that work ahead, like the
//! claim itself. Without mimalloc as the global allocator (tests, an
//! embedder) the call tidies mimalloc's own empty heap: harmless.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often the collection runs: freed memory becomes purgeable after
/// mimalloc's delay (100 ms for arena memory), so a burst that comes later
/// than this after the last large free finds nothing left to purge.
const TICK: Duration = Duration::from_millis(250);

/// Runs the allocator's collection every [`TICK`] until cancelled.
pub fn spawn_housekeeping(cancel: CancellationToken) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(TICK) => collect(),
            }
        }
    });
}

/// Purges what has been free long enough; cheap when nothing is (an
/// atomic read of the earliest expiry).
fn collect() {
    // SAFETY: `mi_collect` takes no pointers and may be called from any
    // thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(false)
    }
}
