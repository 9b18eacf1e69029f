//! The `Cluster` service: the operator's view of several daemons on one
//! PostgreSQL (nodes, who holds which account under which epoch) and
//! `cluster release ACCOUNT`. On SQLite it answers "single-node".

use microbot_proto::convert::timestamp_ms;
use microbot_proto::v1::{self, cluster_server::Cluster};
use tonic::{Request, Response, Status};

use crate::context::Context;

use super::audit::{audited, caller_of, require_admin};
use super::error::ApiError;

pub struct ClusterService {
    ctx: Context,
}

impl ClusterService {
    pub fn new(ctx: Context) -> Self {
        ClusterService { ctx }
    }

    async fn status(&self) -> Result<v1::ClusterStatusResponse, ApiError> {
        let node_id = self.ctx.leases.node_id().to_string();
        if !self.ctx.leases.is_cluster() {
            return Ok(v1::ClusterStatusResponse {
                clustered: false,
                node_id,
                ..Default::default()
            });
        }
        let store = &self.ctx.store;
        let lease_ms = i64::try_from(self.ctx.config.cluster.lease.as_millis()).unwrap_or(i64::MAX);
        let nodes = store.cluster_nodes(lease_ms).await?;
        let leases = store.account_leases().await?;
        let now = store.db_now_ms().await?;
        Ok(v1::ClusterStatusResponse {
            clustered: true,
            node_id,
            nodes: nodes
                .into_iter()
                .map(|n| v1::ClusterNode {
                    node_id: n.node_id,
                    started_at: Some(timestamp_ms(n.started_at)),
                    last_seen: Some(timestamp_ms(n.last_seen)),
                    live: n.live,
                    accounts_held: u64::try_from(n.accounts_held).unwrap_or(0),
                })
                .collect(),
            leases: leases
                .into_iter()
                .map(|l| v1::AccountLease {
                    account: l.account,
                    owner: l.owner.unwrap_or_default(),
                    epoch: l.epoch,
                    expires_at: (l.expires_at > 0).then(|| timestamp_ms(l.expires_at)),
                    expired: l.expired,
                })
                .collect(),
            database_now: Some(timestamp_ms(now)),
        })
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn cluster_status(
        &self,
        _req: Request<v1::ClusterStatusRequest>,
    ) -> Result<Response<v1::ClusterStatusResponse>, Status> {
        Ok(Response::new(self.status().await?))
    }

    async fn release_account(
        &self,
        req: Request<v1::ReleaseAccountRequest>,
    ) -> Result<Response<v1::ReleaseAccountResponse>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "cluster.release", "cluster release").await?;
        let account = req.into_inner().account.trim().to_string();
        let ctx = &self.ctx;
        audited(
            ctx,
            &caller,
            "cluster.release",
            Some(format!("account {account}")),
            async {
                if account.is_empty() {
                    return Err(ApiError::invalid("account", "give the account's name"));
                }
                if !ctx.leases.is_cluster() {
                    return Err(ApiError::FailedPrecondition(
                        "single-node (SQLite): there are no leases to release".into(),
                    ));
                }
                let (owner, epoch) = ctx.store.lease_clear_owner(&account).await?;
                tracing::info!(
                    account = %account,
                    previous_owner = owner.as_deref().unwrap_or("-"),
                    epoch,
                    "lease released by an operator"
                );
                Ok(Response::new(v1::ReleaseAccountResponse {
                    account: account.clone(),
                    previous_owner: owner.unwrap_or_default(),
                    epoch,
                }))
            },
        )
        .await
    }
}
