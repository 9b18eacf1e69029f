//! Attachment bytes and the templates that send them.
//!
//! `media` holds each file once, named by the SHA-256 of its bytes, shared
//! by every template that sends it; `template_media` lists a template's
//! attachments in order. A file no template refers to any more is deleted
//! by [`Tx::media_prune`], which every edit, delete and apply runs last in
//! its own transaction (last, so an apply that moves a file from one
//! template to another never deletes it in between): the table never
//! outgrows the templates.
//!
//! The send path reads no bytes: the dispatcher's and the outbox's template
//! reads carry the attachments' metadata as one extra column
//! ([`Store::attachments_sql`]), and a transport that needs the bytes asks
//! [`StoreMedia`].

use std::sync::Arc;

use async_trait::async_trait;

use super::tx::{Tx, on_tx};
use super::{Backend, Store, StoreError, on_pool};
use crate::telegram::{Attachment, MediaKind, MediaSource, TelegramError};

/// One stored file, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MediaRow {
    pub sha256: String,
    pub size: i64,
    pub mime: String,
    pub created_at: i64,
    /// How many templates send it.
    pub templates: i64,
}

/// One row of `template_media` joined with its file's metadata.
#[derive(sqlx::FromRow)]
struct AttachmentRow {
    template_id: i64,
    kind: String,
    file_name: String,
    mime: String,
    size: i64,
    sha256: String,
}

impl AttachmentRow {
    fn into_attachment(self) -> Attachment {
        Attachment {
            // Only the three kinds are ever written; a hand-edited row
            // still sends, as a file.
            kind: MediaKind::parse(&self.kind).unwrap_or(MediaKind::Document),
            file_name: self.file_name,
            mime: self.mime,
            size: self.size,
            sha256: self.sha256,
        }
    }
}

const ATTACHMENTS: &str = "SELECT m.template_id, m.kind, m.file_name, f.mime, f.size, m.sha256
     FROM template_media m JOIN media f ON f.sha256 = m.sha256";

impl Store {
    /// The bytes stored under `sha256`, if any.
    pub async fn media_get(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, Vec<u8>>(
            "SELECT bytes FROM media WHERE sha256 = $1"
        ).bind(sha256).fetch_optional(p).await)?)
    }

    /// Every stored file by digest, with how many templates send it.
    pub async fn media_list(&self) -> Result<Vec<MediaRow>, StoreError> {
        Ok(on_pool!(self, p => sqlx::query_as::<_, MediaRow>(
            "SELECT f.sha256, f.size, f.mime, f.created_at,
                    (SELECT COUNT(DISTINCT m.template_id) FROM template_media m
                     WHERE m.sha256 = f.sha256) AS templates
             FROM media f ORDER BY f.sha256"
        ).fetch_all(p).await)?)
    }

    /// The attachments of one template, in order.
    pub async fn template_attachments(&self, id: i64) -> Result<Vec<Attachment>, StoreError> {
        let sql = format!("{ATTACHMENTS} WHERE m.template_id = $1 ORDER BY m.position");
        let rows = on_pool!(self, p => sqlx::query_as::<_, AttachmentRow>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_all(p).await)?;
        Ok(rows
            .into_iter()
            .map(AttachmentRow::into_attachment)
            .collect())
    }

    /// The attachments of every template that has some, by template id.
    pub async fn attachments_all(
        &self,
    ) -> Result<std::collections::HashMap<i64, Vec<Attachment>>, StoreError> {
        let sql = format!("{ATTACHMENTS} ORDER BY m.template_id, m.position");
        let rows = on_pool!(self, p => sqlx::query_as::<_, AttachmentRow>(sqlx::AssertSqlSafe(sql))
            .fetch_all(p).await)?;
        let mut map: std::collections::HashMap<i64, Vec<Attachment>> = Default::default();
        for r in rows {
            map.entry(r.template_id)
                .or_default()
                .push(r.into_attachment());
        }
        Ok(map)
    }

    /// A scalar subquery, for a SELECT over templates aliased `t`, that
    /// yields the template's attachments as JSON text ([`parse_attachments`]):
    /// the dispatcher and the outbox read them with the template's own row,
    /// in the same statement, so attachments add no round trip to a send.
    pub(crate) fn attachments_sql(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => {
                "(SELECT json_group_array(json_array(m.kind, m.file_name, f.mime, f.size, m.sha256)
                     ORDER BY m.position)
                  FROM template_media m JOIN media f ON f.sha256 = m.sha256
                  WHERE m.template_id = t.id) AS attachments"
            }
            Backend::Postgres => {
                "(SELECT json_agg(json_build_array(m.kind, m.file_name, f.mime, f.size, m.sha256)
                     ORDER BY m.position)::text
                  FROM template_media m JOIN media f ON f.sha256 = m.sha256
                  WHERE m.template_id = t.id) AS attachments"
            }
        }
    }
}

/// The attachments of [`Store::attachments_sql`]'s column (NULL or `[]`:
/// none). A malformed value reads as none: it cannot come from this code.
pub fn parse_attachments(json: Option<&str>) -> Arc<[Attachment]> {
    type Item = (String, String, String, i64, String);
    let Some(json) = json.filter(|j| j.len() > 2) else {
        return Arc::from([]);
    };
    let items: Vec<Item> = serde_json::from_str(json).unwrap_or_default();
    items
        .into_iter()
        .map(|(kind, file_name, mime, size, sha256)| Attachment {
            kind: MediaKind::parse(&kind).unwrap_or(MediaKind::Document),
            file_name,
            mime,
            size,
            sha256,
        })
        .collect()
}

impl Tx {
    /// Stores `bytes` under their digest `sha256` (already there: nothing
    /// changes, the content is the same by its name).
    pub async fn media_put(
        &mut self,
        sha256: &str,
        mime: &str,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        on_tx!(self, c => sqlx::query(
            "INSERT INTO media (sha256, size, mime, created_at, bytes) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (sha256) DO NOTHING"
        )
        .bind(sha256).bind(bytes.len() as i64).bind(mime).bind(now_ms).bind(bytes)
        .execute(&mut *c).await.map(drop))?;
        Ok(())
    }

    /// The attachments of one template, in order, read inside the
    /// transaction.
    pub async fn template_attachments(&mut self, id: i64) -> Result<Vec<Attachment>, StoreError> {
        let sql = format!("{ATTACHMENTS} WHERE m.template_id = $1 ORDER BY m.position");
        let rows = on_tx!(self, c => sqlx::query_as::<_, AttachmentRow>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_all(&mut *c).await)?;
        Ok(rows
            .into_iter()
            .map(AttachmentRow::into_attachment)
            .collect())
    }

    /// Replaces a template's attachments with `list`, in order; every
    /// digest must already be stored ([`Tx::media_put`]). Files that lost
    /// their last template stay until [`Tx::media_prune`].
    pub async fn template_set_attachments(
        &mut self,
        id: i64,
        list: &[Attachment],
    ) -> Result<(), StoreError> {
        on_tx!(self, c => sqlx::query("DELETE FROM template_media WHERE template_id = $1")
            .bind(id).execute(&mut *c).await.map(drop))?;
        // At most ten rows (the album limit): a statement each is cheap.
        for (position, a) in list.iter().enumerate() {
            on_tx!(self, c => sqlx::query(
                "INSERT INTO template_media (template_id, position, kind, file_name, sha256)
                 VALUES ($1, $2, $3, $4, $5)"
            )
            .bind(id).bind(position as i64).bind(a.kind.as_str()).bind(&a.file_name)
            .bind(&a.sha256)
            .execute(&mut *c).await.map(drop))?;
        }
        Ok(())
    }

    /// Deletes the files no template refers to; returns how many went.
    pub async fn media_prune(&mut self) -> Result<u64, StoreError> {
        Ok(on_tx!(self, c => sqlx::query(
            "DELETE FROM media WHERE NOT EXISTS
                 (SELECT 1 FROM template_media m WHERE m.sha256 = media.sha256)"
        ).execute(&mut *c).await?.rows_affected()))
    }
}

/// The daemon's [`MediaSource`]: attachment bytes from the database.
#[derive(Clone)]
pub struct StoreMedia {
    store: Store,
}

impl StoreMedia {
    pub fn new(store: Store) -> Self {
        StoreMedia { store }
    }
}

#[async_trait]
impl MediaSource for StoreMedia {
    async fn load(&self, sha256: &str) -> Result<Arc<[u8]>, TelegramError> {
        match self.store.media_get(sha256).await {
            Ok(Some(bytes)) => Ok(Arc::from(bytes)),
            Ok(None) => Err(TelegramError::MediaMissing {
                sha256: sha256.to_owned(),
            }),
            Err(e) => Err(TelegramError::Transient(format!(
                "reading attachment {sha256}: {e}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
