//! systemd integration: [`notify`] (READY/RELOADING/STATUS/STOPPING),
//! [`watchdog`] (WATCHDOG=1 only while the dispatcher turns), [`reload`]
//! (SIGHUP re-reads the config and applies what can change live) and
//! [`journal`] (is stderr the journal?). Socket activation lives in
//! `crate::socket`. Everything here is a no-op without systemd.

pub mod journal;
pub mod notify;
pub mod reload;
pub mod watchdog;
