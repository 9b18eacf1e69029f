//! systemd notifications (`READY=1`, `RELOADING=1`, `STATUS=`, `WATCHDOG=1`,
//! `STOPPING=1`). No-ops when `NOTIFY_SOCKET` is unset, so the daemon runs the
//! same without systemd.

use sd_notify::NotifyState;

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
