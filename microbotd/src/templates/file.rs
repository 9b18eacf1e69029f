//! The declarative template file of `template apply` / `template export`.
//!
//! ```toml
//! [[template]]
//! account = "sales-tr"          # required
//! name = "daily-report"         # required; (account, name) is the key
//! chats = ["@ops_channel", "-1001234567890"]   # required, at least one
//! cron = "0 9 * * 1-5"          # exactly one of cron / every ("90m") /
//!                               # at ("2026-12-01T10:00", local, once)
//! timezone = "Europe/Istanbul"  # default: scheduler.default_timezone
//! text = """..."""              # required
//! parse_mode = "plain"          # plain | markdown | html (default plain)
//! misfire = "once"              # skip | once | all (default once)
//! active = true                 # default true
//! silent = true                 # send options, each default false:
//! no_preview = true             #   no notification sound, no link preview,
//! pin = true                    #   pin the message (pin_notify: notify),
//! pin_notify = false            #   delete the previous one once sent
//! replace_previous = true
//! [[template.attachments]]     # in order; more than one is an album
//! kind = "photo"                # photo | video | document
//! file = "media/ba7816bf8f01/chart.png"   # beside this file; Telegram
//! sha256 = "ba7816bf…"          #   shows the last part as its name
//! ```
//!
//! Attachments are named by SHA-256. `microbotctl template export -f`
//! writes each file beside the template file under its `file` path
//! (`media/<first 12 hex digits>/<name>`, so equal names never collide) and
//! `template apply` sends the files it finds there, refusing one whose
//! digest is not the one written next to it (a changed file); an
//! attachment whose file is not there names a file the database already
//! holds. So export → apply changes nothing, and the daemon never opens the
//! operator's paths.
//!
//! Unknown keys (top level or in an entry) and a second entry with the same
//! (account, name) are errors. [`render`] writes every key explicitly
//! (send options only when set: false is their default), so export → apply
//! changes nothing.

use std::collections::HashMap;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::options::SendOptions;
use super::spec::{Field, FieldError, TemplateInput, TemplateSpec, validate};
use crate::store::states::ScheduleKind;
use crate::telegram::{Attachment, MediaKind};

/// The file as TOML sees it.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    template: Vec<Entry>,
}

/// One `[[template]]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub account: String,
    pub name: String,
    pub chats: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub misfire: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub silent: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_preview: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub pin: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub pin_notify: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub replace_previous: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<FileAttachment>,
}

/// One entry of `attachments`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAttachment {
    /// photo | video | document
    pub kind: String,
    /// Where the file is, relative to the template file; its last part is
    /// the name Telegram shows.
    pub file: String,
    /// Lower-case hex SHA-256 of a stored file.
    pub sha256: String,
}

/// What the database holds of a stored file: MIME type and size, by digest.
pub type StoredMedia = HashMap<String, (String, i64)>;

fn is_false(b: &bool) -> bool {
    !*b
}

impl Entry {
    fn to_input(&self, media: &StoredMedia) -> Result<TemplateInput, FieldError> {
        let attachments = self
            .attachments
            .iter()
            .map(|a| stored_attachment(a, media))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TemplateInput {
            account: self.account.clone(),
            name: self.name.clone(),
            chats: self.chats.clone(),
            cron: self.cron.clone(),
            every: self.every.clone(),
            at: self.at.clone(),
            timezone: self.timezone.clone(),
            text: self.text.clone(),
            parse_mode: self.parse_mode.clone(),
            misfire: self.misfire.clone(),
            active: self.active.unwrap_or(true),
            options: SendOptions {
                silent: self.silent,
                no_preview: self.no_preview,
                pin: self.pin,
                pin_notify: self.pin_notify,
                replace_previous: self.replace_previous,
            },
            attachments,
        })
    }

    /// The entry that describes `spec` completely (every key written).
    pub fn from_spec(spec: &TemplateSpec) -> Entry {
        let expr = Some(spec.schedule.expr.clone());
        let (cron, every, at) = match spec.schedule.kind {
            ScheduleKind::Every => (None, expr, None),
            ScheduleKind::Cron => (expr, None, None),
            ScheduleKind::At => (None, None, expr),
        };
        Entry {
            account: spec.account.clone(),
            name: spec.name.clone(),
            chats: spec.chats.clone(),
            cron,
            every,
            at,
            timezone: Some(spec.tz.name().to_owned()),
            text: spec.text.clone(),
            parse_mode: Some(spec.parse_mode.to_owned()),
            misfire: Some(spec.misfire.as_str().to_owned()),
            active: Some(spec.active),
            silent: spec.options.silent,
            no_preview: spec.options.no_preview,
            pin: spec.options.pin,
            pin_notify: spec.options.pin_notify,
            replace_previous: spec.options.replace_previous,
            attachments: spec
                .attachments
                .iter()
                .map(|a| FileAttachment {
                    kind: a.kind.as_str().to_owned(),
                    file: export_path(&a.sha256, &a.file_name),
                    sha256: a.sha256.clone(),
                })
                .collect(),
        }
    }
}

/// Where `template export -f` writes an attachment, relative to the
/// template file: one directory per content, so two files of the same name
/// never collide.
pub fn export_path(sha256: &str, file_name: &str) -> String {
    format!("media/{}/{file_name}", &sha256[..sha256.len().min(12)])
}

/// An `attachments` entry as the stored file it names.
fn stored_attachment(a: &FileAttachment, media: &StoredMedia) -> Result<Attachment, FieldError> {
    let err = |r: String| FieldError::new(Field::Attachment, r);
    let kind = MediaKind::parse(&a.kind).ok_or_else(|| {
        err(format!(
            "{}: unknown kind {:?} (photo, video or document)",
            a.file, a.kind
        ))
    })?;
    let Some((mime, size)) = media.get(&a.sha256) else {
        return Err(err(format!(
            "{}: no stored file has sha256 {:?}; attach new files with `template create|edit \
             --{}`",
            a.file, a.sha256, a.kind
        )));
    };
    let name = a.file.rsplit(['/', '\\']).next().unwrap_or_default();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err(err(format!("{:?}: not a file name", a.file)));
    }
    Ok(Attachment {
        kind,
        file_name: name.to_owned(),
        mime: mime.clone(),
        size: *size,
        sha256: a.sha256.clone(),
    })
}

/// Why a file cannot be applied. Names the entry and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    Syntax(String),
    #[error("template[{index}] ({account}/{name}): {field}: {reason}")]
    Invalid {
        /// 1-based position in the file.
        index: usize,
        account: String,
        name: String,
        field: &'static str,
        reason: String,
    },
    #[error("template[{index}] ({account}/{name}) is a duplicate of template[{first}]")]
    Duplicate {
        index: usize,
        first: usize,
        account: String,
        name: String,
    },
}

/// Reads and validates a whole file: every entry, in file order (with no
/// stored files: any attachment is refused).
pub fn parse(content: &str, default_tz: Tz) -> Result<Vec<TemplateSpec>, FileError> {
    parse_with_media(content, default_tz, &StoredMedia::new())
}

/// [`parse`], with attachments naming the files in `media`.
pub fn parse_with_media(
    content: &str,
    default_tz: Tz,
    media: &StoredMedia,
) -> Result<Vec<TemplateSpec>, FileError> {
    let doc: FileDoc = toml::from_str(content)
        .map_err(|e| FileError::Syntax(crate::toml_error::describe(content, &e)))?;
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let mut out = Vec::with_capacity(doc.template.len());
    for (i, entry) in doc.template.iter().enumerate() {
        let index = i + 1;
        let spec = entry
            .to_input(media)
            .and_then(|input| validate(&input, default_tz))
            .map_err(|e| FileError::Invalid {
                index,
                account: entry.account.clone(),
                name: entry.name.clone(),
                field: e.field.key(),
                reason: e.reason,
            })?;
        let key = (spec.account.clone(), spec.name.clone());
        if let Some(first) = seen.insert(key, index) {
            return Err(FileError::Duplicate {
                index,
                first,
                account: spec.account,
                name: spec.name,
            });
        }
        out.push(spec);
    }
    Ok(out)
}

/// Writes `specs` in the file format, every key explicit.
pub fn render(specs: &[TemplateSpec]) -> String {
    let doc = FileDoc {
        template: specs.iter().map(Entry::from_spec).collect(),
    };
    let body = toml::to_string_pretty(&doc).expect("template entries serialize");
    format!("# microbot templates: `microbotctl template apply -f FILE` reads this file.\n\n{body}")
}

#[cfg(test)]
mod tests;
