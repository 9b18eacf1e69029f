//! Runs the Python peers (bench/peers/peer_bench.py in its own virtualenv,
//! created from PyPI by bench/peers/setup.sh) and reads their JSON lines.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// Creates the virtualenv once; returns false (with a message) when it cannot.
pub fn setup() -> bool {
    let status = Command::new("bash")
        .arg(peers_dir().join("setup.sh"))
        .status();
    match status {
        Ok(s) if s.success() => true,
        other => {
            eprintln!(
                "bench: peers unavailable (bench/peers/setup.sh: {other:?}); peer columns stay empty"
            );
            false
        }
    }
}

/// Runs one peer workload; `None` when it fails or exceeds `limit` (then
/// it is killed: APScheduler cannot load the largest sizes in bounded time).
pub fn run(args: &[&str], limit: Duration) -> Option<Value> {
    let python = peers_dir().join(".venv/bin/python");
    let stderr = tempfile::NamedTempFile::new().ok()?;
    let mut child = Command::new(python)
        .arg(peers_dir().join("peer_bench.py"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr.reopen().ok()?)
        .spawn()
        .ok()?;
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("bench: peer {args:?} did not finish within {limit:?}; killed");
                return None;
            }
        }
    };
    let mut stdout = String::new();
    child.stdout.take()?.read_to_string(&mut stdout).ok()?;
    if !status.success() {
        let err = std::fs::read_to_string(stderr.path()).unwrap_or_default();
        eprintln!("bench: peer {args:?} failed: {err}");
        return None;
    }
    stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
}

/// A number field of a peer result.
pub fn num(v: &Option<Value>, key: &str) -> Option<f64> {
    v.as_ref().and_then(|v| v.get(key)).and_then(Value::as_f64)
}
