//! `microbotctl template …`: message templates, one at a time or
//! declaratively from a TOML file (`apply` / `export`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use microbot_proto::convert::{EnumText, rfc3339};
use microbot_proto::v1::{self, EditTemplateRequest, ListTemplatesRequest};
use serde_json::{Value, json};

use super::Ctx;
use super::template_media::AttachFlags;
use crate::failure::Failure;
use crate::input;
use crate::output::{Format, print_json, print_object, print_rows};

#[derive(Subcommand, Debug)]
pub enum TemplateCommand {
    /// Create a template: what to send, to which chats, when.
    Create(CreateArgs),
    /// List templates with their next fire time.
    List {
        /// Only this account's templates.
        #[arg(long)]
        account: Option<String>,
        /// Only active templates.
        #[arg(long)]
        active: bool,
    },
    /// Show one template and its next 5 fire times.
    Show { id: i64 },
    /// Change some fields of a template (--chat replaces the whole target list).
    Edit(EditArgs),
    /// Activate a template (its next slot is computed from now).
    Enable { id: i64 },
    /// Deactivate a template (nothing is sent until it is enabled again).
    Disable { id: i64 },
    /// Delete a template; its pending deliveries are cancelled.
    Delete { id: i64 },
    /// Make the templates match a TOML file, all or nothing.
    #[command(
        after_help = "The file holds [[template]] tables keyed by (account, name); see `template export` \
                      for the format. --prune deletes templates missing from the file, but only for \
                      the accounts the file names: other accounts are never touched."
    )]
    Apply {
        /// The TOML file ('-' for stdin).
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        /// Print the plan, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Delete templates of the accounts named in the file that the file lacks.
        #[arg(long)]
        prune: bool,
    },
    /// Write every template in the format `apply` reads (stdout without -f).
    Export {
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("schedule").required(true).args(["cron", "every", "at"])))]
#[command(group(clap::ArgGroup::new("body").required(true).args(["text", "text_file"])))]
pub struct CreateArgs {
    /// Account that sends (see `account list`).
    #[arg(long)]
    account: String,
    /// Template name, unique per account.
    #[arg(long)]
    name: String,
    /// Target chat: @username, t.me link or numeric id (repeat for more).
    #[arg(
        long = "chat",
        required = true,
        value_name = "CHAT",
        allow_negative_numbers = true
    )]
    chats: Vec<String>,
    /// Cron expression (5 fields, or @daily…), e.g. "0 9 * * 1-5".
    #[arg(long, value_name = "EXPR")]
    cron: Option<String>,
    /// Fixed interval from now, e.g. 90m, 2h, 1d.
    #[arg(long, value_name = "DURATION")]
    every: Option<String>,
    /// Once, at this local date and time in --tz, e.g. 2026-12-01T10:00;
    /// the template is finished after it fires.
    #[arg(long, value_name = "LOCAL_DATETIME")]
    at: Option<String>,
    /// IANA time zone [default: the daemon's scheduler.default_timezone].
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    /// Message text (at most 4096 UTF-16 code units); {date} {time}
    /// {weekday} {slot} are filled in at send time in the template's zone,
    /// {{ is a literal {.
    #[arg(long)]
    text: Option<String>,
    /// Read the message text from a file ('-' for stdin).
    #[arg(long, value_name = "FILE")]
    text_file: Option<PathBuf>,
    #[arg(long, value_parser = ["plain", "markdown", "html"], default_value = "plain")]
    parse_mode: String,
    /// What to do with slots missed while the daemon was down.
    #[arg(long, value_parser = ["skip", "once", "all"], default_value = "once")]
    misfire: String,
    /// Create it disabled.
    #[arg(long)]
    inactive: bool,
    #[command(flatten)]
    options: OptionFlags,
    #[command(flatten)]
    attach: AttachFlags,
}

/// Send options of `template create`.
#[derive(Args, Debug)]
pub struct OptionFlags {
    /// Send without a notification sound.
    #[arg(long)]
    silent: bool,
    /// Send without a link preview.
    #[arg(long)]
    no_preview: bool,
    /// Pin each sent message in its chat (silently unless --pin-notify).
    #[arg(long)]
    pin: bool,
    /// Pinning notifies the chat's members.
    #[arg(long, requires = "pin")]
    pin_notify: bool,
    /// Delete the message this template last sent to a chat once the new
    /// one is sent (a failed delete is noted on the delivery).
    #[arg(long)]
    replace_previous: bool,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("schedule").args(["cron", "every", "at"])))]
#[command(group(clap::ArgGroup::new("body").args(["text", "text_file"])))]
pub struct EditArgs {
    id: i64,
    #[arg(long)]
    name: Option<String>,
    /// New cron expression (switches an `every` template to cron).
    #[arg(long, value_name = "EXPR")]
    cron: Option<String>,
    /// New interval, anchored at now (switches a cron template to every).
    #[arg(long, value_name = "DURATION")]
    every: Option<String>,
    /// Once, at this local date and time (switches to a one-shot).
    #[arg(long, value_name = "LOCAL_DATETIME")]
    at: Option<String>,
    #[arg(long, value_name = "ZONE")]
    tz: Option<String>,
    #[arg(long)]
    text: Option<String>,
    #[arg(long, value_name = "FILE")]
    text_file: Option<PathBuf>,
    /// Replaces the whole target list (repeat for more).
    #[arg(long = "chat", value_name = "CHAT", allow_negative_numbers = true)]
    chats: Vec<String>,
    #[arg(long, value_parser = ["plain", "markdown", "html"])]
    parse_mode: Option<String>,
    #[arg(long, value_parser = ["skip", "once", "all"])]
    misfire: Option<String>,
    /// Send without a notification sound (--silent=false: with one).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    silent: Option<bool>,
    /// Send without a link preview (--no-preview=false: with one).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    no_preview: Option<bool>,
    /// Pin each sent message (--pin=false: stop pinning, and notifying).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pin: Option<bool>,
    /// Pinning notifies the chat's members (needs pin).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pin_notify: Option<bool>,
    /// Delete the previous message of this template in each chat once the
    /// new one is sent (--replace-previous=false: keep it).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    replace_previous: Option<bool>,
    /// Replaces all attachments with these files, in order (see create).
    #[command(flatten)]
    attach: AttachFlags,
    /// Drop every attachment (the text is sent alone again).
    #[arg(long, conflicts_with_all = ["photo", "video", "document"])]
    no_attachments: bool,
}

const LIST_COLUMNS: [&str; 10] = [
    "id",
    "account",
    "name",
    "schedule_kind",
    "schedule_expr",
    "timezone",
    "chats",
    "active",
    "misfire",
    "next_fire",
];

/// The typed fields' text (the same strings as the older text fields,
/// which an older daemon alone sets).
fn kind(t: &v1::Template) -> String {
    v1::ScheduleKind::text_or(t.kind, &t.schedule_kind)
}

fn misfire(t: &v1::Template) -> String {
    v1::MisfirePolicy::text_or(t.misfire_policy, &t.misfire)
}

fn list_row(t: &v1::Template) -> Vec<Value> {
    vec![
        json!(t.id),
        json!(t.account),
        json!(t.name),
        json!(kind(t)),
        json!(t.schedule_expr),
        json!(t.timezone),
        json!(t.chats),
        json!(t.active),
        json!(misfire(t)),
        json!(t.next_fires.first()),
    ]
}

fn show(format: Format, t: &v1::Template) {
    let mut fields: Vec<(&str, Value)> = vec![
        ("id", json!(t.id)),
        ("account", json!(t.account)),
        ("name", json!(t.name)),
        ("active", json!(t.active)),
        ("finished", json!(t.finished)),
        ("schedule_kind", json!(kind(t))),
        ("schedule_expr", json!(t.schedule_expr)),
        ("timezone", json!(t.timezone)),
        ("anchor_at", json!(rfc3339(t.anchor_at.as_ref()))),
        ("chats", json!(t.chats)),
        ("parse_mode", json!(t.parse_mode)),
        ("misfire", json!(misfire(t))),
        ("options", json!(options_of(t))),
        ("attachments", super::template_media::shown(format, t)),
        ("next_slot", json!(rfc3339(t.next_slot.as_ref()))),
        ("created_at", json!(rfc3339(t.created_at.as_ref()))),
        ("updated_at", json!(rfc3339(t.updated_at.as_ref()))),
        ("text", json!(t.text)),
    ];
    if format == Format::Json {
        fields.push(("next_fires", json!(t.next_fires)));
        print_object(format, &fields);
        return;
    }
    print_object(format, &fields);
    if t.finished {
        println!("next fires  - (finished: a one-shot that has fired)");
    } else if t.next_fires.is_empty() {
        println!("next fires  - (inactive)");
    } else {
        println!("next fires:");
        for f in &t.next_fires {
            println!("  {f}");
        }
    }
}

/// The send options set, by their flag names (`silent`, `pin`, …).
fn options_of(t: &v1::Template) -> Vec<&'static str> {
    [
        (t.silent, "silent"),
        (t.no_preview, "no-preview"),
        (t.pin, "pin"),
        (t.pin_notify, "pin-notify"),
        (t.replace_previous, "replace-previous"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect()
}

fn text_of(text: Option<String>, file: Option<PathBuf>) -> Result<Option<String>, Failure> {
    match (text, file) {
        (Some(t), _) => Ok(Some(t)),
        (None, Some(f)) => input::read_text(&f, input::TEXT_FILE_CAP).map(Some),
        (None, None) => Ok(None),
    }
}

pub async fn run(ctx: &Ctx, cmd: TemplateCommand) -> Result<ExitCode, Failure> {
    let mut client = ctx.client.templates();
    match cmd {
        TemplateCommand::Create(a) => {
            let text = text_of(a.text, a.text_file)?.unwrap_or_default();
            let attachments = a.attach.read()?;
            let req = v1::CreateTemplateRequest {
                account: a.account,
                name: a.name,
                chats: a.chats,
                cron: a.cron,
                every: a.every,
                at: a.at,
                timezone: a.tz.unwrap_or_default(),
                text,
                parse_mode: a.parse_mode,
                misfire: a.misfire,
                inactive: a.inactive,
                silent: a.options.silent,
                no_preview: a.options.no_preview,
                pin: a.options.pin,
                pin_notify: a.options.pin_notify,
                replace_previous: a.options.replace_previous,
                attachments,
            };
            let t = client
                .create_template(req)
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx.format, &t);
        }
        TemplateCommand::List { account, active } => {
            let req = ListTemplatesRequest {
                account: account.unwrap_or_default(),
                active_only: active,
            };
            let list = client
                .list_templates(req)
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let rows: Vec<_> = list.templates.iter().map(list_row).collect();
            print_rows(ctx.format, &LIST_COLUMNS, &rows);
        }
        TemplateCommand::Show { id } => {
            let req = v1::GetTemplateRequest { id };
            let t = client
                .get_template(req)
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx.format, &t);
        }
        TemplateCommand::Edit(a) => {
            let attachments = a.attach.read()?;
            let req = EditTemplateRequest {
                id: a.id,
                name: a.name,
                cron: a.cron,
                every: a.every,
                at: a.at,
                timezone: a.tz,
                text: text_of(a.text, a.text_file)?,
                parse_mode: a.parse_mode,
                misfire: a.misfire,
                set_chats: !a.chats.is_empty(),
                chats: a.chats,
                silent: a.silent,
                no_preview: a.no_preview,
                pin: a.pin,
                pin_notify: a.pin_notify,
                replace_previous: a.replace_previous,
                set_attachments: a.no_attachments || !attachments.is_empty(),
                attachments,
            };
            let t = client
                .edit_template(req)
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx.format, &t);
        }
        TemplateCommand::Enable { id } | TemplateCommand::Disable { id } => {
            let active = matches!(cmd, TemplateCommand::Enable { .. });
            let req = v1::SetTemplateActiveRequest { id, active };
            let t = client
                .set_template_active(req)
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            show(ctx.format, &t);
        }
        TemplateCommand::Delete { id } => {
            let req = v1::DeleteTemplateRequest { id };
            let r = client
                .delete_template(req)
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            let fields = [
                ("deleted", json!(id)),
                ("cancelled_deliveries", json!(r.cancelled_deliveries)),
            ];
            print_object(ctx.format, &fields);
        }
        TemplateCommand::Apply {
            file,
            dry_run,
            prune,
        } => {
            let content = input::read_text(&file, input::TEMPLATE_FILE_CAP)?;
            let files = super::template_media::files_beside(&file, &content)?;
            let req = v1::ApplyTemplatesRequest {
                content,
                dry_run,
                prune,
                files,
            };
            let r = client
                .apply_templates(req)
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            print_plan(ctx.format, &r, dry_run);
        }
        TemplateCommand::Export { file } => {
            let req = v1::ExportTemplatesRequest {
                with_files: file.is_some(),
            };
            let r = client
                .export_templates(req)
                .await
                .map_err(|s| ctx.fail(s))?
                .into_inner();
            match file {
                None => print!("{}", r.content),
                Some(path) => {
                    super::template_media::write_beside(&path, &r.content, &r.files)?;
                    std::fs::write(&path, &r.content).map_err(|e| {
                        Failure::new(format!("cannot write {}: {e}", path.display()))
                    })?;
                    eprintln!("exported {} template(s) to {}", r.count, path.display());
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_plan(format: Format, r: &v1::ApplyTemplatesResponse, dry_run: bool) {
    if format == Format::Json {
        let changes: Vec<Value> = r
            .changes
            .iter()
            .map(|c| {
                json!({
                    "action": c.action,
                    "template": format!("{}/{}", c.account, c.name),
                    "details": c.details,
                })
            })
            .collect();
        print_json(&json!({
            "dry_run": dry_run,
            "applied": r.applied,
            "changes": changes,
            "unchanged": r.unchanged,
        }));
        return;
    }
    for c in &r.changes {
        let who = format!("{}/{}", c.account, c.name);
        match c.action.as_str() {
            "create" => println!("+ create {who}"),
            "delete" => println!("- delete {who}"),
            _ => println!("~ update {who}: {}", c.details.join(", ")),
        }
    }
    if r.unchanged > 0 {
        println!("= {} unchanged", r.unchanged);
    }
    if r.changes.is_empty() {
        println!("no changes");
    } else if dry_run {
        println!(
            "dry run: nothing written ({} change(s) planned)",
            r.changes.len()
        );
    } else {
        println!("applied {} change(s)", r.changes.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_misfire_come_from_the_typed_fields() {
        let t = v1::Template {
            kind: v1::ScheduleKind::Every.into(),
            misfire_policy: v1::MisfirePolicy::All.into(),
            ..Default::default()
        };
        assert_eq!((kind(&t), misfire(&t)), ("every".into(), "all".into()));
        let older = v1::Template {
            schedule_kind: "cron".into(),
            misfire: "skip".into(),
            ..Default::default()
        };
        assert_eq!(
            (kind(&older), misfire(&older)),
            ("cron".into(), "skip".into())
        );
    }
}
