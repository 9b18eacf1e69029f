//! End-to-end tests: the real `microbotd` driven by the real `microbotctl`
//! (see `harness/`). One binary, one module per area.

mod accounts;
mod foundation;
mod man;
mod permissions;
mod startup_errors;
mod systemd;
