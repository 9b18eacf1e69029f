//! End-to-end tests: the real `microbotd` driven by the real `microbotctl`
//! (see `harness/`). One binary, one module per area.

mod accounts;
mod bounds;
mod cluster;
mod crash;
mod cron;
mod doctor;
mod failover;
mod foundation;
mod input_hygiene;
mod limits;
mod lookahead;
mod maintenance;
mod man;
mod media;
mod metrics;
mod mtproto;
mod one_shot;
mod permissions;
mod reload;
mod remote;
mod restore_all;
mod restore_values;
mod retention;
mod roles;
mod scheduler;
mod sealed_sessions;
mod send_options;
mod startup_errors;
mod stats;
mod stock_clients;
mod systemd;
mod template_apply;
mod templates;
mod watchdog_stall;
mod write_lock;
