//! Runs the Python peers (bench/peers/peer_bench.py in its own virtualenv,
//! created from PyPI by bench/peers/setup.sh) and reads their JSON lines.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// Creates the virtualenv once; returns false (with a message) when it cannot.
pub fn setup() -> bool {
    let status = Command::new("bash").arg(peers_dir().join("setup.sh")).status();
    match status {
        Ok(s) if s.success() => true,
        other => {
            eprintln!("bench: peers unavailable (bench/peers/setup.sh: {other:?}); peer columns stay empty");
            false
        }
    }
}

/// Runs one peer workload; `None` when it fails.
pub fn run(args: &[&str]) -> Option<Value> {
    let python = peers_dir().join(".venv/bin/python");
    let out = Command::new(python)
        .arg(peers_dir().join("peer_bench.py"))
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("bench: peer {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
}

/// A number field of a peer result.
pub fn num(v: &Option<Value>, key: &str) -> Option<f64> {
    v.as_ref().and_then(|v| v.get(key)).and_then(Value::as_f64)
}
