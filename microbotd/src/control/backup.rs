//! The `Backup` service: the daemon takes the snapshot and owns the format;
//! archives travel in chunks, so the CLI reads and writes files with the
//! operator's own permissions. Archives pass through anonymous temp files
//! in the state dir, never whole in memory: a new one is written on a
//! blocking thread and streamed from disk; an upload is spooled to disk as
//! it arrives, refused once it passes `backup.max_unpacked_bytes`, and
//! unpacked on a blocking thread under the same cap.

use std::io::{Read, Seek};
use std::pin::Pin;

use microbot_proto::v1::{self, backup_server::Backup};
use tokio::io::AsyncWriteExt;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::config::format_bytes;
use crate::context::Context;
use crate::events::Change;
use crate::maintenance::backup::{self, BackupError, archive, restore, snapshot, verify};

use super::audit::{audited, caller_of, require_admin};
use super::error::ApiError;

/// Bytes per streamed chunk: well under gRPC's 4 MiB message limit.
const CHUNK: usize = 256 * 1024;

pub struct BackupService {
    ctx: Context,
}

impl BackupService {
    pub fn new(ctx: Context) -> Self {
        BackupService { ctx }
    }
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<v1::BackupChunk, Status>> + Send>>;

/// A client-streamed upload, spooled to an anonymous temp file.
struct Upload {
    file: std::fs::File,
    bytes: u64,
    /// The first chunk's `force`.
    force: bool,
}

/// An anonymous temp file in the state dir (deleted when dropped).
fn spool_file(ctx: &Context) -> Result<std::fs::File, BackupError> {
    let dir = &ctx.config.daemon.state_dir;
    tempfile::tempfile_in(dir)
        .map_err(|e| BackupError::Io(format!("cannot make a temp file in {}: {e}", dir.display())))
}

/// Spools an upload to disk, refusing it once it passes the cap.
async fn receive(
    ctx: &Context,
    mut stream: Streaming<v1::UploadChunk>,
) -> Result<Result<Upload, BackupError>, Status> {
    let cap = ctx.config.backup.max_unpacked_bytes;
    let file = match spool_file(ctx) {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let mut out = tokio::fs::File::from_std(file);
    let io = |e: std::io::Error| BackupError::Io(format!("spooling the upload: {e}"));
    let mut bytes: u64 = 0;
    let mut force = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        force.get_or_insert(chunk.force);
        bytes += chunk.data.len() as u64;
        if bytes > cap {
            return Ok(Err(BackupError::invalid(format!(
                "the upload is larger than {} (backup.max_unpacked_bytes)",
                format_bytes(cap)
            ))));
        }
        if let Err(e) = out.write_all(&chunk.data).await {
            return Ok(Err(io(e)));
        }
    }
    let mut file = out.into_std().await;
    if let Err(e) = file.rewind() {
        return Ok(Err(io(e)));
    }
    Ok(Ok(Upload {
        file,
        bytes,
        force: force.unwrap_or(false),
    }))
}

/// Streams `file` from its start in [`CHUNK`]s, reading on a blocking thread.
fn stream_file(mut file: std::fs::File) -> ChunkStream {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let item = match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => Ok(v1::BackupChunk {
                    kind: Some(v1::backup_chunk::Kind::Data(buf[..n].to_vec())),
                }),
                Err(e) => Err(Status::internal(format!("reading the backup: {e}"))),
            };
            let stop = item.is_err();
            // The client went away: stop reading.
            if tx.blocking_send(item).is_err() || stop {
                return;
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

fn counts(tables: impl IntoIterator<Item = (String, u64)>) -> Vec<v1::TableCount> {
    tables
        .into_iter()
        .map(|(table, rows)| v1::TableCount { table, rows })
        .collect()
}

#[tonic::async_trait]
impl Backup for BackupService {
    type CreateBackupStream = ChunkStream;

    async fn create_backup(
        &self,
        req: Request<v1::CreateBackupRequest>,
    ) -> Result<Response<ChunkStream>, Status> {
        let caller = caller_of(&req)?;
        // The archive holds every session: as sensitive as the database.
        require_admin(&self.ctx, &caller, "backup.create", "backup create").await?;
        let ctx = &self.ctx;
        let at = ctx.now();
        let name = backup::file_name(at);
        let (file, total_bytes) =
            audited(ctx, &caller, "backup.create", Some(name.clone()), async {
                let mut snap = snapshot::take(&ctx.store, &ctx.config.daemon.state_dir)
                    .await
                    .map_err(ApiError::from)?;
                let file = spool_file(ctx)?;
                let backend = ctx.store.backend().as_str();
                let config = ctx.config.to_redacted_toml();
                let (manifest, mut file) = tokio::task::spawn_blocking(move || {
                    archive::build(&mut snap, backend, &config, at, file)
                })
                .await
                .map_err(|e| ApiError::Internal(format!("writing the backup: {e}")))??;
                let io = |e: std::io::Error| ApiError::Internal(format!("writing the backup: {e}"));
                let total_bytes = file.stream_position().map_err(io)?;
                file.rewind().map_err(io)?;
                tracing::info!(
                    file = %name,
                    bytes = total_bytes,
                    tables = manifest.tables.len(),
                    "backup taken"
                );
                Ok((file, total_bytes))
            })
            .await?;
        let header = v1::BackupChunk {
            kind: Some(v1::backup_chunk::Kind::Header(v1::BackupHeader {
                file_name: name,
                default_dir: ctx.config.backup.dir.display().to_string(),
                keep_days: ctx.config.backup.keep_days,
                total_bytes,
            })),
        };
        let chunks = tokio_stream::once(Ok(header)).chain(stream_file(file));
        Ok(Response::new(Box::pin(chunks)))
    }

    async fn verify_backup(
        &self,
        req: Request<Streaming<v1::UploadChunk>>,
    ) -> Result<Response<v1::VerifyBackupResponse>, Status> {
        let ctx = &self.ctx;
        let state_dir = &ctx.config.daemon.state_dir;
        let caps = verify::Caps::of(&ctx.config);
        let checked = match receive(ctx, req.into_inner()).await? {
            Ok(upload) => verify::verify(upload.file, state_dir, caps).await,
            Err(e) => Err(e),
        };
        Ok(Response::new(match checked {
            Ok(b) => v1::VerifyBackupResponse {
                ok: true,
                problem: String::new(),
                microbot_version: b.manifest.microbot_version.clone(),
                schema_version: b.manifest.schema_version,
                backend: b.manifest.backend.clone(),
                created_at: b.manifest.created_at.clone(),
                tables: counts(b.manifest.tables.iter().map(|t| (t.name.clone(), t.rows))),
            },
            Err(e) => v1::VerifyBackupResponse {
                ok: false,
                problem: e.to_string(),
                ..Default::default()
            },
        }))
    }

    async fn restore_backup(
        &self,
        req: Request<Streaming<v1::UploadChunk>>,
    ) -> Result<Response<v1::RestoreBackupResponse>, Status> {
        let caller = caller_of(&req)?;
        require_admin(&self.ctx, &caller, "backup.restore", "backup restore").await?;
        let ctx = &self.ctx;
        let upload = receive(ctx, req.into_inner()).await?;
        let target = Some(match &upload {
            Ok(u) => format!(
                "{} bytes{}",
                u.bytes,
                if u.force { ", --force" } else { "" }
            ),
            Err(_) => "upload refused".to_string(),
        });
        audited(ctx, &caller, "backup.restore", target, async {
            let upload = upload?;
            let force = upload.force;
            let b = verify::read_file(
                upload.file,
                ctx.store.latest_schema_version(),
                verify::Caps::of(&ctx.config),
                &ctx.config.daemon.state_dir,
            )
            .await?;
            let r = restore::restore(&ctx.store, &b, force).await?;
            // Sessions the archive held in clear are sealed at once, as at
            // start-up; ones sealed under a key this daemon lacks stay as
            // they are (shown `sealed`).
            let sealed = ctx.store.seal_plain_sessions().await.map_err(|e| {
                tracing::error!(error = %e, "sealing restored sessions failed");
                e
            });
            if let Ok(n @ 1..) = sealed {
                tracing::warn!(
                    sealed = n,
                    "sealed restored Telegram sessions that were in clear"
                );
            }
            let unopened = ctx.store.sealed_accounts().await.unwrap_or_default();
            if !unopened.is_empty() {
                tracing::warn!(
                    accounts = unopened.len(),
                    key_ids = %b.manifest.session_key_ids.join(","),
                    "restored sessions sealed under a session key this daemon does not have; \
                     those accounts show as sealed until it gets the key"
                );
            }
            ctx.events.send(Change::All);
            tracing::warn!(
                from = %b.manifest.created_at,
                backend = %b.manifest.backend,
                schedulers_stopped = r.schedulers_stopped,
                "backup restored; every scheduler is stopped for review"
            );
            Ok(Response::new(v1::RestoreBackupResponse {
                tables: counts(r.tables),
                backend: ctx.store.backend().as_str().into(),
                schedulers_stopped: r.schedulers_stopped,
            }))
        })
        .await
    }
}
