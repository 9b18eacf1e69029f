//! `microbotctl`: the operator CLI. Every command is one gRPC call (or a
//! few) to `microbotd` over its Unix socket.
//!
//! Exit codes: 0 ok; 1 failed or unhealthy; 2 usage; 69 daemon unreachable.

mod cli;
mod commands;
mod failure;
mod input;
mod output;
mod prompt;
mod remote;
mod since;
mod socket;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("microbotctl: cannot start: {e}");
            return ExitCode::from(failure::EXIT_FAILED);
        }
    };
    match runtime.block_on(commands::dispatch(args)) {
        Ok(code) => code,
        Err(e) => e.report(),
    }
}
