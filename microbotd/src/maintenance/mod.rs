//! Keeping the database and the daemon healthy: [`db`] (check, vacuum),
//! [`backup`] (snapshot → archive → verify → restore), [`doctor`] (the
//! runbook's daily checklist), [`retention`] (the daily prune of the
//! delivery log), [`rekey`] (re-sealing sessions under a new session key),
//! and [`tables`], the one list of our tables that backups and restores
//! walk.

pub mod backup;
pub mod db;
pub mod doctor;
pub mod rekey;
pub(crate) mod retention;
pub mod tables;
