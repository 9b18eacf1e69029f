//! Writing the audit trail for mutating calls: [`audited`] runs a call and
//! records who made it, on what, and how it ended.

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

/// The caller of a request, put there by the guard.
pub fn caller_of<T>(req: &tonic::Request<T>) -> Result<Caller, Status> {
    req.extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::permission_denied("caller unknown"))
}
