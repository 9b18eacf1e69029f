//! The `Templates` service: create, list, show, edit, enable/disable and
//! delete templates (apply and export live in [`apply`]; both use the row
//! helpers of [`rows`], which use neither).
//!
//! Operators and admins may call everything here; every mutating call is
//! audited and tells the dispatcher ([`Change::Template`]). Validation is
//! [`crate::templates::spec`]; nothing is written when it fails.

use crate::store::states::ScheduleKind;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use microbot_proto::convert::timestamp_ms;
use microbot_proto::v1::{self, templates_server::Templates};
use tonic::{Request, Response, Status};

use crate::context::Context;
use crate::events::Change;
use crate::store::templates::TemplateRow;
use crate::store::{from_ms, to_ms};
use crate::templates::SendOptions;
use crate::templates::spec::{self, TemplateInput};

use crate::control::audit::{audited, caller_of};
use crate::control::error::ApiError;

/// How many fire instants `template show` lists.
const SHOW_FIRES: usize = 5;

pub struct TemplatesService {
    ctx: Context,
}

impl TemplatesService {
    pub fn new(ctx: Context) -> Self {
        TemplatesService { ctx }
    }
}

/// The stored options with the edit's set fields applied; turning pin
/// off turns its notify flag off too (unless the edit sets it itself, which
/// validation then refuses).
fn edited_options(cur: SendOptions, r: &v1::EditTemplateRequest) -> SendOptions {
    let pin = r.pin.unwrap_or(cur.pin);
    SendOptions {
        silent: r.silent.unwrap_or(cur.silent),
        no_preview: r.no_preview.unwrap_or(cur.no_preview),
        pin,
        pin_notify: r.pin_notify.unwrap_or(cur.pin_notify && pin),
        replace_previous: r.replace_previous.unwrap_or(cur.replace_previous),
    }
}

/// The next `n` fires from `now` in the template's zone (none when inactive).
fn next_fires(row: &TemplateRow, n: usize, now: DateTime<Utc>) -> Vec<String> {
    let Ok(spec) = row_spec(row) else {
        return Vec::new();
    };
    let Some(schedule) = spec.schedule.build(spec.tz, from_ms(row.anchor_at)) else {
        return Vec::new();
    };
    if !row.active {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(n);
    let mut t = now;
    while out.len() < n {
        let Some(x) = schedule.next_after(t) else {
            break;
        };
        out.push(rfc3339_in(x, spec.tz));
        t = x;
    }
    out
}

/// RFC 3339 with the zone's UTC offset, whole seconds.
pub fn rfc3339_in(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn to_proto(row: &TemplateRow, fires: usize, now: DateTime<Utc>) -> v1::Template {
    // A stored value the rules refuse shows as no options (show must work
    // on a damaged row; export refuses it through row_spec).
    let options = SendOptions::from_db(&row.send_options).unwrap_or_default();
    v1::Template {
        id: row.id,
        account: row.account.clone(),
        name: row.name.clone(),
        text: row.text.clone(),
        parse_mode: row.parse_mode.clone(),
        schedule_kind: row.schedule_kind.as_str().to_owned(),
        schedule_expr: row.schedule_expr.clone(),
        timezone: row.timezone.clone(),
        anchor_at: Some(timestamp_ms(row.anchor_at)),
        active: row.active,
        misfire: row.misfire.as_str().to_owned(),
        next_slot: row.next_slot.map(timestamp_ms),
        chats: row.chats.clone(),
        created_at: Some(timestamp_ms(row.created_at)),
        updated_at: Some(timestamp_ms(row.updated_at)),
        next_fires: next_fires(row, fires, now),
        kind: v1::ScheduleKind::from(row.schedule_kind).into(),
        misfire_policy: v1::MisfirePolicy::from(row.misfire).into(),
        finished: row.schedule_kind == ScheduleKind::At && row.next_slot.is_none(),
        silent: options.silent,
        no_preview: options.no_preview,
        pin: options.pin,
        pin_notify: options.pin_notify,
        replace_previous: options.replace_previous,
        attachments: row.attachments.iter().map(uploads::to_proto).collect(),
    }
}

impl TemplatesService {
    async fn shown(&self, id: i64) -> Result<Response<v1::Template>, ApiError> {
        let row = self.ctx.store.template_get(id).await?;
        Ok(Response::new(to_proto(&row, SHOW_FIRES, self.ctx.now())))
    }

    async fn create(
        &self,
        mut r: v1::CreateTemplateRequest,
    ) -> Result<Response<v1::Template>, ApiError> {
        let ctx = &self.ctx;
        let files = std::mem::take(&mut r.attachments);
        let attachments = uploads::describe_all(&files, ctx.config.templates.max_media_bytes)?;
        let input = TemplateInput {
            account: r.account,
            name: r.name,
            chats: r.chats,
            cron: r.cron,
            every: r.every,
            at: r.at,
            timezone: Some(r.timezone),
            text: r.text,
            parse_mode: Some(r.parse_mode),
            misfire: Some(r.misfire),
            active: !r.inactive,
            options: SendOptions {
                silent: r.silent,
                no_preview: r.no_preview,
                pin: r.pin,
                pin_notify: r.pin_notify,
                replace_previous: r.replace_previous,
            },
            attachments,
        };
        spec::check_chat_count(input.chats.len(), ctx.config.templates.max_chats)
            .map_err(field_error)?;
        let spec =
            spec::validate(&input, ctx.config.scheduler.default_timezone).map_err(field_error)?;
        let account = ctx.store.account_by_name(&spec.account).await?;
        let now = ctx.now();
        let (anchor, next) = schedule_state(None, &spec, now);
        check_not_past(None, &spec, next, now).map_err(field_error)?;
        let mut tx = ctx.store.begin().await?;
        uploads::store_all(&mut tx, &files, &spec.attachments, to_ms(now)).await?;
        let id = tx
            .template_insert(account.id, &data_of(&spec, anchor, next), to_ms(now))
            .await?;
        tx.commit().await?;
        ctx.events.send(Change::Template(id));
        tracing::info!(template = id, account = %spec.account, name = %spec.name, "template created");
        self.shown(id).await
    }

    async fn edit(
        &self,
        mut r: v1::EditTemplateRequest,
    ) -> Result<Response<v1::Template>, ApiError> {
        let ctx = &self.ctx;
        let files = std::mem::take(&mut r.attachments);
        let new_attachments = if r.set_attachments {
            Some(uploads::describe_all(
                &files,
                ctx.config.templates.max_media_bytes,
            )?)
        } else if !files.is_empty() {
            return Err(ApiError::invalid(
                "edit",
                "attachments were sent without set_attachments",
            ));
        } else {
            None
        };
        let nothing = r.name.is_none()
            && r.cron.is_none()
            && r.every.is_none()
            && r.at.is_none()
            && r.timezone.is_none()
            && r.text.is_none()
            && r.parse_mode.is_none()
            && r.misfire.is_none()
            && !r.set_chats
            && r.silent.is_none()
            && r.no_preview.is_none()
            && r.pin.is_none()
            && r.pin_notify.is_none()
            && r.replace_previous.is_none()
            && !r.set_attachments;
        if nothing {
            return Err(ApiError::invalid(
                "edit",
                "nothing to change: give at least one field",
            ));
        }
        // Read and write in one transaction holding the row, and write
        // next_slot only over the value it was computed from.
        let mut tx = ctx.store.begin_write().await?;
        let row = tx.template_get(r.id).await?;
        let cur = row_spec(&row)?;
        let schedule_given = r.cron.is_some() || r.every.is_some();
        let options = edited_options(cur.options, &r);
        let schedule_given = schedule_given || r.at.is_some();
        let cur_expr = Some(cur.schedule.expr.clone());
        let (cur_cron, cur_every, cur_at) = match cur.schedule.kind {
            ScheduleKind::Every => (None, cur_expr, None),
            ScheduleKind::Cron => (cur_expr, None, None),
            ScheduleKind::At => (None, None, cur_expr),
        };
        let input = TemplateInput {
            account: cur.account.clone(),
            name: r.name.unwrap_or_else(|| cur.name.clone()),
            chats: if r.set_chats {
                r.chats
            } else {
                cur.chats.clone()
            },
            cron: if schedule_given { r.cron } else { cur_cron },
            every: if schedule_given { r.every } else { cur_every },
            at: if schedule_given { r.at } else { cur_at },
            timezone: Some(r.timezone.unwrap_or_else(|| cur.tz.name().to_owned())),
            text: r.text.unwrap_or_else(|| cur.text.clone()),
            parse_mode: Some(r.parse_mode.unwrap_or_else(|| cur.parse_mode.to_owned())),
            misfire: Some(r.misfire.unwrap_or_else(|| cur.misfire.as_str().to_owned())),
            active: cur.active,
            options,
            attachments: new_attachments.unwrap_or_else(|| cur.attachments.clone()),
        };
        spec::check_chat_count(input.chats.len(), ctx.config.templates.max_chats)
            .map_err(field_error)?;
        let new =
            spec::validate(&input, ctx.config.scheduler.default_timezone).map_err(field_error)?;
        let now = ctx.now();
        let (anchor, next) = schedule_state(Some((&row, &cur)), &new, now);
        check_not_past(Some(&cur), &new, next, now).map_err(field_error)?;
        if r.set_attachments {
            uploads::store_all(&mut tx, &files, &new.attachments, to_ms(now)).await?;
        }
        tx.template_update_from(
            row.id,
            row.account_id,
            &data_of(&new, anchor, next),
            row.next_slot,
            to_ms(now),
        )
        .await?;
        tx.media_prune().await?;
        tx.commit().await?;
        ctx.events.send(Change::Template(row.id));
        self.shown(row.id).await
    }

    async fn set_active(&self, id: i64, active: bool) -> Result<Response<v1::Template>, ApiError> {
        let ctx = &self.ctx;
        let row = ctx.store.template_get(id).await?;
        let now = ctx.now();
        let next = if active {
            let spec = row_spec(&row)?;
            spec.schedule
                .build(spec.tz, from_ms(row.anchor_at))
                .and_then(|s| s.next_after(now))
                .map(to_ms)
        } else {
            row.next_slot
        };
        ctx.store
            .template_set_active(id, active, next, to_ms(now))
            .await?;
        ctx.events.send(Change::Template(id));
        self.shown(id).await
    }

    async fn delete(&self, id: i64) -> Result<Response<v1::DeleteTemplateResponse>, ApiError> {
        let ctx = &self.ctx;
        let mut tx = ctx.store.begin().await?;
        let cancelled = tx.template_delete(id, to_ms(ctx.now())).await?;
        tx.media_prune().await?;
        tx.commit().await?;
        ctx.events.send(Change::Template(id));
        tracing::info!(template = id, cancelled, "template deleted");
        Ok(Response::new(v1::DeleteTemplateResponse {
            cancelled_deliveries: cancelled,
        }))
    }
}

#[tonic::async_trait]
impl Templates for TemplatesService {
    async fn create_template(
        &self,
        req: Request<v1::CreateTemplateRequest>,
    ) -> Result<Response<v1::Template>, Status> {
        let caller = caller_of(&req)?;
        let r = req.into_inner();
        let target = Some(format!("template {}/{}", r.account, r.name));
        audited(
            &self.ctx,
            &caller,
            "template.create",
            target,
            self.create(r),
        )
        .await
    }

    async fn list_templates(
        &self,
        req: Request<v1::ListTemplatesRequest>,
    ) -> Result<Response<v1::ListTemplatesResponse>, Status> {
        let r = req.into_inner();
        let store = &self.ctx.store;
        let account = if r.account.is_empty() {
            None
        } else {
            Some(
                store
                    .account_by_name(&r.account)
                    .await
                    .map_err(ApiError::from)?
                    .id,
            )
        };
        let rows = store
            .template_list(account, r.active_only)
            .await
            .map_err(ApiError::from)?;
        let now = self.ctx.now();
        Ok(Response::new(v1::ListTemplatesResponse {
            templates: rows.iter().map(|row| to_proto(row, 1, now)).collect(),
        }))
    }

    async fn get_template(
        &self,
        req: Request<v1::GetTemplateRequest>,
    ) -> Result<Response<v1::Template>, Status> {
        Ok(self.shown(req.into_inner().id).await?)
    }

    async fn edit_template(
        &self,
        req: Request<v1::EditTemplateRequest>,
    ) -> Result<Response<v1::Template>, Status> {
        let caller = caller_of(&req)?;
        let r = req.into_inner();
        let target = Some(format!("template {}", r.id));
        audited(&self.ctx, &caller, "template.edit", target, self.edit(r)).await
    }

    async fn set_template_active(
        &self,
        req: Request<v1::SetTemplateActiveRequest>,
    ) -> Result<Response<v1::Template>, Status> {
        let caller = caller_of(&req)?;
        let r = req.into_inner();
        let method = if r.active {
            "template.enable"
        } else {
            "template.disable"
        };
        let target = Some(format!("template {}", r.id));
        audited(
            &self.ctx,
            &caller,
            method,
            target,
            self.set_active(r.id, r.active),
        )
        .await
    }

    async fn delete_template(
        &self,
        req: Request<v1::DeleteTemplateRequest>,
    ) -> Result<Response<v1::DeleteTemplateResponse>, Status> {
        let caller = caller_of(&req)?;
        let id = req.into_inner().id;
        let target = Some(format!("template {id}"));
        audited(
            &self.ctx,
            &caller,
            "template.delete",
            target,
            self.delete(id),
        )
        .await
    }

    async fn apply_templates(
        &self,
        req: Request<v1::ApplyTemplatesRequest>,
    ) -> Result<Response<v1::ApplyTemplatesResponse>, Status> {
        let caller = caller_of(&req)?;
        let r = req.into_inner();
        let method = if r.dry_run {
            "template.apply.dry_run"
        } else {
            "template.apply"
        };
        let call = apply::apply(&self.ctx, r);
        audited(&self.ctx, &caller, method, None, async {
            call.await.map(Response::new)
        })
        .await
    }

    async fn export_templates(
        &self,
        req: Request<v1::ExportTemplatesRequest>,
    ) -> Result<Response<v1::ExportTemplatesResponse>, Status> {
        let with_files = req.into_inner().with_files;
        Ok(Response::new(apply::export(&self.ctx, with_files).await?))
    }
}

pub mod apply;
pub mod rows;
pub mod uploads;

pub use rows::{check_not_past, data_of, field_error, row_spec, schedule_state};

#[cfg(test)]
mod tests;
