//! The `Accounts` service: adding, listing, logging in and out, resuming
//! and removing Telegram accounts. The login flow is in [`login`] (with
//! its attempt limit, [`login_limit`]), the rest in [`manage`], the wire
//! form of an account in [`wire`]; this file checks rights and audits.
//! Nothing in those modules uses this one.

pub mod login;
pub mod login_limit;
pub mod manage;
pub mod wire;

use std::sync::Arc;

use microbot_proto::v1::{self, accounts_server::Accounts};
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::store::accounts::{mask_phone, normalize_phone, valid_account_name};
use crate::telegram::Secret;

use super::audit::{audited, caller_of, require_admin};
use super::error::ApiError;
use login_limit::LoginLimiter;
use wire::account_to_proto;

pub struct AccountsService {
    ctx: Context,
    /// Failed login attempts per account, shared by all login calls.
    limiter: Arc<LoginLimiter>,
}

impl AccountsService {
    pub fn new(ctx: Context) -> Self {
        AccountsService {
            ctx,
            limiter: Arc::new(LoginLimiter::new()),
        }
    }
}

fn target(name: &str) -> Option<String> {
    Some(format!("account {name}"))
}

#[tonic::async_trait]
impl Accounts for AccountsService {
    async fn add_account(
        &self,
        req: Request<v1::AddAccountRequest>,
    ) -> Result<Response<v1::Account>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "account.add", "account add").await?;
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

    async fn start_login(
        &self,
        req: Request<v1::StartLoginRequest>,
    ) -> Result<Response<v1::StartLoginResponse>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "account.start_login", "account login").await?;
        let name = req.into_inner().name;
        let (ctx, limiter) = (&self.ctx, &*self.limiter);
        audited(ctx, &caller, "account.start_login", target(&name), async {
            login::start_login(ctx, limiter, &caller, &name)
                .await
                .map(Response::new)
        })
        .await
    }

    async fn submit_code(
        &self,
        req: Request<v1::SubmitCodeRequest>,
    ) -> Result<Response<v1::LoginStep>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "account.submit_code", "account login").await?;
        let r = req.into_inner();
        let code = Secret::new(r.code);
        let (ctx, limiter) = (&self.ctx, &*self.limiter);
        audited(
            ctx,
            &caller,
            "account.submit_code",
            target(&r.name),
            async {
                login::submit_code(ctx, limiter, &caller, &r.name, &code)
                    .await
                    .map(Response::new)
            },
        )
        .await
    }

    async fn submit_password(
        &self,
        req: Request<v1::SubmitPasswordRequest>,
    ) -> Result<Response<v1::LoginStep>, Status> {
        let caller = caller_of(&req)?;
        require_admin(
            &self.ctx,
            &caller,
            "account.submit_password",
            "account login",
        )
        .await?;
        let r = req.into_inner();
        let password = Secret::new(r.password);
        let (ctx, limiter) = (&self.ctx, &*self.limiter);
        audited(
            ctx,
            &caller,
            "account.submit_password",
            target(&r.name),
            async {
                login::submit_password(ctx, limiter, &caller, &r.name, &password)
                    .await
                    .map(Response::new)
            },
        )
        .await
    }

    async fn logout_account(
        &self,
        req: Request<v1::LogoutAccountRequest>,
    ) -> Result<Response<v1::LogoutAccountResponse>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "account.logout", "account logout").await?;
        let name = req.into_inner().name;
        let ctx = &self.ctx;
        audited(ctx, &caller, "account.logout", target(&name), async {
            manage::logout(ctx, &name).await.map(Response::new)
        })
        .await
    }

    async fn resume_account(
        &self,
        req: Request<v1::ResumeAccountRequest>,
    ) -> Result<Response<v1::Account>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "account.resume", "account resume").await?;
        let name = req.into_inner().name;
        let ctx = &self.ctx;
        audited(ctx, &caller, "account.resume", target(&name), async {
            manage::resume(ctx, &name).await.map(Response::new)
        })
        .await
    }

    async fn list_chats(
        &self,
        req: Request<v1::ListChatsRequest>,
    ) -> Result<Response<v1::ListChatsResponse>, Status> {
        let r = req.into_inner();
        Ok(Response::new(
            manage::chats(&self.ctx, &r.name, &r.search).await?,
        ))
    }

    async fn remove_account(
        &self,
        req: Request<v1::RemoveAccountRequest>,
    ) -> Result<Response<v1::RemoveAccountResponse>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "account.remove", "account remove").await?;
        let r = req.into_inner();
        let ctx = &self.ctx;
        let what = if r.force {
            format!("account {} (force)", r.name)
        } else {
            format!("account {}", r.name)
        };
        audited(ctx, &caller, "account.remove", Some(what), async {
            manage::remove(ctx, &r.name, r.force)
                .await
                .map(Response::new)
        })
        .await
    }
}
