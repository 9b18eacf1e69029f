//! The `Deliveries` service: the delivery log, and retrying a failed or
//! missed delivery with its original `random_id` (so a retry of a message
//! Telegram may already have received cannot duplicate it).

use microbot_proto::convert::timestamp_ms;
use microbot_proto::v1::{self, deliveries_server::Deliveries};
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::events::Change;
use crate::store::scheduler_ops::DeliveryView;
use crate::store::states::DeliveryState;
use crate::store::to_ms;

use super::audit::{audited, caller_of};
use super::error::ApiError;

pub struct DeliveriesService {
    ctx: Context,
}

impl DeliveriesService {
    pub fn new(ctx: Context) -> Self {
        DeliveriesService { ctx }
    }
}

pub fn delivery_to_proto(d: &DeliveryView) -> v1::Delivery {
    v1::Delivery {
        id: d.id,
        account: d.account.clone(),
        template_id: d.template_id,
        template: d.template.clone().unwrap_or_default(),
        chat: d.chat.clone(),
        slot: Some(timestamp_ms(d.slot)),
        state: d.state.to_string(),
        attempts: d.attempts,
        sent_at: d.sent_at.map(timestamp_ms),
        error: d.last_error.clone().unwrap_or_default(),
        message_id: d.message_id.unwrap_or_default(),
        delivery_state: v1::DeliveryState::from(d.state).into(),
        kind: d.kind.clone(),
    }
}

#[tonic::async_trait]
impl Deliveries for DeliveriesService {
    async fn list_deliveries(
        &self,
        req: Request<v1::ListDeliveriesRequest>,
    ) -> Result<Response<v1::ListDeliveriesResponse>, Status> {
        let r = req.into_inner();
        let state = Some(r.state.trim())
            .filter(|s| !s.is_empty())
            .map(str::parse::<DeliveryState>)
            .transpose()
            .map_err(|e| ApiError::invalid("state", e))?;
        if r.since_seconds < 0 {
            return Err(ApiError::invalid("since", "must not be negative").into());
        }
        if r.since_seconds > microbot_proto::MAX_SINCE_SECONDS {
            return Err(ApiError::invalid("since", microbot_proto::SINCE_TOO_FAR).into());
        }
        if r.limit < 0 {
            return Err(ApiError::invalid("limit", "must not be negative").into());
        }
        let since = (r.since_seconds > 0)
            .then(|| to_ms(self.ctx.now()) - r.since_seconds.saturating_mul(1000));
        let limit = if r.limit == 0 { i64::MAX } else { r.limit };
        let account = Some(r.account.trim()).filter(|s| !s.is_empty());
        let rows = self
            .ctx
            .store
            .deliveries_list(account, state, since, limit)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(v1::ListDeliveriesResponse {
            deliveries: rows.iter().map(delivery_to_proto).collect(),
        }))
    }

    async fn retry_delivery(
        &self,
        req: Request<v1::RetryDeliveryRequest>,
    ) -> Result<Response<v1::Delivery>, Status> {
        let caller = caller_of(&req)?;
        let id = req.into_inner().id;
        let ctx = &self.ctx;
        audited(
            ctx,
            &caller,
            "deliveries.retry",
            Some(format!("delivery {id}")),
            async {
                let before = ctx.store.delivery_by_id(id).await?;
                let Some(account_id) = ctx.store.delivery_retry(id, to_ms(ctx.now())).await? else {
                    if before.slots > 1 {
                        return Err(ApiError::FailedPrecondition(format!(
                            "delivery {id} stands for {} missed slots of an outage; \
                             one message cannot make up for them, so it is not retried",
                            before.slots
                        )));
                    }
                    return Err(ApiError::FailedPrecondition(format!(
                        "delivery {id} is {}; only failed or missed deliveries can be retried",
                        before.state
                    )));
                };
                ctx.events.send(Change::Account(account_id));
                tracing::info!(
                    delivery = id,
                    "delivery queued again with its original random_id"
                );
                Ok(Response::new(delivery_to_proto(
                    &ctx.store.delivery_by_id(id).await?,
                )))
            },
        )
        .await
    }
}
