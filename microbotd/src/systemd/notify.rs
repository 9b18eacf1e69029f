//! systemd notifications (`READY=1`, `RELOADING=1`, `STATUS=`, `WATCHDOG=1`,
//! `STOPPING=1`). No-ops when `NOTIFY_SOCKET` is unset, so the daemon runs the
//! same without systemd.

use std::future::Future;
use std::time::Duration;

use sd_notify::NotifyState;

/// How often, and by how much, a long start-up step extends systemd's
/// start timeout (`TimeoutStartSec=`).
const EXTEND_EVERY: Duration = Duration::from_secs(10);
const EXTEND_BY: Duration = Duration::from_secs(30);

/// Tells systemd the daemon is ready (again, after a reload), with a status line.
pub fn ready(status: &str) {
    let _ = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Updates the status line.
pub fn status(status: &str) {
    let _ = sd_notify::notify(&[NotifyState::Status(status)]);
}

/// Tells systemd a reload has begun. systemd ≥ 253 (`Type=notify-reload`)
/// wants `MONOTONIC_USEC` with it to tell this reload from an earlier one.
pub fn reloading() {
    let mut states = vec![NotifyState::Reloading, NotifyState::Status("reloading")];
    if let Ok(now) = NotifyState::monotonic_usec_now() {
        states.push(now);
    }
    let _ = sd_notify::notify(&states);
}

/// Keeps the watchdog from firing.
pub fn watchdog() {
    let _ = sd_notify::notify(&[NotifyState::Watchdog]);
}

/// Tells systemd the daemon is shutting down.
pub fn stopping() {
    let _ = sd_notify::notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// Runs `step` (e.g. migrations on a large database), sending
/// `EXTEND_TIMEOUT_USEC=` every 10 s while it lasts, so systemd does not
/// kill a start-up that is slow but progressing.
pub async fn extending_start_timeout<T>(step: impl Future<Output = T>) -> T {
    tokio::pin!(step);
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + EXTEND_EVERY, EXTEND_EVERY);
    loop {
        tokio::select! {
            out = &mut step => return out,
            _ = tick.tick() => {
                tracing::info!("start-up step still running; extending systemd's start timeout");
                let usec = u32::try_from(EXTEND_BY.as_micros()).unwrap_or(u32::MAX);
                let _ = sd_notify::notify(&[NotifyState::ExtendTimeoutUsec(usec)]);
            }
        }
    }
}
