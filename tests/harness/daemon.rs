//! [`TestDaemon`]: the real `microbotd` binary on a temp state dir and
//! socket, driven by the real `microbotctl`.
//!
//! Readiness comes from the daemon itself: the harness plays systemd's
//! `NOTIFY_SOCKET` and waits for `READY=1`, so no test sleeps for a socket.

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Which database a test daemon uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    /// The backends a benchmark measures: SQLite, plus PostgreSQL unless
    /// the operator opted out. Tests use [`per_backend!`](crate::per_backend)
    /// instead, so each backend is its own test.
    pub fn all() -> Vec<Db> {
        let mut v = vec![Db::Sqlite];
        if crate::pg::cluster().is_some() {
            v.push(Db::Postgres);
        }
        v
    }
}

/// The directory holding the built binaries (`target/debug`), found from the
/// test executable's own path (`target/debug/deps/it-…`), or
/// `$MICROBOT_BIN_DIR`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MICROBOT_BIN_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf();
    for bin in ["microbotd", "microbotctl"] {
        assert!(
            dir.join(bin).exists(),
            "{} is missing: build the binaries first (cargo build --workspace --bins)",
            dir.join(bin).display()
        );
    }
    dir
}

/// Path of one built binary.
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// A daemon under test. Killed (SIGKILL) on drop if still running.
pub struct TestDaemon {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    pub config_path: PathBuf,
    pub db_url: String,
    child: Option<Child>,
    stderr_path: PathBuf,
    notify: UnixDatagram,
    notify_path: PathBuf,
    extra_env: Vec<(String, String)>,
    /// Every notify datagram received so far, in order.
    notifications: Vec<String>,
}

/// Builder for [`TestDaemon`].
pub struct Builder {
    db: Db,
    config_extra: String,
    env: Vec<(String, String)>,
}

impl Builder {
    /// Adds TOML to the generated config (whole sections, e.g. `[scheduler]…`).
    pub fn config(mut self, toml: &str) -> Self {
        self.config_extra.push_str(toml);
        self.config_extra.push('\n');
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Writes the config and starts the daemon; panics if it does not get ready.
    pub fn start(self) -> TestDaemon {
        let d = self.prepare();
        let mut d = d;
        d.spawn().expect("daemon did not become ready");
        d
    }

    /// Writes the config but does not start the daemon.
    pub fn prepare(self) -> TestDaemon {
        let dir = tempfile::Builder::new()
            .prefix("microbot-it-")
            .tempdir()
            .unwrap();
        let socket = dir.path().join("run/control.sock");
        let state_dir = dir.path().join("state");
        let db_url = match self.db {
            Db::Sqlite => format!("sqlite://{}", state_dir.join("microbot.db").display()),
            Db::Postgres => crate::pg::fresh_database_url().expect("PostgreSQL available"),
        };
        let config_path = dir.path().join("microbotd.toml");
        let config = format!(
            "[daemon]\nsocket = {socket:?}\nstate_dir = {state:?}\nlog_level = \"info,microbotd=debug\"\n\n\
             [database]\nurl = {db_url:?}\nmax_connections = 5\n\n{extra}",
            socket = socket.display().to_string(),
            state = state_dir.display().to_string(),
            extra = if self.config_extra.contains("[telegram]") {
                self.config_extra.clone()
            } else {
                format!("[telegram]\nmode = \"dry-run\"\n\n{}", self.config_extra)
            },
        );
        std::fs::write(&config_path, config).unwrap();
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        TestDaemon {
            stderr_path: dir.path().join("daemon.log"),
            dir,
            socket,
            state_dir,
            config_path,
            db_url,
            child: None,
            notify,
            notify_path,
            extra_env: self.env,
            notifications: Vec::new(),
        }
    }
}

impl TestDaemon {
    pub fn builder(db: Db) -> Builder {
        Builder {
            db,
            config_extra: String::new(),
            env: Vec::new(),
        }
    }

    /// A dry-run daemon on `db` with default settings.
    pub fn start(db: Db) -> TestDaemon {
        Self::builder(db).start()
    }

    /// Starts (or restarts) the binary and waits for `READY=1`.
    pub fn spawn(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "daemon already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr_path)
            .unwrap();
        let mut cmd = Command::new(bin("microbotd"));
        cmd.arg("--config")
            .arg(&self.config_path)
            .env("NOTIFY_SOCKET", &self.notify_path)
            .env_remove("RUST_LOG")
            .env_remove("LISTEN_FDS")
            .env_remove("LISTEN_PID")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|e| e.to_string())?;
        self.child = Some(child);
        self.wait_for_notify("READY=1", Duration::from_secs(60))
    }

    /// Waits for a notify datagram containing `needle`; fails early if the
    /// daemon exits.
    pub fn wait_for_notify(&mut self, needle: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.notify.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.notifications.push(msg.clone());
                if msg.lines().any(|l| l == needle || l.starts_with(needle)) {
                    return Ok(());
                }
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!("microbotd exited with {status}:\n{}", self.log()));
            }
        }
        Err(format!("no {needle} within {timeout:?}:\n{}", self.log()))
    }

    /// The notify datagrams received so far (each may hold several lines).
    pub fn notifications(&self) -> &[String] {
        &self.notifications
    }

    /// The `NOTIFY_SOCKET` path the daemon is given.
    pub fn notify_path(&self) -> &Path {
        &self.notify_path
    }

    /// Everything the daemon wrote to stdout/stderr so far.
    /// Every line of the dry-run ledger, parsed (none before the first send).
    pub fn ledger(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.state_dir.join("dry-run-ledger.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("ledger line {l}: {e}")))
            .collect()
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.stderr_path) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL, no cleanup: a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("daemon running");
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = c.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!(
                    "microbotd did not exit within 30 s of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal to the running daemon.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = self.pid().expect("daemon running");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).unwrap();
    }

    /// A `microbotctl` command pointed at this daemon's socket.
    pub fn ctl_command(&self) -> Command {
        let mut cmd = Command::new(bin("microbotctl"));
        cmd.arg("--socket")
            .arg(&self.socket)
            .env_remove("MICROBOT_SOCKET");
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs `microbotctl ARGS…`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        self.ctl_command().args(args).output().unwrap()
    }

    /// Runs `microbotctl ARGS…` with `input` on stdin.
    pub fn ctl_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .ctl_command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs `microbotctl -o json ARGS…`, asserts success and parses stdout.
    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = vec!["-o", "json"];
        full.extend_from_slice(args);
        let out = self.ctl(&full);
        assert_ok(&out, &full);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{full:?}: stdout is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs `microbotctl ARGS…` and asserts it succeeded; returns stdout.
    /// Adds account `name` and logs it in through the dry-run transport
    /// (whose login code is 22222), failing the test if either is refused.
    pub fn add_logged_in(&self, name: &str, phone: &str) {
        self.ctl_ok(&["account", "add", name, "--phone", phone]);
        let login = self.ctl_stdin(&["account", "login", name], "22222\n");
        assert_ok(&login, &["account", "login", name]);
    }

    pub fn ctl_ok(&self, args: &[&str]) -> String {
        let out = self.ctl(args);
        assert_ok(&out, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Panics with the command's output unless it exited 0.
pub fn assert_ok(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "microbotctl {args:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The message lines (not pins or deletions) of one template among
/// [`TestDaemon::ledger`]'s.
pub fn ledger_messages(lines: &[serde_json::Value], template: i64) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter(|l| l.get("action").is_none() && l["template_id"] == template)
        .cloned()
        .collect()
}
