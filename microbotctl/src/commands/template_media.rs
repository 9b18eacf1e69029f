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

/// (file, sha256) of every attachment a template file names.
fn named_files(content: &str) -> Vec<(String, String)> {
    let Ok(doc) = content.parse::<toml::Table>() else {
        return Vec::new(); // the daemon reports the syntax error, with its line
    };
    let entries = doc.get("template").and_then(|t| t.as_array());
    entries
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("attachments")?.as_array())
        .flatten()
        .filter_map(|a| {
            Some((
                a.get("file")?.as_str()?.to_owned(),
                a.get("sha256")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// `file` as a path under `dir`, or `None` when it would leave it.
fn under(dir: &Path, file: &str) -> Option<PathBuf> {
    let rel = Path::new(file);
    let plain = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    plain.then(|| dir.join(rel))
}

/// The attachment files kept beside a template file under their `file`
/// paths, each once, for `template apply` to send. One whose digest is not
/// the one written next to it (the file changed) is refused: applying
/// would send other bytes than the file says. Attachments whose file is
/// not there name files the database already holds.
pub fn files_beside(
    template_file: &Path,
    content: &str,
) -> Result<Vec<v1::AttachmentFile>, Failure> {
    let dir = template_file.parent().unwrap_or(Path::new("."));
    let mut out: Vec<v1::AttachmentFile> = Vec::new();
    for (file, want) in named_files(content) {
        let Some(path) = under(dir, &file).filter(|p| p.is_file()) else {
            continue;
        };
        if out.iter().any(|f| f.sha256 == want) {
            continue;
        }
        let data = input::read_bytes(&path, input::MEDIA_FILE_CAP)?;
        let got = hex_sha256(&data);
        if got != want {
            let mut f = Failure::new(format!(
                "{} changed: its sha256 is {got}, the template file says {want}; nothing applied",
                path.display()
            ));
            f.hint = Some(
                "put the new digest in the template file to send the new content (or restore the \
                 file)"
                    .into(),
            );
            return Err(f);
        }
        out.push(v1::AttachmentFile { sha256: got, data });
    }
    Ok(out)
}

/// Writes each attachment of an exported template file beside it, under
/// its `file` path; a file already there with the same content is left
/// alone, one with other content is refused (it was changed since an
/// earlier export: apply or move it first).
pub fn write_beside(
    template_file: &Path,
    content: &str,
    files: &[v1::AttachmentFile],
) -> Result<usize, Failure> {
    let dir = template_file.parent().unwrap_or(Path::new("."));
    let mut written = 0;
    for (file, sha256) in named_files(content) {
        let Some(data) = files.iter().find(|f| f.sha256 == sha256).map(|f| &f.data) else {
            continue;
        };
        let path = under(dir, &file)
            .ok_or_else(|| Failure::new(format!("{file}: not a path under {}", dir.display())))?;
        let cannot =
            |e: std::io::Error| Failure::new(format!("cannot write {}: {e}", path.display()));
        if path.exists() {
            let there = input::read_bytes(&path, input::MEDIA_FILE_CAP)?;
            if hex_sha256(&there) == sha256 {
                continue;
            }
            return Err(Failure::new(format!(
                "{} exists with other content; nothing exported (apply or move it first)",
                path.display()
            )));
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(cannot)?;
        }
        std::fs::write(&path, data).map_err(cannot)?;
        written += 1;
    }
    Ok(written)
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
