//! The Prometheus endpoint of the real daemon (`[metrics] listen`): every
//! family after a dry-run send, checked with a parser; and no TCP listener
//! at all when it is not configured.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use microbot_tests::daemon::{Db, TestDaemon};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `GET /metrics` over plain HTTP/1.1: (content type, body).
fn scrape(port: u16) -> (String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let ctype = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    (ctype, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
}

fn wait_for_sent(d: &TestDaemon) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = d.ctl_json(&["deliveries", "list", "--state", "sent"]);
        if !rows.as_array().unwrap().is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "no delivery was sent");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sample(scrape: &prometheus_parse::Scrape, name: &str, label: Option<(&str, &str)>) -> f64 {
    let s = scrape
        .samples
        .iter()
        .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
        .unwrap_or_else(|| panic!("{name} {label:?} missing"));
    match s.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("{name}: unexpected {other:?}"),
    }
}

fn every_family_is_served_after_a_dry_run_send(db: Db) {
    let port = free_port();
    let d = TestDaemon::builder(db)
        .config(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"))
        .start();
    d.add_logged_in("sales-tr", "+905321234567");
    d.ctl_ok(&[
        "template",
        "create",
        "--account",
        "sales-tr",
        "--name",
        "tick",
        "--chat",
        "@ops_channel",
        "--every",
        "1s",
        "--text",
        "tick",
    ]);
    wait_for_sent(&d);
    let (ctype, body) = scrape(port);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let parsed = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
    assert!(
        sample(
            &parsed,
            "microbot_deliveries_total",
            Some(("outcome", "sent"))
        ) >= 1.0,
        "{body}"
    );
    assert_eq!(
        sample(
            &parsed,
            "microbot_deliveries_total",
            Some(("outcome", "failed"))
        ),
        0.0
    );
    assert_eq!(
        sample(&parsed, "microbot_flood_wait_seconds_total", None),
        0.0
    );
    assert!(sample(&parsed, "microbot_send_duration_seconds_count", None) >= 1.0);
    assert!(sample(&parsed, "microbot_fire_lateness_seconds_count", None) >= 1.0);
    for histogram in [
        "microbot_send_duration_seconds",
        "microbot_fire_lateness_seconds",
    ] {
        assert!(
            parsed.samples.iter().any(|s| s.metric == histogram
                && matches!(&s.value, prometheus_parse::Value::Histogram(b) if !b.is_empty())),
            "{histogram} has no buckets: {body}"
        );
    }
    assert_eq!(
        sample(&parsed, "microbot_accounts", Some(("state", "active"))),
        1.0
    );
    assert_eq!(
        sample(&parsed, "microbot_accounts", Some(("state", "new"))),
        0.0
    );
    let pending = sample(
        &parsed,
        "microbot_outbox_deliveries",
        Some(("state", "pending")),
    );
    assert!(pending >= 0.0);
    let _ = sample(
        &parsed,
        "microbot_outbox_deliveries",
        Some(("state", "sending")),
    );
    let turned = sample(
        &parsed,
        "microbot_dispatcher_last_turn_timestamp_seconds",
        None,
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(turned > now - 3600.0 && turned <= now + 1.0, "{turned}");
    assert_eq!(sample(&parsed, "microbot_database_up", None), 1.0);
    let backend = match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    };
    assert_eq!(
        sample(&parsed, "microbot_build_info", Some(("backend", backend))),
        1.0
    );
    strict_openmetrics_check(&body);
}
microbot_tests::per_backend!(every_family_is_served_after_a_dry_run_send);

/// Python's `prometheus_client` OpenMetrics parser (strict: a malformed
/// exposition fails), when the example venv exists (`examples/python/setup.sh`).
fn strict_openmetrics_check(body: &str) {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/python/.venv/bin/python");
    if !py.exists() {
        assert!(
            !microbot_tests::in_ci(),
            "examples/python/setup.sh has not run"
        );
        eprintln!("skipping the strict OpenMetrics parse: run examples/python/setup.sh");
        return;
    }
    let mut child = Command::new(py)
        .args([
            "-c",
            "import sys\n\
             from prometheus_client.openmetrics.parser import text_string_to_metric_families\n\
             for f in text_string_to_metric_families(sys.stdin.read()):\n    print(f.name)\n",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "OpenMetrics parser: {}\n{body}",
        String::from_utf8_lossy(&out.stderr)
    );
    let families = String::from_utf8(out.stdout).unwrap();
    for want in [
        "microbot_deliveries",
        "microbot_send_duration_seconds",
        "microbot_fire_lateness_seconds",
        "microbot_flood_wait_seconds",
        "microbot_outbox_deliveries",
        "microbot_accounts",
        "microbot_dispatcher_last_turn_timestamp_seconds",
        "microbot_database_up",
        "microbot_build",
    ] {
        assert!(
            families.lines().any(|l| l == want),
            "{want} not parsed: {families}"
        );
    }
}

/// Inodes of the TCP sockets in this network namespace (v4 and v6).
fn tcp_inodes() -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            if let Some(inode) = line.split_whitespace().nth(9) {
                inodes.push(inode.to_string());
            }
        }
    }
    inodes
}

/// The socket inodes the process holds open.
fn socket_inodes(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect()
}

#[test]
fn nothing_listens_on_tcp_unless_configured() {
    let d = TestDaemon::start(Db::Sqlite);
    d.ctl_ok(&["status"]);
    let pid = d.pid().unwrap();
    let tcp = tcp_inodes();
    let ours = socket_inodes(pid);
    assert!(!ours.is_empty(), "the control socket at least");
    assert!(
        !ours.iter().any(|i| tcp.contains(i)),
        "microbotd holds a TCP socket without [metrics] listen"
    );
    // The check can see one: with the endpoint configured it finds it.
    let port = free_port();
    let m = TestDaemon::builder(Db::Sqlite)
        .config(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"))
        .start();
    let tcp = tcp_inodes();
    assert!(
        socket_inodes(m.pid().unwrap())
            .iter()
            .any(|i| tcp.contains(i))
    );
}

#[test]
fn a_taken_metrics_port_stops_start_up_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut d = TestDaemon::builder(Db::Sqlite)
        .config(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"))
        .prepare();
    let err = d.spawn().unwrap_err();
    assert!(
        err.contains(&format!("metrics.listen 127.0.0.1:{port}")),
        "{err}"
    );
}
