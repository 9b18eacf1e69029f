//! The `Backup` service: the daemon takes the snapshot and owns the format;
//! archives travel in chunks, so the CLI reads and writes files with the
//! operator's own permissions.

use std::pin::Pin;

use microbot_proto::v1::{self, backup_server::Backup};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::context::Context;
use crate::events::Change;
use crate::maintenance::backup::{self, archive, restore, snapshot, verify};

use super::audit::{audited, caller_of};
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

/// Reads a client-streamed upload into memory; the first chunk's `force`.
async fn receive(mut stream: Streaming<v1::UploadChunk>) -> Result<(Vec<u8>, bool), Status> {
    let mut bytes = Vec::new();
    let mut force = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        force.get_or_insert(chunk.force);
        bytes.extend_from_slice(&chunk.data);
    }
    Ok((bytes, force.unwrap_or(false)))
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
        caller.require_admin("backup create")?;
        let ctx = &self.ctx;
        let at = ctx.now();
        let name = backup::file_name(at);
        let bytes = audited(ctx, &caller, "backup.create", Some(name.clone()), async {
            let snap = snapshot::take(&ctx.store).await.map_err(ApiError::from)?;
            let (manifest, bytes) = archive::build(
                &snap,
                ctx.store.backend().as_str(),
                &ctx.config.to_redacted_toml(),
                at,
            )
            .map_err(ApiError::from)?;
            tracing::info!(
                file = %name,
                bytes = bytes.len(),
                tables = manifest.tables.len(),
                "backup taken"
            );
            Ok(bytes)
        })
        .await?;
        let header = v1::BackupChunk {
            kind: Some(v1::backup_chunk::Kind::Header(v1::BackupHeader {
                file_name: name,
                default_dir: ctx.config.backup.dir.display().to_string(),
                keep_days: ctx.config.backup.keep_days,
                total_bytes: bytes.len() as u64,
            })),
        };
        let chunks: Vec<Result<v1::BackupChunk, Status>> = std::iter::once(Ok(header))
            .chain(bytes.chunks(CHUNK).map(|c| {
                Ok(v1::BackupChunk {
                    kind: Some(v1::backup_chunk::Kind::Data(c.to_vec())),
                })
            }))
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }

    async fn verify_backup(
        &self,
        req: Request<Streaming<v1::UploadChunk>>,
    ) -> Result<Response<v1::VerifyBackupResponse>, Status> {
        let (bytes, _) = receive(req.into_inner()).await?;
        let state_dir = &self.ctx.config.daemon.state_dir;
        Ok(Response::new(
            match verify::verify(&bytes, state_dir).await {
                Ok(b) => v1::VerifyBackupResponse {
                    ok: true,
                    problem: String::new(),
                    microbot_version: b.manifest.microbot_version,
                    schema_version: b.manifest.schema_version,
                    backend: b.manifest.backend,
                    created_at: b.manifest.created_at,
                    tables: counts(b.manifest.tables.into_iter().map(|t| (t.name, t.rows))),
                },
                Err(e) => v1::VerifyBackupResponse {
                    ok: false,
                    problem: e.to_string(),
                    ..Default::default()
                },
            },
        ))
    }

    async fn restore_backup(
        &self,
        req: Request<Streaming<v1::UploadChunk>>,
    ) -> Result<Response<v1::RestoreBackupResponse>, Status> {
        let caller = caller_of(&req)?;
        caller.require_admin("backup restore")?;
        let (bytes, force) = receive(req.into_inner()).await?;
        let ctx = &self.ctx;
        let target = Some(format!(
            "{} bytes{}",
            bytes.len(),
            if force { ", --force" } else { "" }
        ));
        audited(ctx, &caller, "backup.restore", target, async {
            let b = archive::read(&bytes, ctx.store.latest_schema_version())?;
            let r = restore::restore(&ctx.store, &b, force).await?;
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
