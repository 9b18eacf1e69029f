//! Workload 4, control latency: durable `template create` over the socket
//! (p50/p99 of the RPC) and the whole-process time of `microbotctl status`,
//! against the real release daemon.

use std::time::Instant;

use microbot_proto::client::Client;
use microbot_proto::v1::CreateTemplateRequest;
use microbot_tests::daemon::{Db, TestDaemon, bin};

use crate::report::{Row, percentile};

pub async fn run(db: Db, creates: usize, status_runs: usize) -> anyhow::Result<Vec<Row>> {
    let d = TestDaemon::builder(db)
        .env("MICROBOT_DAEMON_LOG_LEVEL", "warn")
        .start();
    d.ctl_ok(&["account", "add", "bench", "--phone", "+15550000001"]);
    let client = Client::connect(&d.socket).await?;
    let mut templates = client.templates();
    let mut lat = Vec::with_capacity(creates);
    for i in 0..creates {
        let req = CreateTemplateRequest {
            account: "bench".into(),
            name: format!("t{i}"),
            chats: vec![format!("@benchchat{i}")],
            cron: Some(format!("{} 9 * * 1-5", i % 60)),
            text: format!("benchmark {i}"),
            ..Default::default()
        };
        let t = Instant::now();
        templates.create_template(req).await?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut proc_ms = Vec::with_capacity(status_runs);
    for _ in 0..status_runs {
        let t = Instant::now();
        let out = std::process::Command::new(bin("microbotctl"))
            .arg("--socket")
            .arg(&d.socket)
            .arg("status")
            .output()?;
        anyhow::ensure!(out.status.success(), "microbotctl status failed");
        proc_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let name = backend_name(db);
    Ok(vec![
        Row::new(
            "4 control",
            &format!("template create p50 ({name})"),
            "ms",
            percentile(&mut lat, 50.0),
            "≤ 2 ms",
        ),
        Row::new(
            "4 control",
            &format!("template create p99 ({name})"),
            "ms",
            percentile(&mut lat, 99.0),
            "≤ 10 ms",
        ),
        Row::new(
            "4 control",
            &format!("`microbotctl status` process p50 ({name})"),
            "ms",
            percentile(&mut proc_ms, 50.0),
            "-",
        ),
    ])
}

pub fn backend_name(db: Db) -> &'static str {
    match db {
        Db::Sqlite => "sqlite",
        Db::Postgres => "postgres",
    }
}
