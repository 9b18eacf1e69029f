//! `microbotctl stats` on a seeded delivery log, both backends: every row
//! of every grouping is checked against the seeded deliveries table.

use std::collections::BTreeMap;
use std::process::Command;

use microbot_tests::daemon::{Db, TestDaemon};
use serde_json::{Value, json};

const DAY: i64 = 86_400_000;
const STATES: [&str; 4] = ["sent", "failed", "missed", "cancelled"];

/// SQL with the backend's own CLI (rows as `a|b` lines).
fn sql(d: &TestDaemon, stmt: &str) -> String {
    let out = if let Some(path) = d.db_url.strip_prefix("sqlite://") {
        Command::new("sqlite3")
            .args(["-cmd", ".timeout 10000", path, stmt])
            .output()
    } else {
        Command::new("psql")
            .args([d.db_url.as_str(), "-v", "ON_ERROR_STOP=1", "-Atqc", stmt])
            .output()
    }
    .expect("sqlite3 / psql installed");
    assert!(
        out.status.success(),
        "{stmt}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One seeded delivery.
#[derive(Debug, Clone)]
struct Seed {
    account: &'static str,
    account_id: i64,
    target_id: i64,
    template_id: i64,
    template: &'static str,
    slot: i64,
    state: &'static str,
    late_ms: i64,
    flood_waits: i64,
}

#[derive(Debug, Default, Clone)]
struct Expect {
    counts: BTreeMap<&'static str, i64>,
    flood_waits: i64,
    late: Vec<i64>,
}

fn nearest_rank(sorted: &[i64], p: usize) -> Value {
    if sorted.is_empty() {
        return Value::Null;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    json!(sorted[rank - 1] as f64 / 1000.0)
}

fn expected_fields(e: &Expect) -> Value {
    let mut late = e.late.clone();
    late.sort_unstable();
    let n = |s: &str| e.counts.get(s).copied().unwrap_or(0);
    json!({
        "sent": n("sent"),
        "failed": n("failed"),
        "missed": n("missed"),
        "cancelled": n("cancelled"),
        "open": 0,
        "flood_waits": e.flood_waits,
        "late_p50_s": nearest_rank(&late, 50),
        "late_p95_s": nearest_rank(&late, 95),
    })
}

fn group<K: Ord>(seeds: &[Seed], key: impl Fn(&Seed) -> K) -> BTreeMap<K, Expect> {
    let mut m: BTreeMap<K, Expect> = BTreeMap::new();
    for s in seeds {
        let e = m.entry(key(s)).or_default();
        *e.counts.entry(s.state).or_default() += 1;
        e.flood_waits += s.flood_waits;
        if s.state == "sent" {
            e.late.push(s.late_ms);
        }
    }
    m
}

fn utc_day(ms: i64) -> String {
    chrono_day(ms.div_euclid(DAY))
}

/// Days since the epoch as YYYY-MM-DD (civil-from-days, no chrono needed).
fn chrono_day(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn only(v: &Value, fields: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for f in fields {
        m.insert(f.to_string(), v[*f].clone());
    }
    Value::Object(m)
}

const COUNT_FIELDS: [&str; 8] = [
    "sent",
    "failed",
    "missed",
    "cancelled",
    "open",
    "flood_waits",
    "late_p50_s",
    "late_p95_s",
];

fn seed(d: &TestDaemon) -> Vec<Seed> {
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    d.ctl_ok(&["account", "add", "ops", "--phone", "+905321234568"]);
    let template = |account: &str, name: &str| {
        d.ctl_json(&[
            "template",
            "create",
            "--account",
            account,
            "--name",
            name,
            "--chat",
            "@ops_channel",
            "--cron",
            "0 9 * * *",
            "--text",
            "hi",
            "--inactive",
        ])["id"]
            .as_i64()
            .unwrap()
    };
    let account_id = |name: &str| {
        sql(d, &format!("SELECT id FROM accounts WHERE name = '{name}'"))
            .parse::<i64>()
            .unwrap()
    };
    let templates = [
        ("sales-tr", template("sales-tr", "morning"), "morning"),
        ("sales-tr", template("sales-tr", "evening"), "evening"),
        ("ops", template("ops", "report"), "report"),
    ];
    // The real target rows, so the delivery log's own listing finds them.
    let target_id = |account_id: i64| {
        sql(
            d,
            &format!("SELECT id FROM targets WHERE account_id = {account_id}"),
        )
        .parse::<i64>()
        .unwrap()
    };
    let now = now_ms();
    let mut seeds = Vec::new();
    for k in 0..5i64 {
        for (t, (account, tid, tname)) in templates.iter().enumerate() {
            let t = t as i64;
            let aid = account_id(account);
            for i in 0..((k + t) % 4 + 1) {
                let slot = now - k * DAY - (i + 1) * 60_000 - t * 1000 - 3_600_000;
                seeds.push(Seed {
                    account,
                    account_id: aid,
                    target_id: target_id(aid),
                    template_id: *tid,
                    template: tname,
                    slot,
                    state: STATES[((k + t + i) % 4) as usize],
                    late_ms: (k * 7 + i * 13 + t * 3) * 100,
                    flood_waits: i64::from((k + i) % 3 == 0),
                });
            }
        }
    }
    // Outside the default 30-day window: must not be counted.
    let old = Seed {
        slot: now - 40 * DAY,
        ..seeds[0].clone()
    };
    let mut values = Vec::new();
    for (n, s) in seeds.iter().chain([&old]).enumerate() {
        let sent_at = if s.state == "sent" {
            (s.slot + s.late_ms).to_string()
        } else {
            "NULL".into()
        };
        values.push(format!(
            "({}, {}, {}, {}, '{}', {}, 1, {}, {}, {}, {}, {})",
            s.account_id,
            s.template_id,
            s.target_id,
            s.slot,
            s.state,
            1000 + n,
            s.slot,
            s.slot,
            sent_at,
            s.flood_waits,
            s.flood_waits * 30,
        ));
    }
    sql(
        d,
        &format!(
            "INSERT INTO deliveries (account_id, template_id, target_id, slot, state, random_id,
                 attempts, created_at, updated_at, sent_at, flood_waits, flood_wait_seconds)
             VALUES {}",
            values.join(", ")
        ),
    );
    seeds
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn stats_match_the_seeded_delivery_log(db: Db) {
    let d = TestDaemon::start(db);
    let seeds = seed(&d);

    // Per day: one row per UTC day of the window, zeros included.
    let by_day = d.ctl_json(&["stats"]);
    let rows = by_day.as_array().unwrap();
    assert_eq!(rows.len(), 31, "{db:?}: {by_day}");
    let want = group(&seeds, |s| utc_day(s.slot));
    for r in rows {
        let day = r["day"].as_str().unwrap();
        let expected = want
            .get(day)
            .map(expected_fields)
            .unwrap_or_else(|| expected_fields(&Expect::default()));
        assert_eq!(only(r, &COUNT_FIELDS), expected, "{db:?} day {day}");
    }
    let seen: Vec<&str> = rows.iter().map(|r| r["day"].as_str().unwrap()).collect();
    for day in want.keys() {
        assert!(seen.contains(&day.as_str()), "{day} missing");
    }

    // Per account.
    let by_account = d.ctl_json(&["stats", "--by", "account"]);
    let want = group(&seeds, |s| s.account);
    assert_eq!(by_account.as_array().unwrap().len(), want.len());
    for r in by_account.as_array().unwrap() {
        let a = r["account"].as_str().unwrap();
        assert_eq!(
            only(r, &COUNT_FIELDS),
            expected_fields(&want[a]),
            "{db:?} {a}"
        );
    }

    // Per template, for one account.
    let by_template = d.ctl_json(&["stats", "--by", "template", "--account", "ops"]);
    let ops: Vec<Seed> = seeds
        .iter()
        .filter(|s| s.account == "ops")
        .cloned()
        .collect();
    let want = group(&ops, |s| (s.template_id, s.template));
    assert_eq!(by_template.as_array().unwrap().len(), want.len());
    for r in by_template.as_array().unwrap() {
        let key = (
            r["template_id"].as_i64().unwrap(),
            r["template"].as_str().unwrap(),
        );
        let w = want
            .iter()
            .find(|(k, _)| k.0 == key.0 && k.1 == key.1)
            .unwrap()
            .1;
        assert_eq!(r["account"], "ops");
        assert_eq!(only(r, &COUNT_FIELDS), expected_fields(w), "{db:?} {key:?}");
    }

    // The same deliveries the log lists.
    let listed = d.ctl_json(&["deliveries", "list", "--state", "sent", "--since", "30d"]);
    let total_sent: i64 = rows.iter().map(|r| r["sent"].as_i64().unwrap()).sum();
    assert_eq!(listed.as_array().unwrap().len() as i64, total_sent);

    // A shorter window.
    let recent = d.ctl_json(&["stats", "--since", "2d", "--by", "account"]);
    let cut = now_ms() - 2 * DAY;
    let want = group(
        &seeds
            .iter()
            .filter(|s| s.slot >= cut)
            .cloned()
            .collect::<Vec<_>>(),
        |s| s.account,
    );
    for r in recent.as_array().unwrap() {
        let a = r["account"].as_str().unwrap();
        assert_eq!(r["sent"], expected_fields(&want[a])["sent"], "{db:?} {a}");
    }

    let bad = d.ctl(&["stats", "--by", "week"]);
    assert_eq!(bad.status.code(), Some(2));
}
microbot_tests::per_backend!(stats_match_the_seeded_delivery_log);
