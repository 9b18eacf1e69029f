//! `microbotd`: parses arguments, sets up logging, takes the control socket
//! and calls [`microbotd::run`]. Subcommands: `check-config`, `migrate`,
//! `rekey` (and the hidden `man DIR`); the definition is in [`microbotd::cli`].

use std::process::ExitCode;

use clap::Parser;
use microbotd::cli::{Args, Command};
use microbotd::config::Config;

/// The send path allocates and frees small objects on both runtime
/// threads at once (rows handed from the dispatcher, freed by a worker);
/// glibc's allocator spent ~40% of a 10,000-send burst in its own locking
/// and consolidation (bench/RESULTS.md). mimalloc's per-thread free lists
/// do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// EX_CONFIG from sysexits.h: systemd does not restart on a bad config.
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Man { dir }) = &args.command {
        return match microbotd::man::write_pages(dir) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!(
                    "microbotd: cannot write man pages to {}: {e}",
                    dir.display()
                );
                ExitCode::FAILURE
            }
        };
    }
    let activated = microbotd::socket::take_activated_fd();
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("microbotd: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(Command::CheckConfig) = args.command {
        print!("{}", config.to_redacted_toml());
        return ExitCode::SUCCESS;
    }
    let (log, sink) = microbotd::logging::init(&config.daemon.log_level, &config.daemon.node_id);
    tracing::debug!(?sink, "logging");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("microbotd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match args.command {
            Some(Command::Migrate) => migrate(&config).await,
            Some(Command::Rekey { new_key_file }) => rekey(&config, &new_key_file).await,
            _ => serve(config, activated, log).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("microbotd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    if config.database.url.starts_with("sqlite") {
        microbotd::state_dir::prepare(&config.daemon.state_dir)?;
    }
    let store =
        microbotd::store::Store::open(&config.database.url, config.database.max_connections)
            .await?;
    let v = store.migrate().await?;
    println!("schema version {v} ({})", store.backend().as_str());
    store.close().await;
    Ok(())
}

async fn rekey(config: &Config, new_key_file: &std::path::Path) -> anyhow::Result<()> {
    if config.database.url.starts_with("sqlite") {
        microbotd::state_dir::prepare(&config.daemon.state_dir)?;
    }
    let mut out = std::io::stdout();
    microbotd::maintenance::rekey::run(config, new_key_file, &mut out).await?;
    Ok(())
}

async fn serve(
    config: Config,
    activated: Option<std::os::unix::net::UnixListener>,
    log: microbotd::logging::LogControl,
) -> anyhow::Result<()> {
    microbotd::state_dir::prepare(&config.daemon.state_dir)?;
    let group = microbotd::control::caller::group_id(&config.daemon.operator_group);
    let (socket, _cleanup) =
        microbotd::socket::ControlSocket::acquire(&config.daemon.socket, activated, group)?;
    let reload = std::sync::Arc::new(tokio::sync::Notify::new());
    let overrides = microbotd::Overrides {
        log: Some(log),
        reload: Some(reload.clone()),
        ..Default::default()
    };
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let hangups = async move {
        while hup.recv().await.is_some() {
            reload.notify_one();
        }
    };
    let daemon = microbotd::run_with(config, socket.listener, shutdown_signal(), overrides);
    tokio::select! {
        r = daemon => r?,
        () = hangups => anyhow::bail!("the SIGHUP handler stopped"),
    }
    Ok(())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
