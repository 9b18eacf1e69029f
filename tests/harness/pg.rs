//! A throwaway PostgreSQL cluster for tests: `initdb` + `pg_ctl` on a free
//! port in a temp dir, one per test process, each test on its own database.
//!
//! # Lifecycle
//! Started on first use. A detached reaper process watches the test process
//! and, once it is gone, stops the server and deletes the directory — so no
//! cluster outlives its tests, even after a panic or a kill. As root the
//! server runs as the `postgres` user (initdb refuses root).
//!
//! The cluster runs with fsync and synchronous_commit off (tests want
//! speed), unless `MICROBOT_PG_DURABLE` is set: `microbot-bench` sets it,
//! so its PostgreSQL figures are durable-commit figures.
//!
//! Where PostgreSQL is not installed, the PostgreSQL tests fail, unless the
//! operator opted out explicitly with `MICROBOT_NO_POSTGRES=1` (refused
//! under CI, `CI=true`): then each one says it skipped and returns.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// A running cluster.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    run_as: Option<String>,
}

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// Where the server binaries are: `$MICROBOT_PG_BINDIR`, else the newest
/// `/usr/lib/postgresql/*/bin`, else `initdb` on `$PATH`.
fn find_bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MICROBOT_PG_BINDIR") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(path);
                c
            }
            None => Command::new(path),
        }
    }

    fn start() -> Result<Cluster, String> {
        let bin = find_bindir().ok_or("PostgreSQL server binaries (initdb, pg_ctl) not found")?;
        let is_root = nix::unistd::geteuid().is_root();
        let dir = tempfile::Builder::new()
            .prefix("microbot-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep();
        let mut cluster = Cluster {
            bin,
            dir,
            port: 0,
            run_as: is_root.then(|| "postgres".to_string()),
        };
        if is_root {
            let status = Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(&cluster.dir)
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err("chown of the cluster dir to postgres failed".into());
            }
        }
        cluster.spawn_reaper();
        let data = cluster.dir.join("data");
        run(cluster
            .command("initdb")
            .args([
                "-A",
                "trust",
                "--no-sync",
                "-U",
                "microbot",
                "-E",
                "UTF8",
                "--locale",
                "C",
            ])
            .arg("-D")
            .arg(&data))?;
        // A port can be taken between probing and binding: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = free_port();
            // Tests run fast and unsafe; benchmarks ask for durable commits.
            let durability = if std::env::var_os("MICROBOT_PG_DURABLE").is_some() {
                "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
            } else {
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            };
            let opts = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 {durability} -c max_connections=300",
                cluster.port,
                cluster.dir.display()
            );
            match run(cluster
                .command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-o")
                .arg(&opts)
                .arg("-l")
                .arg(cluster.dir.join("server.log"))
                .args(["-w", "-t", "60", "start"]))
            {
                Ok(()) => return Ok(cluster),
                Err(e) => last = e,
            }
        }
        Err(format!("pg_ctl start failed: {last}"))
    }

    /// Stops the server and removes the directory once this process exits.
    fn spawn_reaper(&self) {
        let pid = std::process::id();
        let stop = match &self.run_as {
            Some(user) => format!("runuser -u {user} -- "),
            None => String::new(),
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {stop}{pg_ctl} -D {dir}/data stop -m immediate >/dev/null 2>&1; rm -rf {dir}",
            pg_ctl = self.bin.join("pg_ctl").display(),
            dir = self.dir.display(),
        );
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        // Deliberately not waited for: it must outlive this process.
        #[allow(clippy::zombie_processes)]
        let _reaper = cmd.spawn().expect("spawn the cluster reaper");
    }

    /// Creates a new, empty database and returns its URL.
    pub fn create_database(&self) -> String {
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed)
        );
        run(self
            .command("createdb")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "microbot",
            ])
            .arg(&name))
        .expect("createdb");
        self.url(&name)
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://microbot@127.0.0.1:{}/{name}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} exited with {}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// True when the operator opted out of the PostgreSQL tests explicitly
/// (`MICROBOT_NO_POSTGRES=1`). Never under CI.
pub fn opted_out() -> bool {
    let out = std::env::var("MICROBOT_NO_POSTGRES").is_ok_and(|v| !v.is_empty() && v != "0");
    assert!(
        !(out && crate::in_ci()),
        "MICROBOT_NO_POSTGRES is refused under CI: the PostgreSQL tests must run"
    );
    out
}

/// The process's cluster, started on first use. `None` only where the
/// operator opted out (`MICROBOT_NO_POSTGRES=1`); a cluster that cannot
/// start is a panic, so a missing PostgreSQL never passes for a green run.
pub fn cluster() -> Option<&'static Cluster> {
    CLUSTER
        .get_or_init(|| {
            if opted_out() {
                return None;
            }
            match Cluster::start() {
                Ok(c) => Some(c),
                Err(e) => panic!(
                    "PostgreSQL is required for this test: {e}\n\
                     install postgresql-15, or opt out explicitly with MICROBOT_NO_POSTGRES=1"
                ),
            }
        })
        .as_ref()
}

/// Prints why a PostgreSQL test returns without running (the opt-out).
pub fn say_skipped(test: &str) {
    eprintln!("SKIPPED {test} on PostgreSQL: MICROBOT_NO_POSTGRES is set");
}

/// A URL of a fresh database, or `None` where the operator opted out.
pub fn fresh_database_url() -> Option<String> {
    cluster().map(Cluster::create_database)
}
