//! The `.tar.gz` itself: [`build`] writes a [`Snapshot`] and the redacted
//! config with a manifest into any writer; [`read`] (in `unpack`) checks
//! an archive — gzip and tar framing, manifest, every sha256, row counts,
//! size caps — before anything touches a database. Both are blocking: the
//! control service runs them on blocking threads.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Map, Value};

use super::snapshot::Snapshot;
use super::{BackupError, FORMAT, Manifest, MemberEntry, TableEntry, data_path};
use crate::maintenance::tables::TABLES;

pub use super::unpack::read;

pub const MANIFEST: &str = "manifest.json";
pub const CONFIG: &str = "config.toml";

/// A checked archive, ready to restore.
#[derive(Debug, Clone)]
pub struct Backup {
    pub manifest: Manifest,
    /// Rows per table, in [`TABLES`] order.
    pub tables: Vec<(String, Vec<Map<String, Value>>)>,
}

/// Writes the archive into `out`: manifest first, then the data, then the
/// config. Returns the manifest and `out`.
pub fn build<W: Write>(
    snapshot: &mut Snapshot,
    backend: &str,
    config_toml: &str,
    created_at: DateTime<Utc>,
    out: W,
) -> Result<(Manifest, W), BackupError> {
    let mut members: Vec<MemberEntry> = snapshot
        .tables
        .iter()
        .map(|t| MemberEntry {
            path: data_path(&t.name),
            sha256: t.sha256.clone(),
        })
        .collect();
    members.push(MemberEntry {
        path: CONFIG.to_string(),
        sha256: crate::telegram::media::sha256_hex(config_toml.as_bytes()),
    });
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
        members,
        session_key_ids: snapshot.sessions.key_ids.clone(),
        sessions_in_clear: snapshot.sessions.in_clear,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Io(format!("manifest: {e}")))?;
    let io = |e: std::io::Error| BackupError::Io(format!("writing the archive: {e}"));
    let gz = GzEncoder::new(out, Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mtime = u64::try_from(created_at.timestamp()).unwrap_or(0);
    let mut append = |path: &str, size: u64, data: &mut dyn std::io::Read| {
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o600);
        h.set_mtime(mtime);
        h.set_cksum();
        tar.append_data(&mut h, path, data)
    };
    append(
        MANIFEST,
        manifest_json.len() as u64,
        &mut manifest_json.as_slice(),
    )
    .map_err(io)?;
    for t in &mut snapshot.tables {
        append(&data_path(&t.name), t.bytes, &mut t.file).map_err(io)?;
    }
    append(
        CONFIG,
        config_toml.len() as u64,
        &mut config_toml.as_bytes(),
    )
    .map_err(io)?;
    let gz = tar.into_inner().map_err(io)?;
    let out = gz.finish().map_err(io)?;
    Ok((manifest, out))
}

/// The manifest names our format, a schema we know and exactly our tables.
pub(super) fn check_manifest(m: &Manifest, latest_schema: i64) -> Result<(), BackupError> {
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
    // An older schema's backup may lack the tables added since.
    let expected = crate::maintenance::tables::tables_of_schema(m.schema_version);
    if order != TABLES && order != expected {
        return Err(BackupError::invalid(format!(
            "manifest.json: tables are {order:?}, expected {expected:?}"
        )));
    }
    Ok(())
}
