//! `microbot-bench`: microbot's performance measured side by side with the
//! Python peers (APScheduler 3.x, a croniter polling loop) in one run, printed
//! as a Markdown table (bench/RESULTS.md). Workloads: 1 schedules held
//! (real release daemon), 2 fire precision (2b: a morning at the default
//! rate limit), 3 outbox throughput, 4 control latency (real daemon), 5
//! memory over time (accelerated clock), 6 takeover between two nodes.
//!
//! `cargo run --release -p microbot-bench -- all [--quick]`

mod control;
mod held;
mod inproc;
mod null_messenger;
mod peers;
mod populate;
mod precision;
mod report;
mod soak;
mod takeover;
mod throughput;

use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use microbot_tests::daemon::Db;

use crate::control::backend_name;
use crate::report::{Row, percentile};

#[derive(Parser, Debug)]
#[command(about = "Benchmarks of microbot side by side with APScheduler and croniter")]
struct Cli {
    /// Which workload to run.
    workload: Workload,
    /// Small sizes: a smoke run of a minute or two.
    #[arg(long)]
    quick: bool,
    /// Skip the Python peers.
    #[arg(long)]
    no_peers: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    All,
    Held,
    Precision,
    Throughput,
    Morning,
    Takeover,
    Control,
    Soak,
}

/// Stops measured per takeover figure.
const TAKEOVER_RUNS: usize = 3;

/// The sizes of one run.
struct Sizes {
    held: Vec<usize>,
    /// Largest size APScheduler is asked to hold, and its time limit.
    peer_held_limit: Duration,
    precision: (usize, usize),
    /// Accounts × templates each, at the default rate limit.
    morning: (usize, usize),
    throughput: usize,
    creates: usize,
    status_runs: usize,
    soak: (usize, u32, u32),
    peer_soak_s: u32,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        if quick {
            Sizes {
                held: vec![2_000],
                peer_held_limit: Duration::from_secs(60),
                precision: (10, 20),
                morning: (50, 5),
                throughput: 2_000,
                creates: 100,
                status_runs: 10,
                soak: (1_000, 2, 360),
                peer_soak_s: 10,
            }
        } else {
            Sizes {
                held: vec![10_000, 100_000, 1_000_000],
                peer_held_limit: Duration::from_secs(300),
                precision: (100, 100),
                morning: (2_000, 5),
                throughput: 20_000,
                creates: 1_000,
                status_runs: 50,
                soak: (2_000, 24, 240),
                peer_soak_s: 120,
            }
        }
    }
}

/// The daemon's allocator (microbotd/src/main.rs), so the in-process
/// workloads measure what the daemon binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[allow(unsafe_code)]
fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if std::env::var_os("MICROBOT_BIN_DIR").is_none() {
        let exe = std::env::current_exe()?;
        let dir = exe.parent().expect("exe has a directory").to_path_buf();
        // SAFETY: no other thread exists yet (the runtime starts below).
        unsafe { std::env::set_var("MICROBOT_BIN_DIR", dir) };
    }
    // PostgreSQL figures are durable-commit figures: the throwaway cluster
    // runs with fsync and synchronous_commit on (the tests' cluster does not).
    // SAFETY: as above, still single-threaded.
    unsafe { std::env::set_var("MICROBOT_PG_DURABLE", "1") };
    let runtime = tokio::runtime::Runtime::new()?;
    let started = Instant::now();
    let rows = runtime.block_on(run(&cli))?;
    report::print(&rows);
    eprintln!(
        "bench: finished in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn run(cli: &Cli) -> anyhow::Result<Vec<Row>> {
    let sizes = Sizes::new(cli.quick);
    let peers = !cli.no_peers && peers::setup();
    let wants = |w: Workload| cli.workload == Workload::All || cli.workload == w;
    let mut rows = Vec::new();
    if wants(Workload::Held) {
        rows.extend(held_rows(&sizes, peers).await?);
    }
    if wants(Workload::Precision) {
        rows.extend(precision_rows(&sizes, peers).await?);
    }
    if wants(Workload::Throughput) {
        for db in Db::all() {
            eprintln!(
                "bench: throughput {} on {}",
                sizes.throughput,
                backend_name(db)
            );
            let v = throughput::run(db, sizes.throughput).await?;
            let goal = "≥ 20000/s";
            let metric = format!(
                "deliveries/s, {} due at once ({})",
                sizes.throughput,
                backend_name(db)
            );
            rows.push(Row::new("3 outbox", &metric, "/s", v, goal));
        }
    }
    if wants(Workload::Morning) {
        rows.extend(morning_rows(&sizes).await?);
    }
    if wants(Workload::Takeover) && Db::all().contains(&Db::Postgres) {
        // Where in the 2 s renew cycle (`cluster.retry`) the stop lands
        // decides the figure, so each is taken TAKEOVER_RUNS times at
        // phases spread evenly over the cycle: the median and the worst.
        for (kill, how, goal) in [(false, "SIGTERM", "≤ 1 s"), (true, "kill -9", "≤ 15 s")] {
            let mut runs = Vec::new();
            for i in 0..TAKEOVER_RUNS {
                eprintln!("bench: takeover after {how} ({}/{TAKEOVER_RUNS})", i + 1);
                let phase =
                    Duration::from_millis((2 * i as u64 + 1) * 2000 / (2 * TAKEOVER_RUNS as u64));
                runs.extend(takeover::run(kill, phase)?);
            }
            let complete = runs.len() == TAKEOVER_RUNS;
            let worst = runs
                .iter()
                .copied()
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
            rows.push(Row::new(
                "6 takeover",
                &format!(
                    "all accounts held by the other node after {how}, median of {TAKEOVER_RUNS} (postgres)"
                ),
                "s",
                complete.then(|| percentile(&mut runs, 50.0)).flatten(),
                goal,
            ));
            rows.push(Row::new(
                "6 takeover",
                &format!("… the slowest of the {TAKEOVER_RUNS} (postgres)"),
                "s",
                complete.then_some(worst).flatten(),
                goal,
            ));
        }
    }
    if wants(Workload::Control) {
        for db in Db::all() {
            eprintln!("bench: control on {}", backend_name(db));
            rows.extend(control::run(db, sizes.creates, sizes.status_runs).await?);
        }
    }
    if wants(Workload::Soak) {
        rows.extend(soak_rows(&sizes, peers).await?);
    }
    Ok(rows)
}

async fn held_rows(sizes: &Sizes, peers: bool) -> anyhow::Result<Vec<Row>> {
    eprintln!("bench: held baseline");
    let base = held::run(0).await?;
    let mut rows = Vec::new();
    for &n in &sizes.held {
        eprintln!("bench: held {n}");
        let h = held::run(n).await?;
        eprintln!(
            "bench: held {n}: populated in {:.1} s, RSS {} MB (baseline {} MB)",
            h.populate_s,
            h.rss_bytes / 1_000_000,
            base.rss_bytes / 1_000_000
        );
        let per = (h.rss_bytes as f64 - base.rss_bytes as f64) / n as f64;
        let peer = if peers {
            eprintln!("bench: peer apscheduler held {n}");
            peers::run(&["held", &n.to_string()], sizes.peer_held_limit)
        } else {
            None
        };
        let w = "1 held";
        rows.push(
            Row::new(
                w,
                &format!("RSS per schedule beyond baseline ({n})"),
                "B",
                Some(per),
                "≤ 150 B",
            )
            .peer("APScheduler", peers::num(&peer, "rss_per_schedule_bytes")),
        );
        rows.push(
            Row::new(
                w,
                &format!("start → READY ({n})"),
                "s",
                Some(h.ready_s),
                "≤ 1 s at 1M",
            )
            .peer("APScheduler", peers::num(&peer, "start_to_ready_s")),
        );
        rows.push(
            Row::new(
                w,
                &format!("start → first fire ({n})"),
                "s",
                h.first_fire_s,
                "-",
            )
            .peer("APScheduler", peers::num(&peer, "start_to_first_fire_s")),
        );
    }
    Ok(rows)
}

async fn precision_rows(sizes: &Sizes, peers: bool) -> anyhow::Result<Vec<Row>> {
    let (accounts, per) = sizes.precision;
    let n = accounts * per;
    let mut rows = Vec::new();
    let aps = peers
        .then(|| peers::run(&["precision", &n.to_string()], Duration::from_secs(300)))
        .flatten();
    let cron = peers
        .then(|| {
            peers::run(
                &["croniter-precision", &n.to_string()],
                Duration::from_secs(300),
            )
        })
        .flatten();
    for db in Db::all() {
        eprintln!("bench: precision {n} on {}", backend_name(db));
        let mut p = precision::run(db, accounts, per).await?;
        let w = "2 precision";
        let name = backend_name(db);
        let fired = p.fired;
        let max = p
            .lateness_ms
            .iter()
            .copied()
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
        rows.push(
            Row::new(
                w,
                &format!("lateness p50, {n} due at once ({name})"),
                "ms",
                percentile(&mut p.lateness_ms, 50.0),
                "≤ 5 ms",
            )
            .peer("APScheduler", peers::num(&aps, "p50_ms")),
        );
        rows.push(
            Row::new(
                w,
                &format!("lateness p99 ({name})"),
                "ms",
                percentile(&mut p.lateness_ms, 99.0),
                "≤ 50 ms",
            )
            .peer("APScheduler", peers::num(&aps, "p99_ms")),
        );
        rows.push(
            Row::new(w, &format!("lateness max ({name})"), "ms", max, "-")
                .peer("APScheduler", peers::num(&aps, "max_ms")),
        );
        rows.push(
            Row::new(
                w,
                &format!("fired of {n} ({name})"),
                "",
                Some(fired as f64),
                &format!("{}", p.n),
            )
            .peer("APScheduler", peers::num(&aps, "fired")),
        );
    }
    let w = "2 precision";
    rows.push(
        Row::new(w, "lateness p50, croniter 1 s poll loop", "ms", None, "-")
            .peer("croniter", peers::num(&cron, "p50_ms")),
    );
    rows.push(
        Row::new(w, "lateness p99, croniter 1 s poll loop", "ms", None, "-")
            .peer("croniter", peers::num(&cron, "p99_ms")),
    );
    Ok(rows)
}

async fn morning_rows(sizes: &Sizes) -> anyhow::Result<Vec<Row>> {
    let (accounts, per) = sizes.morning;
    let mut rows = Vec::new();
    for db in Db::all() {
        let name = backend_name(db);
        eprintln!("bench: morning {accounts}×{per} on {name}");
        let mut p = precision::morning(db, accounts, per).await?;
        let w = "2b morning";
        let what = format!("{accounts} accounts × {per} due at once, 20/min");
        rows.push(Row::new(
            w,
            &format!("first message per account, lateness p50 ({what}, {name})"),
            "ms",
            percentile(&mut p.lateness_ms, 50.0),
            "≤ 5 ms",
        ));
        rows.push(Row::new(
            w,
            &format!("first message per account, lateness p99 ({name})"),
            "ms",
            percentile(&mut p.lateness_ms, 99.0),
            "≤ 50 ms",
        ));
        rows.push(Row::new(
            w,
            &format!("accounts whose first message went ({name})"),
            "",
            Some(p.fired as f64),
            &format!("{}", p.n),
        ));
    }
    Ok(rows)
}

async fn soak_rows(sizes: &Sizes, peers: bool) -> anyhow::Result<Vec<Row>> {
    let (n, hours, factor) = sizes.soak;
    eprintln!("bench: soak {n} templates, {hours} simulated hours at {factor}×");
    let s = soak::run(Db::Sqlite, n, hours, factor).await?;
    eprintln!(
        "bench: soak: {} of {} expected sends in {:.0} s real; samples (MB): {:?}",
        s.sends,
        s.expected_sends,
        s.real_s,
        s.samples.iter().map(|b| b / 1_000_000).collect::<Vec<_>>()
    );
    let cron = peers
        .then(|| {
            peers::run(
                &["croniter-soak", &n.to_string(), &hours.to_string()],
                Duration::from_secs(900),
            )
        })
        .flatten();
    let aps = peers
        .then(|| {
            let secs = sizes.peer_soak_s.to_string();
            peers::run(
                &["soak", &n.to_string(), &secs],
                Duration::from_secs(u64::from(sizes.peer_soak_s) + 120),
            )
        })
        .flatten();
    let w = "5 soak";
    let what = format!("{n} templates, {hours} h simulated");
    Ok(vec![
        Row::new(
            w,
            &format!("RSS first sample ({what})"),
            "MB",
            s.first_mb(),
            "-",
        )
        .peer("croniter (simulated)", peers::num(&cron, "rss_first_mb")),
        Row::new(
            w,
            &format!("RSS last sample ({what})"),
            "MB",
            s.last_mb(),
            "-",
        )
        .peer("croniter (simulated)", peers::num(&cron, "rss_last_mb")),
        Row::new(
            w,
            "RSS growth after warm-up (last − 25 %)",
            "MB",
            s.growth_after_warmup_mb(),
            "≈ 0",
        )
        .peer(
            "croniter (simulated)",
            peers::num(&cron, "growth_after_warmup_mb"),
        ),
        Row::new(
            w,
            &format!("sends done of {} due", s.expected_sends),
            "",
            Some(s.sends as f64),
            "all",
        )
        .peer("croniter (simulated)", peers::num(&cron, "sends")),
        Row::new(
            w,
            &format!(
                "RSS growth after warm-up, APScheduler {} s real time",
                sizes.peer_soak_s
            ),
            "MB",
            None,
            "≈ 0",
        )
        .peer("APScheduler", peers::num(&aps, "growth_after_warmup_mb")),
    ])
}
