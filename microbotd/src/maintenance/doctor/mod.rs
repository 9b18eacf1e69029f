//! `microbotctl doctor`: the runbook 8.1 daily checks as one checklist
//! ([`run`]), each an OK / WARN / FAIL [`Check`] with a detail that says what
//! to do. Thresholds live in [`rules`].

mod certificate;
pub mod rules;
mod sessions;
mod telegram;

use std::path::Path;
use std::time::SystemTime;

use self::rules::Level;
use crate::context::Context;
use crate::maintenance::{backup, db};
use crate::store::states::{AccountState, DeliveryState};
use crate::store::{StoreError, on_pool, sqlite_path};

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub level: Level,
    pub detail: String,
}

fn check(name: &str, level: Level, detail: impl Into<String>) -> Check {
    Check {
        name: name.to_string(),
        level,
        detail: detail.into(),
    }
}

/// A check that could not read the database fails with the reason.
fn or_fail(name: &str, r: Result<Check, StoreError>) -> Check {
    r.unwrap_or_else(|e| check(name, Level::Fail, e.to_string()))
}

/// Runs every check.
pub async fn run(ctx: &Context) -> Vec<Check> {
    let mut checks = vec![check(
        "daemon",
        Level::Ok,
        format!(
            "microbotd {} up {} s",
            env!("CARGO_PKG_VERSION"),
            ctx.started.elapsed().as_secs()
        ),
    )];
    checks.push(match db::probe(&ctx.store).await {
        Ok(c) => check(
            "database",
            Level::Ok,
            format!(
                "{} reachable in {} ms, schema {}/{}",
                ctx.store.backend().as_str(),
                c.latency.as_millis(),
                c.schema_version,
                c.latest_schema_version
            ),
        ),
        Err(e) => check("database", Level::Fail, e),
    });
    checks.push(disk("disk (state dir)", &ctx.config.daemon.state_dir));
    if let Some(file) = sqlite_path(&ctx.config.database.url)
        && let Some(dir) = file.parent()
    {
        checks.push(disk("disk (database)", dir));
    }
    let now_ms = crate::store::to_ms(ctx.now());
    checks.push(or_fail("deliveries (24 h)", deliveries(ctx, now_ms).await));
    let (accounts, limits) = accounts(ctx, now_ms).await.unwrap_or_else(|e| {
        (
            check("accounts", Level::Fail, e.to_string()),
            check("telegram limits", Level::Fail, e.to_string()),
        )
    });
    checks.push(accounts);
    checks.push(or_fail(
        "active sessions",
        sessions::active_sessions(ctx).await,
    ));
    checks.push(or_fail(
        "sealed sessions",
        sessions::sealed_sessions(ctx).await,
    ));
    checks.push(limits);
    if ctx.leases.is_cluster() {
        checks.push(or_fail("account leases", leases(ctx).await));
    }
    checks.extend(telegram::checks(ctx).await);
    checks.push(or_fail("retention", retention(ctx, now_ms).await));
    checks.push(backups(&ctx.config.backup.dir, SystemTime::now()));
    checks.extend(certificate::server_certificate(
        &ctx.config.control,
        ctx.now().timestamp(),
    ));
    checks.push(or_fail(
        "database bloat",
        db::bloat(&ctx.store)
            .await
            .map(|(pct, detail)| match rules::bloat(pct) {
                Level::Ok => check("database bloat", Level::Ok, detail),
                l => check(
                    "database bloat",
                    l,
                    format!("{detail}: run microbotctl db vacuum"),
                ),
            }),
    ));
    let (level, detail) = rules::heartbeat(ctx.heartbeat.last(), now_ms, ctx.started.elapsed());
    checks.push(check("dispatcher", level, detail));
    checks
}

/// Free space on the filesystem holding `dir` (statvfs).
fn disk(name: &str, dir: &Path) -> Check {
    match nix::sys::statvfs::statvfs(dir) {
        Ok(s) => {
            let total = s.blocks() as f64 * s.fragment_size() as f64;
            let free = s.blocks_available() as f64 * s.fragment_size() as f64;
            let pct = if total > 0.0 {
                free * 100.0 / total
            } else {
                0.0
            };
            check(
                name,
                rules::disk(pct),
                format!(
                    "{:.0} % free ({} MiB) on {}",
                    pct,
                    (free / 1_048_576.0) as u64,
                    dir.display()
                ),
            )
        }
        Err(e) => check(name, Level::Fail, format!("{}: {e}", dir.display())),
    }
}

/// Failed and missed deliveries in the last 24 hours.
async fn deliveries(ctx: &Context, now_ms: i64) -> Result<Check, StoreError> {
    let since = now_ms - 24 * 3600 * 1000;
    let sql = format!(
        "SELECT COALESCE(SUM(CASE WHEN state = {} THEN 1 ELSE 0 END), 0),
                CAST(COALESCE(SUM(CASE WHEN state = {} THEN slots ELSE 0 END), 0) AS BIGINT)
         FROM deliveries WHERE updated_at >= $1",
        DeliveryState::Failed.sql(),
        DeliveryState::Missed.sql()
    );
    let (failed, missed): (i64, i64) = on_pool!(ctx.store, p => sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(since).fetch_one(p).await)?;
    let name = "deliveries (24 h)";
    Ok(if failed + missed == 0 {
        check(name, Level::Ok, "no failed or missed deliveries")
    } else {
        check(
            name,
            Level::Warn,
            format!(
                "{failed} failed, {missed} missed: microbotctl deliveries list --state {} --since 24h",
                DeliveryState::Failed
            ),
        )
    })
}

/// The delivery log's retention: the setting, the last prune and the
/// oldest finished row (which should never be much older than the setting).
async fn retention(ctx: &Context, now_ms: i64) -> Result<Check, StoreError> {
    let name = "retention";
    let days = ctx.config.retention.deliveries_days;
    let oldest = ctx.store.oldest_finished_delivery().await?;
    let age_days = oldest.map(|at| (now_ms - at).max(0) / 86_400_000);
    let oldest_text = match age_days {
        Some(d) => format!("oldest finished delivery {d} d old"),
        None => "no finished deliveries".to_string(),
    };
    if days == 0 {
        return Ok(check(
            name,
            Level::Ok,
            format!("deliveries are kept forever (retention.deliveries_days = 0); {oldest_text}"),
        ));
    }
    let last = match crate::maintenance::retention::last_run(ctx).await? {
        Some((at, n)) => format!(
            "last pruned {} ({n} removed)",
            crate::store::from_ms(at).format("%Y-%m-%d %H:%M UTC")
        ),
        None => "not pruned yet".to_string(),
    };
    let level = rules::retention(days, age_days);
    Ok(check(
        name,
        level,
        format!("finished deliveries older than {days} d are pruned daily; {last}; {oldest_text}"),
    ))
}

/// (name, state, flood_wait_until) of one account.
type AccountFacts = (String, AccountState, Option<i64>);

/// Logged-out accounts, and accounts Telegram is holding back.
async fn accounts(ctx: &Context, now_ms: i64) -> Result<(Check, Check), StoreError> {
    let rows: Vec<AccountFacts> = on_pool!(ctx.store, p => sqlx::query_as(
        "SELECT name, state, flood_wait_until FROM accounts ORDER BY name"
    ).fetch_all(p).await)?;
    let names = |pred: &dyn Fn(&AccountFacts) -> bool| -> Vec<String> {
        rows.iter()
            .filter(|r| pred(r))
            .map(|r| r.0.clone())
            .collect()
    };
    let active = names(&|r| r.1 == AccountState::Active).len();
    let out = names(&|r| r.1 == AccountState::LoggedOut);
    let accounts = if out.is_empty() {
        check(
            "accounts",
            Level::Ok,
            format!("{active} active of {}, none logged out", rows.len()),
        )
    } else {
        check(
            "accounts",
            Level::Warn,
            format!(
                "{active} active, {} logged out ({}): microbotctl account login NAME",
                out.len(),
                out.join(", ")
            ),
        )
    };
    let flood = names(&|r| r.2.is_some_and(|u| u > now_ms));
    let limited = names(&|r| r.1 == AccountState::Limited);
    let limits = if flood.is_empty() && limited.is_empty() {
        check(
            "telegram limits",
            Level::Ok,
            "no account in flood wait or limited",
        )
    } else {
        check(
            "telegram limits",
            Level::Warn,
            format!(
                "flood wait: [{}], limited: [{}] (microbotctl account resume NAME after review)",
                flood.join(", "),
                limited.join(", ")
            ),
        )
    };
    Ok((accounts, limits))
}

/// PostgreSQL: accounts no node holds (nothing sends for them).
async fn leases(ctx: &Context) -> Result<Check, StoreError> {
    let name = "account leases";
    let unheld = ctx.store.unheld_accounts().await?;
    Ok(if unheld.is_empty() {
        check(name, Level::Ok, "every account is held by a node")
    } else {
        check(
            name,
            Level::Warn,
            format!(
                "nobody holds {} ({}): a live node takes them within cluster.lease + \
                 cluster.retry; if this persists, see microbotctl cluster status",
                unheld.len(),
                unheld.join(", ")
            ),
        )
    })
}

/// The age of the newest `microbot-*.tar.gz` in `dir`.
pub fn backups(dir: &Path, now: SystemTime) -> Check {
    let name = "backups";
    let newest = std::fs::read_dir(dir).ok().and_then(|entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| backup::is_backup_name(&e.file_name().to_string_lossy()))
            .filter_map(|e| e.metadata().ok()?.modified().ok())
            .max()
    });
    let age = newest.map(|t| now.duration_since(t).unwrap_or_default());
    let level = rules::backup_age(age);
    let detail = match age {
        None => format!(
            "no backup in {}: microbotctl backup create --dir {}",
            dir.display(),
            dir.display()
        ),
        Some(a) => format!(
            "newest backup in {} is {} h old",
            dir.display(),
            a.as_secs() / 3600
        ),
    };
    check(name, level, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn backup_dir_ages() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        assert_eq!(backups(dir.path(), now).level, Level::Fail);
        assert_eq!(backups(&dir.path().join("missing"), now).level, Level::Fail);
        std::fs::write(dir.path().join("microbot-20261128T053000Z.tar.gz"), b"x").unwrap();
        std::fs::write(dir.path().join("unrelated.tar.gz"), b"x").unwrap();
        assert_eq!(backups(dir.path(), now).level, Level::Ok);
        let later = now + Duration::from_secs(2 * 24 * 3600);
        assert_eq!(backups(dir.path(), later).level, Level::Warn);
        let much_later = now + Duration::from_secs(8 * 24 * 3600);
        assert_eq!(backups(dir.path(), much_later).level, Level::Fail);
    }
}
