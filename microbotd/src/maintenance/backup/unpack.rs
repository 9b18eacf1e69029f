//! [`read`]: an archive checked as it streams, with bounded memory. The
//! decompressed stream is capped (`backup.max_unpacked_bytes`), so a gzip
//! bomb stops at the cap; members go to anonymous temp files (hashed on
//! the way), never whole into memory; only the manifest (small, capped
//! at [`MANIFEST_CAP`]) and the parsed rows of a checked archive are held.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::Path;

use flate2::read::GzDecoder;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::archive::{Backup, MANIFEST, check_manifest};
use super::{BackupError, Manifest, data_path};
use crate::config::format_bytes;

/// The manifest lists a few dozen members: anything bigger is not ours.
const MANIFEST_CAP: u64 = 1 << 20;

/// Where [`read`] may put members and how much it may unpack.
#[derive(Debug, Clone, Copy)]
pub struct Limits<'a> {
    /// Cap on the decompressed stream (and so on every member).
    pub max_unpacked: u64,
    /// Directory for the members' anonymous temp files.
    pub scratch: &'a Path,
}

/// A member spooled to disk.
struct Member {
    file: File,
    sha256: String,
}

/// Counts decompressed bytes and fails with `FileTooLarge` past the cap.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Read one byte past the cap, so "exactly the cap" still passes.
        let want = buf
            .len()
            .min(usize::try_from(self.left + 1).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(io::Error::new(io::ErrorKind::FileTooLarge, "over the cap"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Hashes what passes through into the temp file.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Checks an archive from `src` against its manifest; `latest_schema` is
/// the newest schema version this build knows. Blocking.
pub fn read(src: impl Read, latest_schema: i64, limits: Limits<'_>) -> Result<Backup, BackupError> {
    let cap = limits.max_unpacked;
    let framing = |e: io::Error| match e.kind() {
        io::ErrorKind::UnexpectedEof => BackupError::invalid("truncated archive"),
        io::ErrorKind::FileTooLarge => BackupError::invalid(format!(
            "the archive unpacks to more than {} (backup.max_unpacked_bytes)",
            format_bytes(cap)
        )),
        _ => BackupError::invalid(format!("damaged archive: {e}")),
    };
    let mut src = BufReader::new(src);
    let head = src.fill_buf().map_err(framing)?;
    if head.len() < 2 || head[..2] != [0x1f, 0x8b] {
        return Err(BackupError::invalid(
            "not a microbot backup (not gzip-compressed)",
        ));
    }
    let gz = Capped {
        inner: GzDecoder::new(src),
        left: cap,
    };
    let mut archive = tar::Archive::new(gz);
    let mut manifest_bytes = None;
    let mut members: BTreeMap<String, Member> = BTreeMap::new();
    for entry in archive.entries().map_err(framing)? {
        let mut entry = entry.map_err(framing)?;
        let path = entry
            .path()
            .map_err(framing)?
            .to_string_lossy()
            .into_owned();
        if !entry.header().entry_type().is_file() {
            return Err(BackupError::invalid(format!("{path}: not a regular file")));
        }
        if path == MANIFEST {
            if entry.size() > MANIFEST_CAP {
                return Err(BackupError::invalid(format!(
                    "{MANIFEST}: larger than {}",
                    format_bytes(MANIFEST_CAP)
                )));
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data).map_err(framing)?;
            if manifest_bytes.replace(data).is_some() {
                return Err(BackupError::invalid(format!(
                    "{MANIFEST}: twice in the archive"
                )));
            }
            continue;
        }
        // The header's size is checked before a byte is read; the capped
        // stream catches a header that lies.
        if entry.size() > cap {
            return Err(framing(io::Error::from(io::ErrorKind::FileTooLarge)));
        }
        let file = tempfile::tempfile_in(limits.scratch).map_err(|e| {
            BackupError::Io(format!(
                "cannot make a temp file in {}: {e}",
                limits.scratch.display()
            ))
        })?;
        let mut sink = Hashing {
            inner: file,
            hash: Sha256::new(),
        };
        io::copy(&mut entry, &mut sink).map_err(framing)?;
        let member = Member {
            file: sink.inner,
            sha256: format!("{:x}", sink.hash.finalize()),
        };
        if members.insert(path.clone(), member).is_some() {
            return Err(BackupError::invalid(format!(
                "{path}: twice in the archive"
            )));
        }
    }
    // Read to the end of the gzip stream: its CRC and length catch damage
    // after the tar end marker, and the cap catches a bomb hiding there.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(framing)?;
    let manifest_bytes =
        manifest_bytes.ok_or_else(|| BackupError::invalid("manifest.json: missing"))?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| BackupError::invalid(format!("manifest.json: {e}")))?;
    check_manifest(&manifest, latest_schema)?;
    for m in &manifest.members {
        let member = members
            .get(&m.path)
            .ok_or_else(|| BackupError::invalid(format!("{}: missing from the archive", m.path)))?;
        if member.sha256 != m.sha256 {
            return Err(BackupError::invalid(format!("{}: sha256 mismatch", m.path)));
        }
    }
    if let Some(extra) = members
        .keys()
        .find(|p| !manifest.members.iter().any(|m| &m.path == *p))
    {
        return Err(BackupError::invalid(format!(
            "{extra}: not listed in manifest.json"
        )));
    }
    let mut tables = Vec::with_capacity(manifest.tables.len());
    for t in &manifest.tables {
        let path = data_path(&t.name);
        let member = members.remove(&path).ok_or_else(|| {
            BackupError::invalid(format!("manifest.json: no checksum for {path}"))
        })?;
        let rows = parse_jsonl(&path, member.file)?;
        if rows.len() as u64 != t.rows {
            return Err(BackupError::invalid(format!(
                "{path}: {} rows, manifest.json says {}",
                rows.len(),
                t.rows
            )));
        }
        tables.push((t.name.clone(), rows));
    }
    // A table a later schema added is restored empty from an older backup,
    // so `tables` always matches TABLES one to one.
    for (i, name) in crate::maintenance::tables::TABLES.iter().enumerate() {
        if tables.get(i).is_none_or(|(t, _)| t != name) {
            tables.insert(i, ((*name).to_owned(), Vec::new()));
        }
    }
    Ok(Backup { manifest, tables })
}

/// One JSON object per line, read line by line from the spooled member.
fn parse_jsonl(path: &str, mut file: File) -> Result<Vec<Map<String, Value>>, BackupError> {
    let io = |e: io::Error| BackupError::Io(format!("{path}: {e}"));
    file.rewind().map_err(io)?;
    let mut rows = Vec::new();
    for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = line.map_err(io)?;
        if line.is_empty() {
            continue;
        }
        let line = std::str::from_utf8(&line)
            .map_err(|_| BackupError::invalid(format!("{path}: not UTF-8")))?;
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(o)) => rows.push(o),
            Ok(_) => {
                return Err(BackupError::invalid(format!(
                    "{path} line {}: not a JSON object",
                    i + 1
                )));
            }
            Err(e) => {
                return Err(BackupError::invalid(format!("{path} line {}: {e}", i + 1)));
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests;
