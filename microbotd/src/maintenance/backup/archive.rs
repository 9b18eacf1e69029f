//! The `.tar.gz` itself: [`build`] writes a [`Snapshot`] and the redacted
//! config with a manifest; [`read`] unpacks an upload and checks all of it
//! — gzip and tar framing, manifest, every sha256, row counts — before
//! anything touches a database.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::{DateTime, SecondsFormat, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::snapshot::Snapshot;
use super::{BackupError, FORMAT, Manifest, MemberEntry, TableEntry, data_path};
use crate::maintenance::tables::TABLES;

pub const MANIFEST: &str = "manifest.json";
pub const CONFIG: &str = "config.toml";

/// A checked archive, ready to restore.
#[derive(Debug, Clone)]
pub struct Backup {
    pub manifest: Manifest,
    /// Rows per table, in [`TABLES`] order.
    pub tables: Vec<(String, Vec<Map<String, Value>>)>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Writes the archive: manifest first, then the data, then the config.
pub fn build(
    snapshot: &Snapshot,
    backend: &str,
    config_toml: &str,
    created_at: DateTime<Utc>,
) -> Result<(Manifest, Vec<u8>), BackupError> {
    let mut members: Vec<(String, &[u8])> = snapshot
        .tables
        .iter()
        .map(|t| (data_path(&t.name), t.jsonl.as_slice()))
        .collect();
    members.push((CONFIG.to_string(), config_toml.as_bytes()));
    let manifest = Manifest {
        format: FORMAT,
        microbot_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: snapshot.schema_version,
        backend: backend.to_string(),
        created_at: created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        tables: snapshot
            .tables
            .iter()
            .map(|t| TableEntry {
                name: t.name.clone(),
                rows: t.rows,
            })
            .collect(),
        members: members
            .iter()
            .map(|(path, data)| MemberEntry {
                path: path.clone(),
                sha256: sha256_hex(data),
            })
            .collect(),
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Io(format!("manifest: {e}")))?;
    let io = |e: std::io::Error| BackupError::Io(format!("writing the archive: {e}"));
    let gz = GzEncoder::new(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mtime = u64::try_from(created_at.timestamp()).unwrap_or(0);
    let mut append = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_mtime(mtime);
        h.set_cksum();
        tar.append_data(&mut h, path, data)
    };
    append(MANIFEST, &manifest_json).map_err(io)?;
    for (path, data) in &members {
        append(path, data).map_err(io)?;
    }
    let gz = tar.into_inner().map_err(io)?;
    let bytes = gz.finish().map_err(io)?;
    Ok((manifest, bytes))
}

/// Unpacks every member; framing errors become one plain sentence.
fn unpack(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, BackupError> {
    let framing = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            BackupError::invalid("truncated archive")
        } else {
            BackupError::invalid(format!("damaged archive: {e}"))
        }
    };
    if bytes.len() < 2 || bytes[..2] != [0x1f, 0x8b] {
        return Err(BackupError::invalid(
            "not a microbot backup (not gzip-compressed)",
        ));
    }
    // Decompress fully first: gzip's own CRC and length catch truncation
    // and damage before tar reads anything.
    let mut tar_bytes = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut tar_bytes)
        .map_err(framing)?;
    let mut members = BTreeMap::new();
    let mut archive = tar::Archive::new(tar_bytes.as_slice());
    for entry in archive.entries().map_err(framing)? {
        let mut entry = entry.map_err(framing)?;
        let path = entry
            .path()
            .map_err(framing)?
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(framing)?;
        members.insert(path, data);
    }
    Ok(members)
}

/// Unpacks and checks an archive against its manifest; `latest_schema` is
/// the newest schema version this build knows.
pub fn read(bytes: &[u8], latest_schema: i64) -> Result<Backup, BackupError> {
    let mut members = unpack(bytes)?;
    let manifest_bytes = members
        .remove(MANIFEST)
        .ok_or_else(|| BackupError::invalid("manifest.json: missing"))?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| BackupError::invalid(format!("manifest.json: {e}")))?;
    check_manifest(&manifest, latest_schema)?;
    for m in &manifest.members {
        let data = members
            .get(&m.path)
            .ok_or_else(|| BackupError::invalid(format!("{}: missing from the archive", m.path)))?;
        if sha256_hex(data) != m.sha256 {
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
        let data = members.get(&path).ok_or_else(|| {
            BackupError::invalid(format!("manifest.json: no checksum for {path}"))
        })?;
        let rows = parse_jsonl(&path, data)?;
        if rows.len() as u64 != t.rows {
            return Err(BackupError::invalid(format!(
                "{path}: {} rows, manifest.json says {}",
                rows.len(),
                t.rows
            )));
        }
        tables.push((t.name.clone(), rows));
    }
    Ok(Backup { manifest, tables })
}

/// The manifest names our format, a schema we know and exactly our tables.
fn check_manifest(m: &Manifest, latest_schema: i64) -> Result<(), BackupError> {
    if m.format != FORMAT {
        return Err(BackupError::invalid(format!(
            "manifest.json: unknown format {}",
            m.format
        )));
    }
    if m.schema_version < 1 || m.schema_version > latest_schema {
        return Err(BackupError::invalid(format!(
            "manifest.json: unknown schema version {} (this microbot knows 1..={latest_schema})",
            m.schema_version
        )));
    }
    for t in &m.tables {
        if !TABLES.contains(&t.name.as_str()) {
            return Err(BackupError::invalid(format!(
                "manifest.json: unknown table {}",
                t.name
            )));
        }
    }
    let order: Vec<&str> = m.tables.iter().map(|t| t.name.as_str()).collect();
    if order != TABLES {
        return Err(BackupError::invalid(format!(
            "manifest.json: tables are {order:?}, expected {TABLES:?}"
        )));
    }
    Ok(())
}

fn parse_jsonl(path: &str, data: &[u8]) -> Result<Vec<Map<String, Value>>, BackupError> {
    let text = std::str::from_utf8(data)
        .map_err(|_| BackupError::invalid(format!("{path}: not UTF-8")))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, line)| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(o)) => Ok(o),
            Ok(_) => Err(BackupError::invalid(format!(
                "{path} line {}: not a JSON object",
                i + 1
            ))),
            Err(e) => Err(BackupError::invalid(format!("{path} line {}: {e}", i + 1))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::backup::snapshot::TableData;

    fn snapshot() -> Snapshot {
        Snapshot {
            schema_version: 1,
            tables: TABLES
                .iter()
                .map(|t| TableData {
                    name: t.to_string(),
                    rows: 1,
                    jsonl: b"{\"id\":1}\n".to_vec(),
                })
                .collect(),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T05:30:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn round_trip() {
        let (m, bytes) = build(&snapshot(), "sqlite", "[daemon]\n", now()).unwrap();
        let b = read(&bytes, 1).unwrap();
        assert_eq!(b.manifest, m);
        assert_eq!(b.tables.len(), TABLES.len());
        assert_eq!(b.tables[0].1[0]["id"], 1);
    }

    #[test]
    fn damage_is_named() {
        let (_, bytes) = build(&snapshot(), "sqlite", "", now()).unwrap();
        let err = read(&bytes[..bytes.len() / 2], 1).unwrap_err().to_string();
        assert_eq!(err, "truncated archive");
        let err = read(b"hello", 1).unwrap_err().to_string();
        assert!(err.contains("not gzip"), "{err}");
        let err = read(&bytes, 0).unwrap_err().to_string();
        assert!(
            err.starts_with("manifest.json: unknown schema version 1"),
            "{err}"
        );
    }
}
