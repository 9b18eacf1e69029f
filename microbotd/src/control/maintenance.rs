//! The `Maintenance` service: `db check`, `db vacuum`, `doctor`, `audit`
//! and `log-level` (runbook 3, 5, 7.2, 8.1). The work lives in
//! [`crate::maintenance`]; this file checks callers and converts.

use microbot_proto::convert::timestamp_ms;
use microbot_proto::v1::{self, maintenance_server::Maintenance};
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::maintenance::{db, doctor};
use crate::store::audit::AuditFilter;

use super::audit::{audited, caller_of, require_admin};
use super::error::ApiError;

pub struct MaintenanceService {
    ctx: Context,
}

impl MaintenanceService {
    pub fn new(ctx: Context) -> Self {
        MaintenanceService { ctx }
    }
}

/// Levels a bare directive may name; anything else bare is a typo, not the
/// target it would silently become.
const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];

/// Checks `RUST_LOG`-style directives: each is a level or `TARGET=LEVEL`.
pub fn validate_log_level(directives: &str) -> Result<(), ApiError> {
    let bad = |reason: String| ApiError::invalid("level", reason);
    if directives.trim().is_empty() {
        return Err(bad("empty; e.g. info, debug or info,microbotd=debug".into()));
    }
    for d in directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        let level = match d.rsplit_once('=') {
            Some((_, level)) => level,
            None if d.contains("::") || d.contains('[') => continue,
            None => d,
        };
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(bad(format!(
                "\"{d}\": {level:?} is not a level (trace, debug, info, warn, error, off)"
            )));
        }
    }
    tracing_subscriber::EnvFilter::try_new(directives).map_err(|e| bad(e.to_string()))?;
    Ok(())
}

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn db_check(
        &self,
        _req: Request<v1::DbCheckRequest>,
    ) -> Result<Response<v1::DbCheckResponse>, Status> {
        let store = &self.ctx.store;
        let mut resp = v1::DbCheckResponse {
            backend: store.backend().as_str().into(),
            pool_max: self.ctx.config.database.max_connections,
            latest_schema_version: store.latest_schema_version(),
            ..Default::default()
        };
        let checked =
            tokio::time::timeout(std::time::Duration::from_secs(10), db::check(store)).await;
        match checked {
            Ok(Ok(c)) => {
                resp.reachable = true;
                resp.latency_micros = c.latency.as_micros() as u64;
                resp.schema_version = c.schema_version;
                resp.pool_size = c.pool_size;
                resp.pool_idle = c.pool_idle;
            }
            Ok(Err(e)) => resp.error = e.to_string(),
            Err(_) => resp.error = "no answer within 10 s".into(),
        }
        Ok(Response::new(resp))
    }

    async fn db_vacuum(
        &self,
        req: Request<v1::DbVacuumRequest>,
    ) -> Result<Response<v1::DbVacuumResponse>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "db.vacuum", "db vacuum").await?;
        let reindex = req.into_inner().reindex;
        let ctx = &self.ctx;
        audited(ctx, &caller, "db.vacuum", None, async {
            let v = db::vacuum(&ctx.store, reindex).await?;
            tracing::info!(
                took_ms = v.took.as_millis() as u64,
                before = v.size_before,
                after = v.size_after,
                reindex,
                "database vacuumed"
            );
            Ok(Response::new(v1::DbVacuumResponse {
                millis: v.took.as_millis() as u64,
                size_before: v.size_before,
                size_after: v.size_after,
                reindexed: reindex,
                backend: ctx.store.backend().as_str().into(),
            }))
        })
        .await
    }

    async fn doctor(
        &self,
        _req: Request<v1::DoctorRequest>,
    ) -> Result<Response<v1::DoctorResponse>, Status> {
        let checks = doctor::run(&self.ctx).await;
        Ok(Response::new(v1::DoctorResponse {
            ok: checks.iter().all(|c| c.level != doctor::rules::Level::Fail),
            checks: checks
                .into_iter()
                .map(|c| v1::DoctorCheck {
                    name: c.name,
                    result: c.level.as_str().into(),
                    detail: c.detail,
                })
                .collect(),
        }))
    }

    async fn list_audit(
        &self,
        req: Request<v1::ListAuditRequest>,
    ) -> Result<Response<v1::ListAuditResponse>, Status> {
        let r = req.into_inner();
        let since_ms = if r.since.trim().is_empty() {
            None
        } else {
            let d = crate::schedule::parse_duration(&r.since)
                .map_err(|e| ApiError::invalid("since", e.to_string()))?;
            if d.as_secs() > microbot_proto::MAX_SINCE_SECONDS as u64 {
                return Err(ApiError::invalid("since", microbot_proto::SINCE_TOO_FAR).into());
            }
            Some(crate::store::to_ms(self.ctx.now()) - d.as_millis() as i64)
        };
        let rows = self
            .ctx
            .store
            .audit_list(&AuditFilter {
                since_ms,
                uid: r.uid,
                limit: r.limit,
            })
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(v1::ListAuditResponse {
            entries: rows
                .into_iter()
                .map(|a| v1::AuditEntry {
                    id: a.id,
                    at: Some(timestamp_ms(a.at)),
                    uid: a.uid,
                    pid: a.pid,
                    method: a.method,
                    target: a.target.unwrap_or_default(),
                    result: a.result,
                    subject: a.subject.unwrap_or_default(),
                })
                .collect(),
        }))
    }

    async fn set_log_level(
        &self,
        req: Request<v1::SetLogLevelRequest>,
    ) -> Result<Response<v1::SetLogLevelResponse>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "log.set_level", "log-level").await?;
        let level = req.into_inner().level.trim().to_string();
        let ctx = &self.ctx;
        audited(ctx, &caller, "log.set_level", Some(level.clone()), async {
            validate_log_level(&level)?;
            let old = ctx.log.current();
            ctx.log
                .set(&level)
                .map_err(|e| ApiError::invalid("level", e))?;
            tracing::info!(old = %old, new = %level, "log level changed");
            Ok(Response::new(v1::SetLogLevelResponse {
                old_level: old,
                new_level: level.clone(),
            }))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels() {
        for ok in [
            "debug",
            "info,microbotd=trace",
            "WARN",
            "microbotd::store=debug",
        ] {
            assert!(validate_log_level(ok).is_ok(), "{ok}");
        }
        for bad in ["", "verbose", "microbotd=loud", "info,=x"] {
            let e = validate_log_level(bad).unwrap_err().to_string();
            assert!(e.starts_with("level: "), "{bad}: {e}");
        }
    }
}
