//! Several daemons on one PostgreSQL, through the real binaries in dry-run
//! mode (docs/ARCHITECTURE.md "Several nodes"): three nodes share `every
//! 1s` templates over six accounts while one node at a time is `kill -9`ed
//! and restarted, and a node cut off from PostgreSQL goes silent before its
//! lease can expire while another takes its accounts over.
//!
//! Each slot is sent under one `random_id` only: the union of the nodes'
//! dry-run ledgers never holds a (template, chat, slot) with two different
//! `random_id`s. A slot sent by two nodes under the same `random_id` (a
//! re-send after a takeover, de-duplicated by Telegram) is allowed and
//! counted.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use microbot_tests::daemon::{Db, TestDaemon};
use microbot_tests::proxy::TcpProxy;
use serde_json::Value;

const ACCOUNTS: usize = 6;
/// Short leases so a dead node's accounts move within seconds.
const LEASES: &str = "[telegram]\nmode = \"dry-run\"\nrate_limit_per_minute = 600\n\
                      [cluster]\nlease = \"4s\"\nrenew = \"2500ms\"\nretry = \"500ms\"\n";

/// One node: its daemon and its dry-run ledger.
struct Node {
    daemon: TestDaemon,
    ledger: PathBuf,
}

fn node(url: &str, extra: &str) -> Node {
    let daemon = TestDaemon::builder(Db::Postgres)
        .env("MICROBOT_DATABASE_URL", url)
        .config(&format!("{LEASES}{extra}"))
        .start();
    let ledger = daemon.state_dir.join("dry-run-ledger.jsonl");
    Node { daemon, ledger }
}

fn setup(d: &TestDaemon) {
    for a in 0..ACCOUNTS {
        let name = format!("acct{a}");
        d.ctl_ok(&["account", "add", &name, "--phone", "+905321234567"]);
        let login = d.ctl_stdin(&["account", "login", &name], "22222\n");
        assert!(login.status.success(), "login: {login:?}");
        d.ctl_ok(&[
            "template",
            "create",
            "--account",
            &name,
            "--name",
            "tick",
            "--chat",
            &format!("@room_{a}"),
            "--every",
            "1s",
            "--text",
            "tick",
            "--misfire",
            "all",
        ]);
    }
}

/// Every ledger line of every node: (template, chat, slot second) → random_ids,
/// and per key how many lines carry it.
struct Union {
    ids: BTreeMap<(String, String, i64), BTreeSet<i64>>,
    lines: HashMap<(String, String, i64), usize>,
}

fn read_union(nodes: &[&Node]) -> Union {
    let mut u = Union {
        ids: BTreeMap::new(),
        lines: HashMap::new(),
    };
    for n in nodes {
        for e in ledger(&n.ledger) {
            let key = (
                e["template_id"].to_string(),
                e["chat"].as_str().unwrap().to_string(),
                slot_secs(&e["slot"]),
            );
            u.ids
                .entry(key.clone())
                .or_default()
                .insert(e["random_id"].as_i64().unwrap());
            *u.lines.entry(key).or_default() += 1;
        }
    }
    u
}

fn ledger(path: &PathBuf) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn slot_secs(v: &Value) -> i64 {
    v.as_str()
        .unwrap()
        .parse::<DateTime<Utc>>()
        .unwrap()
        .timestamp()
}

/// Disables every template, waits for the outbox to drain, and checks the
/// deliveries: every row ended sent or missed (or was withdrawn by the
/// final disable), and each template's slots are contiguous — none lost.
fn settle_and_check(d: &TestDaemon) -> usize {
    let list = d.ctl_json(&["template", "list"]);
    for t in list.as_array().unwrap() {
        d.ctl_ok(&["template", "disable", &t["id"].to_string()]);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let rows = loop {
        let rows = d.ctl_json(&["deliveries", "list", "--limit", "0"]);
        let open = rows
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["state"] == "pending" || r["state"] == "sending")
            .count();
        if open == 0 {
            break rows;
        }
        assert!(Instant::now() < deadline, "{open} deliveries still open");
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut slots: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let rows = rows.as_array().unwrap();
    for r in rows {
        let state = r["state"].as_str().unwrap();
        let withdrawn = state == "cancelled"
            && r["error"]
                .as_str()
                .is_some_and(|e| e.contains("disabled before this slot"));
        assert!(
            state == "sent" || state == "missed" || withdrawn,
            "lost delivery: {r}"
        );
        if !withdrawn {
            slots
                .entry(r["template_id"].to_string())
                .or_default()
                .push(slot_secs(&r["slot"]));
        }
    }
    for (t, mut s) in slots {
        s.sort_unstable();
        let gaps: Vec<_> = s.windows(2).filter(|w| w[1] - w[0] != 1).collect();
        assert!(
            gaps.is_empty(),
            "template {t}: slots missing between {gaps:?}"
        );
    }
    rows.len()
}

fn three_nodes_kill9(run_for: Duration) {
    let a = node(&fresh_url(), "");
    let url = a.daemon.db_url.clone();
    setup(&a.daemon);
    let b = node(&url, "");
    let c = node(&url, "");
    let mut nodes = [a, b, c];
    let started = Instant::now();
    let mut victim = 0;
    let mut kills = 0;
    while started.elapsed() < run_for {
        std::thread::sleep(Duration::from_millis(2500 + 700 * (kills % 3) as u64));
        // The next life appends to the same ledger file.
        let n = &mut nodes[victim];
        n.daemon.kill9();
        n.daemon.spawn().expect("restart after kill -9");
        kills += 1;
        victim = (victim + 1) % nodes.len();
    }
    let rows = settle_and_check(&nodes[0].daemon);
    for n in &mut nodes {
        n.daemon.terminate();
    }
    let u = read_union(&nodes.iter().collect::<Vec<_>>());
    let twice: Vec<_> = u.ids.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        twice.is_empty(),
        "slots sent under two random_ids: {:?}",
        &twice[..twice.len().min(5)]
    );
    let resent = u.lines.values().filter(|n| **n > 1).count();
    assert!(
        u.ids.len() >= ACCOUNTS * 10,
        "the nodes sent something: {} slots",
        u.ids.len()
    );
    eprintln!(
        "failover: {kills} kills, {} slots sent, {rows} deliveries, {resent} re-sends \
         de-duplicated by random_id",
        u.ids.len()
    );
}

fn fresh_url() -> String {
    microbot_tests::pg::fresh_database_url().expect("PostgreSQL available")
}

#[test]
fn three_postgres_nodes_kill9_every_slot_once_under_one_random_id() {
    if microbot_tests::pg::cluster().is_none() {
        return microbot_tests::pg::say_skipped(
            "three_postgres_nodes_kill9_every_slot_once_under_one_random_id",
        );
    }
    three_nodes_kill9(Duration::from_secs(60));
}

/// The long run: `cargo test -p microbot-tests --test it failover_long -- --ignored`.
#[test]
#[ignore = "long soak (about 10 minutes); run on demand"]
fn failover_long_three_postgres_nodes_kill9() {
    if microbot_tests::pg::cluster().is_none() {
        return microbot_tests::pg::say_skipped("failover_long_three_postgres_nodes_kill9");
    }
    three_nodes_kill9(Duration::from_secs(600));
}

/// A node whose PostgreSQL link is cut stops sending before its lease can
/// expire; the other node takes the accounts over once it has.
#[test]
fn a_node_cut_off_from_postgres_goes_silent_and_another_takes_over() {
    if microbot_tests::pg::cluster().is_none() {
        return microbot_tests::pg::say_skipped(
            "a_node_cut_off_from_postgres_goes_silent_and_another_takes_over",
        );
    }
    let url = fresh_url();
    let pg_port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|s| s.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port in the URL");
    let proxy = TcpProxy::start(([127, 0, 0, 1], pg_port).into());
    let cut = node(&proxy.rewrite_url(&url, pg_port), "");
    setup(&cut.daemon);
    // The cut node holds all six before the other starts.
    wait_until("the first node holds every account", || {
        held_by_each(&cut.daemon).values().sum::<usize>() == ACCOUNTS
    });
    let other = node(&url, "");
    wait_until("both nodes hold a share", || {
        held_by_each(&other.daemon).len() == 2
    });
    let before_cut = ledger(&cut.ledger).len();
    assert!(before_cut > 0 || !ledger(&other.ledger).is_empty());
    let t_cut = Utc::now();
    proxy.cut();
    // The other node ends up holding every account.
    wait_until("the other node takes every account", || {
        let h = held_by_each(&other.daemon);
        h.len() == 1 && h.values().sum::<usize>() == ACCOUNTS
    });
    let t_taken = Utc::now();
    // Let the takeover run a few slots, then check the cut node's ledger.
    std::thread::sleep(Duration::from_secs(3));
    let renew = chrono::Duration::milliseconds(2500);
    let late: Vec<Value> = ledger(&cut.ledger)
        .into_iter()
        .filter(|e| {
            e["sent_at"]
                .as_str()
                .unwrap()
                .parse::<DateTime<Utc>>()
                .unwrap()
                > t_cut + renew + chrono::Duration::milliseconds(200)
        })
        .collect();
    assert!(
        late.is_empty(),
        "the cut node sent after its lease deadline: {late:?}"
    );
    let after: Vec<Value> = ledger(&other.ledger)
        .into_iter()
        .filter(|e| {
            e["sent_at"]
                .as_str()
                .unwrap()
                .parse::<DateTime<Utc>>()
                .unwrap()
                > t_taken
        })
        .collect();
    let accounts: BTreeSet<&str> = after.iter().filter_map(|e| e["account"].as_str()).collect();
    assert_eq!(
        accounts.len(),
        ACCOUNTS,
        "the other node sends for all: {accounts:?}"
    );
    eprintln!(
        "partition: the other node held every account {} ms after the cut",
        (t_taken - t_cut).num_milliseconds()
    );
    proxy.restore();
    let rows = settle_and_check(&other.daemon);
    let u = read_union(&[&cut, &other]);
    assert!(
        u.ids.values().all(|ids| ids.len() == 1),
        "a slot sent under two random_ids"
    );
    eprintln!("partition: {rows} deliveries, {} slots sent", u.ids.len());
}

/// Node id → accounts it holds, from `cluster status` (unexpired leases).
fn held_by_each(d: &TestDaemon) -> HashMap<String, usize> {
    let s = d.ctl_json(&["cluster", "status"]);
    let mut m = HashMap::new();
    for l in s["leases"].as_array().into_iter().flatten() {
        if l["expired"] == false
            && let Some(o) = l["owner"].as_str()
        {
            *m.entry(o.to_string()).or_default() += 1;
        }
    }
    m
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
