//! `template create|edit --photo FILE | --video FILE | --document FILE`:
//! the files, in the order given across the three flags (an album keeps
//! it), read here and sent whole (the daemon may run as another user and
//! never opens the operator's paths; it checks each file's size and
//! content against its own `templates.max_media_bytes`).

use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches, value_parser};
use microbot_proto::v1;
use serde_json::{Value, json};

use crate::output::Format;

use crate::failure::Failure;
use crate::input;

/// The three flags as (arg id, kind, help).
const FLAGS: [(&str, &str, &str); 3] = [
    (
        "photo",
        "photo",
        "Attach a photo (JPEG, PNG or WebP); the text becomes its caption. Repeat the \
         attachment flags for an album of up to 10, in the order given",
    ),
    (
        "video",
        "video",
        "Attach a video (MP4, QuickTime, WebM or Matroska); photos and videos may share an album",
    ),
    (
        "document",
        "document",
        "Attach any file as a document; an album of documents holds documents only",
    ),
];

/// The attachment flags in command-line order. Written by hand (not
/// derived) because the order across three different flags is only in
/// clap's argument indices.
#[derive(Debug, Default)]
pub struct AttachFlags {
    /// (kind, path), in the order given.
    pub files: Vec<(&'static str, PathBuf)>,
}

impl FromArgMatches for AttachFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut files: Vec<(usize, &'static str, PathBuf)> = Vec::new();
        for (id, kind, _) in FLAGS {
            let (Some(values), Some(indices)) = (m.get_many::<PathBuf>(id), m.indices_of(id))
            else {
                continue;
            };
            files.extend(indices.zip(values).map(|(i, p)| (i, kind, p.clone())));
        }
        files.sort_by_key(|(i, _, _)| *i);
        Ok(AttachFlags {
            files: files.into_iter().map(|(_, k, p)| (k, p)).collect(),
        })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for AttachFlags {
    fn augment_args(mut cmd: Command) -> Command {
        for (id, _, help) in FLAGS {
            cmd = cmd.arg(
                Arg::new(id)
                    .long(id)
                    .value_name("FILE")
                    .value_parser(value_parser!(PathBuf))
                    .action(ArgAction::Append)
                    .help(help),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl AttachFlags {
    /// Reads every file, refusing a directory, an unreadable file or one
    /// larger than any daemon accepts, before anything is sent.
    pub fn read(&self) -> Result<Vec<v1::AttachmentUpload>, Failure> {
        self.files
            .iter()
            .map(|(kind, path)| {
                if path.as_os_str() == "-" {
                    return Err(Failure::new(format!(
                        "--{kind} -: attachments are read from files, not stdin"
                    )));
                }
                let data = input::read_bytes(path, input::MEDIA_FILE_CAP)?;
                let file_name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Ok(v1::AttachmentUpload {
                    kind: (*kind).to_owned(),
                    file_name,
                    data,
                })
            })
            .collect()
    }
}

/// The attachments: one line each in text (`photo chart.png 1234 bytes
/// sha256 …`), objects in JSON.
pub fn shown(format: Format, t: &v1::Template) -> Value {
    if format == Format::Json {
        return json!(
            t.attachments
                .iter()
                .map(|a| json!({
                    "kind": a.kind,
                    "file_name": a.file_name,
                    "mime": a.mime,
                    "size": a.size,
                    "sha256": a.sha256,
                }))
                .collect::<Vec<_>>()
        );
    }
    json!(
        t.attachments
            .iter()
            .map(|a| format!(
                "{} {} {} bytes sha256 {}",
                a.kind, a.file_name, a.size, a.sha256
            ))
            .collect::<Vec<_>>()
    )
}

/// Refuses a template file whose attachments, kept beside it under their
/// `file` names, no longer have the digest written next to them: applying
/// it would keep sending the stored bytes while the operator changed the
/// file. Attachments without a file beside the template file are the
/// stored ones and need nothing here.
pub fn check_unchanged(template_file: &Path, content: &str) -> Result<(), Failure> {
    let Ok(doc) = content.parse::<toml::Table>() else {
        return Ok(()); // the daemon reports the syntax error, with its line
    };
    let dir = template_file.parent().unwrap_or(Path::new("."));
    let entries = doc.get("template").and_then(|t| t.as_array());
    let attachments = entries
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("attachments")?.as_array())
        .flatten();
    for a in attachments {
        let (Some(file), Some(want)) = (
            a.get("file").and_then(|f| f.as_str()),
            a.get("sha256").and_then(|s| s.as_str()),
        ) else {
            continue;
        };
        let path = dir.join(file);
        if file.contains('/') || !path.is_file() {
            continue;
        }
        let bytes = input::read_bytes(&path, input::MEDIA_FILE_CAP)?;
        let got = hex_sha256(&bytes);
        if got != want {
            let mut f = Failure::new(format!(
                "{} changed: its sha256 is {got}, the template file says {want}; nothing applied",
                path.display()
            ));
            f.hint = Some(
                "attach the new content with `microbotctl template edit ID --photo|--video|\
                 --document FILE`, then export again"
                    .into(),
            );
            return Err(f);
        }
    }
    Ok(())
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    struct T {
        #[command(flatten)]
        a: AttachFlags,
    }

    #[test]
    fn order_is_kept_across_the_flags() {
        use clap::Parser;
        let t = T::try_parse_from([
            "t", "--video", "v.mp4", "--photo", "p1.png", "--video", "w.mp4", "--photo", "p2.png",
        ])
        .unwrap();
        let got: Vec<(&str, &str)> =
            t.a.files
                .iter()
                .map(|(k, p)| (*k, p.to_str().unwrap()))
                .collect();
        assert_eq!(
            got,
            [
                ("video", "v.mp4"),
                ("photo", "p1.png"),
                ("video", "w.mp4"),
                ("photo", "p2.png")
            ]
        );
    }
}
