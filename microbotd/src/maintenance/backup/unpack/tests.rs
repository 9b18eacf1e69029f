use std::io::Write;

use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;
use crate::maintenance::backup::archive::build;
use crate::maintenance::backup::snapshot::{Snapshot, TableData};
use crate::maintenance::tables::TABLES;

fn snapshot() -> Snapshot {
    Snapshot {
        schema_version: 1,
        tables: TABLES
            .iter()
            .map(|t| TableData::from_jsonl(t, 1, b"{\"id\":1}\n").unwrap())
            .collect(),
        sessions: Default::default(),
    }
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T05:30:00Z")
        .unwrap()
        .to_utc()
}

fn archive() -> (Manifest, Vec<u8>) {
    build(&mut snapshot(), "sqlite", "[daemon]\n", now(), Vec::new()).unwrap()
}

fn limits(dir: &Path, max_unpacked: u64) -> Limits<'_> {
    Limits {
        max_unpacked,
        scratch: dir,
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (m, bytes) = archive();
    let b = read(bytes.as_slice(), 1, limits(dir.path(), 1 << 20)).unwrap();
    assert_eq!(b.manifest, m);
    assert_eq!(b.tables.len(), TABLES.len());
    assert_eq!(b.tables[0].1[0]["id"], 1);
}

#[test]
fn damage_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let l = limits(dir.path(), 1 << 20);
    let (_, bytes) = archive();
    let err = read(&bytes[..bytes.len() / 2], 1, l)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "truncated archive");
    let err = read(&b"hello"[..], 1, l).unwrap_err().to_string();
    assert!(err.contains("not gzip"), "{err}");
    let err = read(bytes.as_slice(), 0, l).unwrap_err().to_string();
    assert!(
        err.starts_with("manifest.json: unknown schema version 1"),
        "{err}"
    );
}

#[test]
fn a_bomb_stops_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    // 64 MiB of zeros: tar reads them as its end marker; the rest of the
    // stream still counts.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    let err = read(bomb.as_slice(), 1, limits(dir.path(), 8 << 20))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "the archive unpacks to more than 8MiB (backup.max_unpacked_bytes)"
    );
}

#[test]
fn a_member_above_the_cap_is_refused_by_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(32 << 20);
    h.set_mode(0o600);
    h.set_cksum();
    tar.append_data(
        &mut h,
        "data/accounts.jsonl",
        std::io::repeat(b'x').take(32 << 20),
    )
    .unwrap();
    let bytes = gzip(&tar.into_inner().unwrap());
    let err = read(bytes.as_slice(), 1, limits(dir.path(), 8 << 20))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unpacks to more than 8MiB"), "{err}");
}

#[test]
fn links_and_repeats_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_cksum();
    tar.append_link(&mut h, "data/accounts.jsonl", "/etc/shadow")
        .unwrap();
    let bytes = gzip(&tar.into_inner().unwrap());
    let err = read(bytes.as_slice(), 1, limits(dir.path(), 1 << 20))
        .unwrap_err()
        .to_string();
    assert_eq!(err, "data/accounts.jsonl: not a regular file");
}

/// A backup of schema 9 (before attachments) has no `media` tables: it
/// reads with them empty, in their place, so it restores as before. A
/// schema-10 backup that lacks them is damaged.
#[test]
fn older_schemas_lack_the_tables_added_since() {
    let dir = tempfile::tempdir().unwrap();
    let without_media = |schema_version| Snapshot {
        schema_version,
        tables: crate::maintenance::tables::tables_of_schema(9)
            .iter()
            .map(|t| TableData::from_jsonl(t, 1, b"{\"id\":1}\n").unwrap())
            .collect(),
        sessions: Default::default(),
    };
    let mut older = without_media(9);
    assert_eq!(older.tables.len(), TABLES.len() - 2);
    let (_, bytes) = build(&mut older, "sqlite", "[daemon]\n", now(), Vec::new()).unwrap();
    let b = read(bytes.as_slice(), 10, limits(dir.path(), 1 << 20)).unwrap();
    let names: Vec<&str> = b.tables.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(names, TABLES);
    let media = names.iter().position(|t| *t == "media").unwrap();
    assert!(b.tables[media].1.is_empty());
    assert_eq!(b.tables[media + 2].1.len(), 1, "deliveries keep their rows");

    let (_, bytes) = build(
        &mut without_media(10),
        "sqlite",
        "[daemon]\n",
        now(),
        Vec::new(),
    )
    .unwrap();
    let err = read(bytes.as_slice(), 10, limits(dir.path(), 1 << 20)).unwrap_err();
    assert!(err.to_string().contains("tables are"), "{err}");
}
