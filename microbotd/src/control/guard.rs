//! The interceptor in front of every service: checks the protocol version
//! and admits the caller (its [`Peer`], read at accept time → [`Caller`])
//! or refuses it; a
//! refusal is audited (uid, pid, gRPC path, reason) and logged at WARN.

use std::sync::Arc;

use microbot_proto::{DAEMON_PROTOCOL_HEADER, PROTOCOL_HEADER, PROTOCOL_VERSION};
use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use super::audit::record_refusal;
use super::caller::{AccessPolicy, Caller};
use super::peer::Peer;
use super::slow::CallPath;
use crate::context::Context;

/// Clone-able interceptor closure state.
#[derive(Clone)]
pub struct Guard {
    policy: Arc<AccessPolicy>,
    ctx: Context,
}

impl Guard {
    pub fn new(policy: AccessPolicy, ctx: Context) -> Self {
        Guard {
            policy: Arc::new(policy),
            ctx,
        }
    }

    /// Audits a refusal without holding up the reply: the interceptor is
    /// synchronous, so the row is written by a task of its own.
    fn record(&self, req: &Request<()>, uid: u32, pid: Option<i32>, reason: String) {
        let method = req
            .extensions()
            .get::<CallPath>()
            .map(|p| p.0.clone())
            .unwrap_or_else(|| "unknown".into());
        let store = self.ctx.store.clone();
        let at = self.ctx.now();
        tokio::spawn(async move {
            record_refusal(&store, at, uid, pid, &method, &reason).await;
        });
    }

    /// Admits or refuses one request.
    pub fn check(&self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = req.metadata().get(PROTOCOL_HEADER) {
            let theirs = v.to_str().ok().and_then(|s| s.parse::<u32>().ok());
            if theirs != Some(PROTOCOL_VERSION) {
                let mut status = Status::failed_precondition(format!(
                    "protocol mismatch: microbotctl speaks protocol {}, microbotd {} speaks {}; \
                     use the microbotctl that came with this daemon",
                    v.to_str().unwrap_or("?"),
                    env!("CARGO_PKG_VERSION"),
                    PROTOCOL_VERSION
                ));
                status.metadata_mut().insert(
                    DAEMON_PROTOCOL_HEADER,
                    MetadataValue::from(PROTOCOL_VERSION),
                );
                return Err(status);
            }
        }
        // Read from the socket when the connection was accepted (peer.rs).
        let peer = req.extensions().get::<Peer>().cloned().ok_or_else(|| {
            // No uid to audit: the log line is all there is.
            tracing::warn!("refused control call: caller credentials unavailable");
            Status::permission_denied("caller credentials unavailable")
        })?;
        let (uid, pid) = (peer.uid, peer.pid);
        let Some(role) = self.policy.role(uid, &peer.gids()) else {
            let reason =
                format!("uid {uid} may not use microbotd: join the operator or admin group");
            self.record(&req, uid, pid, reason.clone());
            return Err(Status::permission_denied(reason));
        };
        req.extensions_mut().insert(Caller { uid, pid, role });
        Ok(req)
    }
}
