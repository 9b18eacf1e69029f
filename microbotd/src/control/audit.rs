//! Writing the audit trail: [`audited`] runs a mutating call and records
//! who made it, on what, and how it ended; [`require_admin`] and the guard
//! record every refusal (operator or outsider) with uid, method and reason,
//! and log it at WARN — runbook 7.2 counts these rows.

use std::future::Future;

use tonic::Status;

use crate::context::Context;

use super::caller::Caller;
use super::error::ApiError;

/// Runs `call` and writes one audit row with its result. An audit write
/// failure is logged, never hidden behind the call's own result.
pub async fn audited<T, F>(
    ctx: &Context,
    caller: &Caller,
    method: &str,
    target: Option<String>,
    call: F,
) -> Result<T, Status>
where
    F: Future<Output = Result<T, ApiError>>,
{
    let result = call.await;
    let outcome = match &result {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("{}: {e}", e.code_name()),
    };
    let at = crate::store::to_ms(ctx.now());
    if let Err(e) = ctx
        .store
        .audit_append(&crate::store::audit::NewAudit {
            at_ms: at,
            uid: caller.uid,
            pid: caller.pid,
            subject: caller.subject.as_deref(),
            method,
            target: target.as_deref(),
            result: &outcome,
        })
        .await
    {
        tracing::error!(method, error = %e, "cannot write the audit row");
    }
    result.map_err(Status::from)
}

/// Writes the audit row and the WARN line of a refused call. Never fails:
/// an audit write error is logged.
pub async fn record_refusal(
    store: &crate::store::Store,
    at: chrono::DateTime<chrono::Utc>,
    (uid, pid, subject): (u32, Option<i32>, Option<&str>),
    method: &str,
    reason: &str,
) {
    tracing::warn!(uid, pid, subject, method, reason, "refused control call");
    let outcome = format!("PERMISSION_DENIED: {reason}");
    if let Err(e) = store
        .audit_append(&crate::store::audit::NewAudit {
            at_ms: crate::store::to_ms(at),
            uid,
            pid,
            subject,
            method,
            target: None,
            result: &outcome,
        })
        .await
    {
        tracing::error!(method, error = %e, "cannot write the audit row");
    }
}

/// Refuses — audited, with a WARN line — unless the caller is an admin.
/// `method` is the audit name (`backup.create`), `what` the operator's
/// words (`backup create`).
pub async fn require_admin(
    ctx: &Context,
    caller: &Caller,
    method: &str,
    what: &str,
) -> Result<(), Status> {
    let refused = caller.require_admin(what);
    if let Err(status) = &refused {
        record_refusal(
            &ctx.store,
            ctx.now(),
            (caller.uid, caller.pid, caller.subject.as_deref()),
            method,
            status.message(),
        )
        .await;
    }
    refused
}

/// The caller of a request, put there by the guard.
pub fn caller_of<T>(req: &tonic::Request<T>) -> Result<Caller, Status> {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::permission_denied("caller unknown"))
}
