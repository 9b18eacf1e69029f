//! `template apply` and `template export`: the declarative side of the
//! `Templates` service.
//!
//! Apply parses and validates the whole file first (so a bad entry writes
//! nothing), diffs it against the stored templates ([`crate::templates::plan`])
//! and then performs every change in ONE transaction. A dry run stops after
//! the plan. `--prune` only deletes templates of accounts the file names.

use std::collections::HashMap;

use microbot_proto::v1;

use crate::context::Context;
use crate::events::Change as Event;
use crate::store::to_ms;
use crate::templates::file::{self, FileError};
use crate::templates::plan::{Change, plan};

use super::rows::{check_not_past, data_of, row_spec, schedule_state};
use crate::control::error::ApiError;

/// Plans (and unless `dry_run`, performs) the file's changes.
pub async fn apply(
    ctx: &Context,
    r: v1::ApplyTemplatesRequest,
) -> Result<v1::ApplyTemplatesResponse, ApiError> {
    let default_tz = ctx.config.scheduler.default_timezone;
    // Attachments name files by digest: those stored (their metadata,
    // never bytes) and those the request carries.
    let mut media: file::StoredMedia = ctx
        .store
        .media_list()
        .await?
        .into_iter()
        .map(|m| (m.sha256, (m.mime, m.size)))
        .collect();
    let sent = super::uploads::by_digest(&r.files)?;
    for (sha256, data) in &sent {
        media
            .entry(sha256.clone())
            .or_insert_with(|| (String::new(), data.len() as i64));
    }
    let mut desired = file::parse_with_media(&r.content, default_tz, &media).map_err(file_error)?;
    // Files the request carries are checked like create's, by the kind
    // each entry gives them; only those not stored yet are written.
    let mut new_files: HashMap<String, &[u8]> = HashMap::new();
    for (i, spec) in desired.iter_mut().enumerate() {
        for a in &mut spec.attachments {
            let Some(data) = sent.get(&a.sha256).filter(|_| a.mime.is_empty()) else {
                continue;
            };
            let checked = crate::templates::attachments::describe(
                crate::templates::attachments::Upload {
                    kind: a.kind,
                    file_name: &a.file_name,
                    bytes: data,
                },
                ctx.config.templates.max_media_bytes,
            )
            .map_err(|e| entry_error(i, &spec.account, &spec.name, e.field.key(), e.reason))?;
            a.mime = checked.mime;
            new_files.insert(a.sha256.clone(), data);
        }
    }
    for (i, spec) in desired.iter().enumerate() {
        crate::templates::spec::check_chat_count(spec.chats.len(), ctx.config.templates.max_chats)
            .map_err(|e| entry_error(i, &spec.account, &spec.name, e.field.key(), e.reason))?;
    }
    let mut accounts: HashMap<String, i64> = HashMap::new();
    for (i, spec) in desired.iter().enumerate() {
        if accounts.contains_key(&spec.account) {
            continue;
        }
        match ctx.store.account_by_name(&spec.account).await {
            Ok(a) => {
                accounts.insert(a.name, a.id);
            }
            Err(crate::store::StoreError::NotFound(_)) => {
                return Err(entry_error(
                    i,
                    &spec.account,
                    &spec.name,
                    "account",
                    format!(
                        "no account named {:?} (see `microbotctl account list`)",
                        spec.account
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let rows = ctx.store.template_list(None, false).await?;
    let rows_by_id: HashMap<i64, &_> = rows.iter().map(|r| (r.id, r)).collect();
    let stored = rows
        .iter()
        .map(|r| row_spec(r).map(|s| (r.id, s)))
        .collect::<Result<Vec<_>, _>>()?;
    let p = plan(&desired, &stored, r.prune);
    let now = ctx.now();
    for change in &p.changes {
        let (old, new, next) = match change {
            Change::Create(spec) => (None, spec, schedule_state(None, spec, now).1),
            Change::Update {
                id,
                current,
                desired,
                ..
            } => (
                Some(&**current),
                &**desired,
                schedule_state(Some((rows_by_id[id], current)), desired, now).1,
            ),
            Change::Delete { .. } => continue,
        };
        check_not_past(old, new, next, now).map_err(|e| {
            ApiError::invalid(
                "file",
                format!(
                    "{}/{}: {}: {}",
                    new.account,
                    new.name,
                    e.field.key(),
                    e.reason
                ),
            )
        })?;
    }
    let mut resp = v1::ApplyTemplatesResponse {
        changes: p.changes.iter().map(plan_change).collect(),
        unchanged: p.unchanged,
        applied: false,
    };
    if r.dry_run || p.changes.is_empty() {
        return Ok(resp);
    }
    let now_ms = to_ms(now);
    let mut touched = Vec::with_capacity(p.changes.len());
    let mut tx = ctx.store.begin().await?;
    for change in &p.changes {
        let spec = match change {
            Change::Create(spec) => spec,
            Change::Update { desired, .. } => &**desired,
            Change::Delete { .. } => continue,
        };
        for a in &spec.attachments {
            if let Some(data) = new_files.get(&a.sha256) {
                tx.media_put(&a.sha256, &a.mime, data, now_ms).await?;
            }
        }
    }
    for change in &p.changes {
        match change {
            Change::Create(spec) => {
                let (anchor, next) = schedule_state(None, spec, now);
                let id = tx
                    .template_insert(
                        accounts[&spec.account],
                        &data_of(spec, anchor, next),
                        now_ms,
                    )
                    .await?;
                touched.push(id);
            }
            Change::Update {
                id,
                current,
                desired,
                ..
            } => {
                let row = rows_by_id[id];
                let (anchor, next) = schedule_state(Some((row, current)), desired, now);
                tx.template_update(*id, row.account_id, &data_of(desired, anchor, next), now_ms)
                    .await?;
                touched.push(*id);
            }
            Change::Delete { id, .. } => {
                tx.template_delete(*id, now_ms).await?;
                touched.push(*id);
            }
        }
    }
    tx.media_prune().await?;
    tx.commit().await?;
    for id in touched {
        ctx.events.send(Event::Template(id));
    }
    tracing::info!(
        changes = p.changes.len(),
        unchanged = p.unchanged,
        "template file applied"
    );
    resp.applied = true;
    Ok(resp)
}

/// Every template, in the file format apply reads; with `with_files`, the
/// bytes of every attachment too (each file once).
pub async fn export(
    ctx: &Context,
    with_files: bool,
) -> Result<v1::ExportTemplatesResponse, ApiError> {
    let rows = ctx.store.template_list(None, false).await?;
    let specs = rows.iter().map(row_spec).collect::<Result<Vec<_>, _>>()?;
    let mut files = Vec::new();
    if with_files {
        let digests: std::collections::BTreeSet<&str> = specs
            .iter()
            .flat_map(|s| s.attachments.iter().map(|a| a.sha256.as_str()))
            .collect();
        for sha256 in digests {
            let data =
                ctx.store.media_get(sha256).await?.ok_or_else(|| {
                    ApiError::Internal(format!("attachment {sha256} is not stored"))
                })?;
            files.push(v1::AttachmentFile {
                sha256: sha256.to_owned(),
                data,
            });
        }
    }
    Ok(v1::ExportTemplatesResponse {
        content: file::render(&specs),
        count: specs.len() as u32,
        files,
    })
}

fn file_error(e: FileError) -> ApiError {
    ApiError::invalid("file", e.to_string())
}

/// The file's entry `i` (0-based), `account`/`name`, refused on one field.
fn entry_error(
    i: usize,
    account: &str,
    name: &str,
    field: &'static str,
    reason: String,
) -> ApiError {
    file_error(FileError::Invalid {
        index: i + 1,
        account: account.to_owned(),
        name: name.to_owned(),
        field,
        reason,
    })
}

fn plan_change(c: &Change) -> v1::PlanChange {
    let (action, spec, details) = match c {
        Change::Create(s) => ("create", s, Vec::new()),
        Change::Update {
            desired, details, ..
        } => ("update", &**desired, details.clone()),
        Change::Delete { current, .. } => ("delete", current, Vec::new()),
    };
    v1::PlanChange {
        action: action.to_owned(),
        account: spec.account.clone(),
        name: spec.name.clone(),
        details,
    }
}
