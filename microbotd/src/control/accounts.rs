//! The `Accounts` service: adding and listing Telegram accounts.

use microbot_proto::convert::timestamp_ms;
use microbot_proto::v1::{self, accounts_server::Accounts};
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::store::accounts::{AccountRow, mask_phone, normalize_phone, valid_account_name};

use super::audit::{audited, caller_of};
use super::error::ApiError;

pub struct AccountsService {
    ctx: Context,
}

impl AccountsService {
    pub fn new(ctx: Context) -> Self {
        AccountsService { ctx }
    }
}

/// The wire form of an account; the state shows a live flood wait.
pub fn account_to_proto(a: &AccountRow, now_ms: i64) -> v1::Account {
    let flood = a.flood_wait_until.filter(|until| *until > now_ms);
    let state = if flood.is_some() && a.state == "active" {
        "flood_wait".to_string()
    } else {
        a.state.clone()
    };
    v1::Account {
        id: a.id,
        name: a.name.clone(),
        phone_masked: mask_phone(&a.phone),
        state,
        telegram_user: a.tg_display.clone().unwrap_or_default(),
        flood_wait_until: flood.map(timestamp_ms),
        last_error: a.last_error.clone().unwrap_or_default(),
        scheduler_enabled: a.scheduler_enabled,
        created_at: Some(timestamp_ms(a.created_at)),
    }
}

#[tonic::async_trait]
impl Accounts for AccountsService {
    async fn add_account(
        &self,
        req: Request<v1::AddAccountRequest>,
    ) -> Result<Response<v1::Account>, Status> {
        let caller = caller_of(&req)?;
        caller.require_admin("account add")?;
        let r = req.into_inner();
        let ctx = &self.ctx;
        audited(
            ctx,
            &caller,
            "account.add",
            Some(format!("account {}", r.name)),
            async {
                valid_account_name(&r.name).map_err(|e| ApiError::invalid("name", e))?;
                let phone = normalize_phone(&r.phone).ok_or_else(|| {
                    ApiError::invalid(
                        "phone",
                        "must be an international number starting with + (e.g. +905321234567)",
                    )
                })?;
                let now = crate::store::to_ms(ctx.now());
                let row = ctx.store.account_create(&r.name, &phone, now).await?;
                tracing::info!(account = %row.name, phone = %mask_phone(&phone), "account added");
                Ok(Response::new(account_to_proto(&row, now)))
            },
        )
        .await
    }

    async fn list_accounts(
        &self,
        _req: Request<v1::ListAccountsRequest>,
    ) -> Result<Response<v1::ListAccountsResponse>, Status> {
        let now = crate::store::to_ms(self.ctx.now());
        let rows = self
            .ctx
            .store
            .account_list()
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(v1::ListAccountsResponse {
            accounts: rows.iter().map(|a| account_to_proto(a, now)).collect(),
        }))
    }
}
