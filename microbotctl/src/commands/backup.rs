//! `microbotctl backup create | verify | restore` (runbook 8.4). The daemon
//! takes the snapshot and owns the format; this side moves the bytes and
//! writes files with the operator's own permissions, mode 0600 from the
//! first byte (temp name in the same dir, fsync, rename).

use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use microbot_proto::v1::{self, CreateBackupRequest, UploadChunk, backup_chunk::Kind};
use serde_json::json;

use super::Ctx;
use crate::failure::Failure;
use crate::input;
use crate::output::{Format, print_object, print_rows};

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Take a consistent backup while the daemon keeps sending. Admin only.
    Create {
        /// Write to FILE (`-` = stdout).
        #[arg(long = "output", value_name = "FILE", conflicts_with_all = ["dir", "keep_days"])]
        output_file: Option<PathBuf>,
        /// Write microbot-<UTC timestamp>.tar.gz into D [default: the daemon's backup.dir].
        #[arg(long, value_name = "D")]
        dir: Option<PathBuf>,
        /// Afterwards delete this dir's microbot backups older than N days [default: backup.keep_days].
        #[arg(long, value_name = "N")]
        keep_days: Option<u32>,
    },
    /// Check checksums and manifest, restore into a scratch database, compare row counts.
    Verify {
        /// The archive (`-` = stdin); a regular file of at most 4 GiB.
        file: PathBuf,
    },
    /// Replace all data with a backup's (every scheduler is left stopped). Admin only.
    Restore {
        /// The archive (`-` = stdin); a regular file of at most 4 GiB.
        file: PathBuf,
        /// Restore even though schedulers are running.
        #[arg(long)]
        force: bool,
    },
}

/// Upload chunk size: well under gRPC's 4 MiB message limit.
const CHUNK: usize = 256 * 1024;

pub async fn run(ctx: &Ctx, cmd: BackupCommand) -> Result<ExitCode, Failure> {
    match cmd {
        BackupCommand::Create {
            output_file,
            dir,
            keep_days,
        } => create(ctx, output_file, dir, keep_days).await,
        BackupCommand::Verify { file } => verify(ctx, &file).await,
        BackupCommand::Restore { file, force } => restore(ctx, &file, force).await,
    }
}

/// Where the archive goes.
enum Dest {
    Stdout,
    File(PathBuf),
    /// A file in a backup dir that is pruned afterwards.
    Dir(PathBuf, u32),
}

async fn create(
    ctx: &Ctx,
    output: Option<PathBuf>,
    dir: Option<PathBuf>,
    keep_days: Option<u32>,
) -> Result<ExitCode, Failure> {
    let mut stream = ctx
        .client
        .backup()
        .create_backup(CreateBackupRequest {})
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    let header = match stream.message().await.map_err(|s| ctx.fail(s))? {
        Some(v1::BackupChunk {
            kind: Some(Kind::Header(h)),
        }) => h,
        _ => return Err(Failure::new("the daemon sent no backup header")),
    };
    let dest = match (output, dir) {
        (Some(p), _) if p.as_os_str() == "-" => Dest::Stdout,
        (Some(p), _) => Dest::File(p),
        (None, d) => Dest::Dir(
            d.unwrap_or_else(|| PathBuf::from(&header.default_dir)),
            keep_days.unwrap_or(header.keep_days),
        ),
    };
    let bar = progress(header.total_bytes, matches!(dest, Dest::Stdout));
    let mut sink: Box<dyn Write> = Box::new(std::io::sink());
    let mut target: Option<(PathBuf, PathBuf, std::fs::File)> = None;
    match &dest {
        Dest::Stdout => sink = Box::new(std::io::stdout().lock()),
        Dest::File(p) => target = Some(open_temp(p)?),
        Dest::Dir(d, _) => {
            std::fs::create_dir_all(d)
                .map_err(|e| Failure::new(format!("cannot create {}: {e}", d.display())))?;
            target = Some(open_temp(&d.join(&header.file_name))?);
        }
    }
    let mut written: u64 = 0;
    let result: Result<(), Failure> = async {
        while let Some(chunk) = stream.message().await.map_err(|s| ctx.fail(s))? {
            if let Some(Kind::Data(data)) = chunk.kind {
                let w: &mut dyn Write = match target.as_mut() {
                    Some((_, _, f)) => f,
                    None => &mut sink,
                };
                w.write_all(&data)
                    .map_err(|e| Failure::new(format!("writing the backup: {e}")))?;
                written += data.len() as u64;
                bar.set_position(written);
            }
        }
        if written != header.total_bytes {
            return Err(Failure::new(format!(
                "the backup stream ended after {written} of {} bytes",
                header.total_bytes
            )));
        }
        sink.flush()
            .map_err(|e| Failure::new(format!("writing the backup: {e}")))?;
        Ok(())
    }
    .await;
    bar.finish_and_clear();
    let path = match target {
        Some((tmp, path, file)) => {
            if let Err(f) = result.and_then(|()| commit(&tmp, &path, file)) {
                let _ = std::fs::remove_file(&tmp);
                return Err(f);
            }
            Some(path)
        }
        None => {
            result?;
            None
        }
    };
    let pruned = match &dest {
        Dest::Dir(d, days) => prune(d, *days, SystemTime::now())?,
        _ => Vec::new(),
    };
    if let Some(path) = path {
        let shown: Vec<String> = pruned.iter().map(|p| p.display().to_string()).collect();
        match ctx.format {
            Format::Json => print_object(
                ctx.format,
                &[
                    ("file", json!(path.display().to_string())),
                    ("bytes", json!(written)),
                    ("pruned", json!(shown)),
                ],
            ),
            Format::Table => {
                println!("backup written: {} ({written} bytes)", path.display());
                for p in shown {
                    println!("pruned: {p}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress bar on a terminal, nothing in pipes (or when the archive
/// itself goes to stdout).
fn progress(total: u64, to_stdout: bool) -> ProgressBar {
    if to_stdout || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} backup {bytes}/{total_bytes} [{bar:30}] {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// Creates `.<name>.tmp` beside `path`, mode 0600 from the start.
fn open_temp(path: &Path) -> Result<(PathBuf, PathBuf, std::fs::File), Failure> {
    let name = path
        .file_name()
        .ok_or_else(|| Failure::new(format!("{}: not a file name", path.display())))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| Failure::new(format!("cannot create {}: {e}", tmp.display())))?;
    Ok((tmp, path.to_path_buf(), file))
}

/// fsync, rename into place, fsync the directory.
fn commit(tmp: &Path, path: &Path, file: std::fs::File) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::new(format!("writing {}: {e}", path.display()));
    file.sync_all().map_err(fail)?;
    drop(file);
    std::fs::rename(tmp, path).map_err(fail)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail)?;
    }
    Ok(())
}

/// Whether `name` is a microbot backup: `microbot-YYYYMMDDTHHMMSSZ.tar.gz`.
/// Retention deletes only these.
pub fn is_backup_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix("microbot-")
        .and_then(|s| s.strip_suffix(".tar.gz"))
    else {
        return false;
    };
    let b = stamp.as_bytes();
    b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
}

/// Deletes `dir`'s microbot backups whose mtime is older than `keep_days`.
fn prune(dir: &Path, keep_days: u32, now: SystemTime) -> Result<Vec<PathBuf>, Failure> {
    let keep = Duration::from_secs(u64::from(keep_days) * 24 * 3600);
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::new(format!("cannot list {}: {e}", dir.display())))?;
    let mut pruned = Vec::new();
    for e in entries.filter_map(Result::ok) {
        if !is_backup_name(&e.file_name().to_string_lossy()) {
            continue;
        }
        let Ok(modified) = e.metadata().and_then(|m| m.modified()) else {
            continue;
        };
        if now.duration_since(modified).unwrap_or_default() > keep {
            std::fs::remove_file(e.path()).map_err(|err| {
                Failure::new(format!("cannot prune {}: {err}", e.path().display()))
            })?;
            pruned.push(e.path());
        }
    }
    pruned.sort();
    Ok(pruned)
}

/// The file (`-` = stdin) as a stream of upload chunks, read as they are
/// sent (never whole in memory) and never past [`input::BACKUP_FILE_CAP`];
/// `force` rides on the first chunk. A read error ends the upload early:
/// the daemon then sees a truncated archive, and the error is printed.
fn chunks(
    file: &Path,
    force: bool,
) -> Result<impl tokio_stream::Stream<Item = UploadChunk> + use<>, Failure> {
    let mut reader = input::open(file, input::BACKUP_FILE_CAP)?.take(input::BACKUP_FILE_CAP);
    let shown = file.display().to_string();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    std::thread::spawn(move || {
        let mut first = true;
        loop {
            let mut data = vec![0u8; CHUNK];
            let n = match reader.read(&mut data) {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("microbotctl: cannot read {shown}: {e}");
                    return;
                }
            };
            if n == 0 && !first {
                return;
            }
            data.truncate(n);
            first = false;
            if tx.blocking_send(UploadChunk { data, force }).is_err() || n == 0 {
                return;
            }
        }
    });
    Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn table_rows(tables: &[v1::TableCount]) -> Vec<Vec<serde_json::Value>> {
    tables
        .iter()
        .map(|t| vec![json!(t.table), json!(t.rows)])
        .collect()
}

/// Row counts per table as `-o json` prints them.
fn tables_json(tables: &[v1::TableCount]) -> serde_json::Value {
    json!(
        tables
            .iter()
            .map(|t| json!({"table": t.table, "rows": t.rows}))
            .collect::<Vec<_>>()
    )
}

async fn verify(ctx: &Ctx, file: &Path) -> Result<ExitCode, Failure> {
    let upload = chunks(file, false)?;
    let r = ctx
        .client
        .backup()
        .verify_backup(upload)
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    if !r.ok {
        return Err(Failure::new(format!(
            "{}: verify failed: {}",
            file.display(),
            r.problem
        )));
    }
    match ctx.format {
        Format::Json => print_object(
            ctx.format,
            &[
                ("ok", json!(true)),
                ("microbot_version", json!(r.microbot_version)),
                ("schema_version", json!(r.schema_version)),
                ("backend", json!(r.backend)),
                ("created_at", json!(r.created_at)),
                ("tables", tables_json(&r.tables)),
            ],
        ),
        Format::Table => {
            println!(
                "{}: OK (microbot {}, schema {}, from {}, taken {})",
                file.display(),
                r.microbot_version,
                r.schema_version,
                r.backend,
                r.created_at
            );
            print_rows(ctx.format, &["table", "rows"], &table_rows(&r.tables));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn restore(ctx: &Ctx, file: &Path, force: bool) -> Result<ExitCode, Failure> {
    let upload = chunks(file, force)?;
    let r = ctx
        .client
        .backup()
        .restore_backup(upload)
        .await
        .map_err(|s| ctx.fail(s))?
        .into_inner();
    match ctx.format {
        Format::Json => print_object(
            ctx.format,
            &[
                ("backend", json!(r.backend)),
                ("schedulers_stopped", json!(r.schedulers_stopped)),
                ("tables", tables_json(&r.tables)),
            ],
        ),
        Format::Table => {
            println!("restored {} into {}", file.display(), r.backend);
            print_rows(ctx.format, &["table", "rows"], &table_rows(&r.tables));
            println!(
                "every scheduler is stopped ({} accounts): review, then microbotctl scheduler start --all",
                r.schedulers_stopped
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_names() {
        assert!(is_backup_name("microbot-20261128T053000Z.tar.gz"));
        assert!(!is_backup_name("microbot-2026112T053000Z.tar.gz"));
        assert!(!is_backup_name("microbot-20261128T053000Z.tar"));
        assert!(!is_backup_name("notes.txt"));
    }

    #[test]
    fn prune_keeps_young_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("microbot-20200101T000000Z.tar.gz");
        let young = dir.path().join("microbot-20200102T000000Z.tar.gz");
        let foreign = dir.path().join("important.tar.gz");
        for p in [&old, &young, &foreign] {
            std::fs::write(p, b"x").unwrap();
        }
        let now = SystemTime::now() + Duration::from_secs(3 * 24 * 3600);
        let t = |days_ago: u64| now - Duration::from_secs(days_ago * 24 * 3600 + 60);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(t(5))
            .unwrap();
        std::fs::File::options()
            .write(true)
            .open(&young)
            .unwrap()
            .set_modified(t(1))
            .unwrap();
        std::fs::File::options()
            .write(true)
            .open(&foreign)
            .unwrap()
            .set_modified(t(50))
            .unwrap();
        assert_eq!(prune(dir.path(), 3, now).unwrap(), vec![old.clone()]);
        assert!(young.exists() && foreign.exists() && !old.exists());
    }
}
