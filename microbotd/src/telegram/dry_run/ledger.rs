//! The dry-run ledger file: JSONL records, crash recovery on open, and
//! appends that are on disk before a send is acknowledged. A line is a
//! message ([`LedgerEntry`]) or a call on one already sent
//! ([`LedgerAction`]: a pin or a delete).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::DryRunError;
use crate::telegram::PeerKind;

/// One accepted message, one line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The account's operator name, for people reading the ledger.
    pub account: String,
    /// The account's database id: de-duplication and message ids follow
    /// the account, not its (renamable) name.
    pub account_id: i64,
    /// The target as the operator wrote it.
    pub chat: String,
    pub peer_id: i64,
    #[serde(with = "peer_kind")]
    pub peer_kind: PeerKind,
    #[serde(default)]
    pub access_hash: Option<i64>,
    pub text: String,
    pub parse_mode: String,
    pub random_id: i64,
    pub template_id: Option<i64>,
    pub slot: Option<DateTime<Utc>>,
    pub sent_at: DateTime<Utc>,
    pub message_id: i64,
    /// Send options; absent (false) on lines of older versions.
    #[serde(default, skip_serializing_if = "is_false")]
    pub silent: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_preview: bool,
    /// Files sent with the text (its caption), in order; absent on text
    /// messages and on lines of older versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<LedgerAttachment>,
    /// An album's other items' message ids (`message_id` is the first's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub album_ids: Vec<i64>,
}

/// One attachment of a [`LedgerEntry`]: `sha256` is the digest of the
/// bytes the dry run loaded, so the ledger proves they were there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerAttachment {
    pub kind: String,
    pub file_name: String,
    pub sha256: String,
    pub size: u64,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a [`LedgerAction`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Pin,
    Delete,
}

/// A pin or delete of a message sent before, one line of the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerAction {
    pub action: ActionKind,
    pub account: String,
    pub account_id: i64,
    pub chat: String,
    pub peer_id: i64,
    pub message_id: i64,
    /// Pins only: whether the chat was notified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
    pub at: DateTime<Utc>,
}

/// One line: a message, or an action on one (told apart by `action`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerLine {
    Message(LedgerEntry),
    Action(LedgerAction),
}

mod peer_kind {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::telegram::PeerKind;

    pub fn serialize<S: Serializer>(kind: &PeerKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PeerKind, D::Error> {
        let s = String::deserialize(d)?;
        PeerKind::parse(&s).ok_or_else(|| D::Error::custom(format!("unknown peer kind {s:?}")))
    }
}

/// The open ledger file. Only ever used under the messenger's lock, so
/// `len` always matches what this process has written.
pub struct Ledger {
    path: PathBuf,
    file: File,
    /// Length of the file up to the last complete, fsynced line: a failed
    /// append is cut back to it so the next one starts on a fresh line.
    len: u64,
    /// Set when a failed append could not be undone; every later append is
    /// refused rather than risk writing after a partial line.
    broken: bool,
}

impl Ledger {
    /// Opens (creating if needed) the ledger and returns every message in it
    /// (actions change nothing de-duplication or message ids depend on).
    ///
    /// An unparseable last line is the trace of a crash mid-append: that
    /// append was never acknowledged, so it is cut off. An unparseable line
    /// anywhere else means the file was damaged or edited, and guessing
    /// would break de-duplication, so it is an error.
    pub fn open(path: &Path) -> Result<(Self, Vec<LedgerEntry>), DryRunError> {
        let io_err = |source| DryRunError::Io {
            path: path.to_owned(),
            source,
        };
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io_err)?;
        if !existed {
            sync_parent_dir(path).map_err(io_err)?;
        }
        // Two writers (a second daemon, a stale process) would each keep
        // their own de-duplication index and hand out clashing message ids.
        // The lock lives as long as the file handle.
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(DryRunError::Locked {
                    path: path.to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(e)),
        }
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(io_err)?;

        let (entries, keep) = parse(path, &data)?;
        let mut len = data.len() as u64;
        if let Some(keep) = keep {
            tracing::warn!(
                path = %path.display(),
                dropped_bytes = len - keep as u64,
                "dry-run ledger ends with a torn line (crash mid-append); dropping it"
            );
            file.set_len(keep as u64).map_err(io_err)?;
            len = keep as u64;
        } else if !data.is_empty() && data.last() != Some(&b'\n') {
            // A complete record whose newline never made it: keep the
            // record, and finish its line so the next append stands alone.
            file.write_all(b"\n").map_err(io_err)?;
            len += 1;
        }
        file.sync_data().map_err(io_err)?;
        let ledger = Ledger {
            path: path.to_owned(),
            file,
            len,
            broken: false,
        };
        Ok((ledger, entries))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and fsyncs it. Blocking: call off the async
    /// executor threads.
    pub fn append<T: Serialize>(&mut self, entry: &T) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(
                "an earlier failed append could not be undone; restart to recover the ledger",
            ));
        }
        let mut line = serde_json::to_vec(entry).map_err(io::Error::other)?;
        line.push(b'\n');
        let written = self
            .file
            .write_all(&line)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += line.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Cut back any partial line; after a failed fsync the data
                // may or may not be on disk, and the caller will be told
                // the send failed, so it must not count later either.
                let undone = self
                    .file
                    .set_len(self.len)
                    .and_then(|()| self.file.sync_data());
                if undone.is_err() {
                    self.broken = true;
                }
                Err(e)
            }
        }
    }
}

/// One line; an `action` key makes it an action. (Not `untagged`: its
/// errors would not say which field of a message is wrong.)
fn parse_line(chunk: &[u8]) -> Result<LedgerLine, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(chunk)?;
    if value.get("action").is_some() {
        serde_json::from_value(value).map(LedgerLine::Action)
    } else {
        serde_json::from_value(value).map(LedgerLine::Message)
    }
}

/// Parses the whole file. Returns the entries and, when the last line is
/// torn, the length to truncate the file to.
fn parse(path: &Path, data: &[u8]) -> Result<(Vec<LedgerEntry>, Option<usize>), DryRunError> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (n, chunk) in data.split(|b| *b == b'\n').enumerate() {
        if !chunk.iter().all(u8::is_ascii_whitespace) {
            lines.push((n + 1, start, chunk));
        }
        start += chunk.len() + 1;
    }
    let mut entries = Vec::with_capacity(lines.len());
    let last = lines.len().checked_sub(1);
    for (i, (line, offset, chunk)) in lines.into_iter().enumerate() {
        match parse_line(chunk) {
            Ok(LedgerLine::Message(entry)) => entries.push(entry),
            Ok(LedgerLine::Action(_)) => {}
            Err(_) if Some(i) == last => return Ok((entries, Some(offset))),
            Err(source) => {
                return Err(DryRunError::Corrupt {
                    path: path.to_owned(),
                    line,
                    source,
                });
            }
        }
    }
    Ok((entries, None))
}

/// A new file's directory entry must be durable too, or a crash could lose
/// the whole ledger along with every de-duplication record in it.
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}
