//! Sending a message with attachments on the live transport: each file is
//! uploaded once per account (`upload.saveFilePart`, then
//! `messages.uploadMedia` for a reusable handle), the handles are kept in a
//! per-account [`MediaCache`], and the message goes out with
//! `messages.sendMedia` / `messages.sendMultiMedia` under the delivery's
//! committed `random_id`s.
//!
//! A handle can go stale (`FILE_REFERENCE_*`, `MEDIA_EMPTY`): then the files
//! are uploaded again and the send repeated once with the same ids, so
//! Telegram still de-duplicates it.
//!
//! The calls go through [`MediaCalls`] so the whole path is tested offline.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use grammers_client::Client;
use grammers_tl_types as tl;

use super::contained;
use super::media_tl::{MediaRequest, PartRequest, UploadPlan, media_request, reusable_media};
use super::rpc_map::{is_stale_media, map_invocation};
use crate::telegram::{Attachment, MediaKind, MediaSource, OutgoingText, Sent, TelegramError};

/// Handles kept per account. A handle is a few dozen bytes; the bound only
/// matters for a daemon that sends very many distinct files.
pub const MAX_CACHED: usize = 512;

/// The same bytes sent as a photo and as a document, or under two names,
/// are different uploads.
type MediaKey = (MediaKind, String, String, String);

fn key(att: &Attachment) -> MediaKey {
    (
        att.kind,
        att.sha256.clone(),
        att.file_name.clone(),
        att.mime.clone(),
    )
}

/// One account's uploaded files: handles (id, access hash, file
/// reference), never bytes. The oldest handle goes when the cache is full.
#[derive(Debug, Default)]
pub struct MediaCache {
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    handles: HashMap<MediaKey, tl::enums::InputMedia>,
    order: VecDeque<MediaKey>,
}

impl MediaCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, att: &Attachment) -> Option<tl::enums::InputMedia> {
        self.lock().handles.get(&key(att)).cloned()
    }

    pub(super) fn put(&self, att: &Attachment, media: tl::enums::InputMedia) {
        let mut c = self.lock();
        let k = key(att);
        if c.handles.insert(k.clone(), media).is_none() {
            c.order.push_back(k);
        }
        while c.order.len() > MAX_CACHED {
            if let Some(old) = c.order.pop_front() {
                c.handles.remove(&old);
            }
        }
    }

    fn forget(&self, att: &Attachment) {
        let mut c = self.lock();
        let k = key(att);
        if c.handles.remove(&k).is_some() {
            c.order.retain(|o| *o != k);
        }
    }

    /// Drops every handle (the account left this node or logged out).
    pub fn clear(&self) {
        let mut c = self.lock();
        c.handles.clear();
        c.order.clear();
    }

    pub fn len(&self) -> usize {
        self.lock().handles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().handles.is_empty()
    }
}

/// The Telegram calls a send with attachments makes.
#[async_trait]
pub trait MediaCalls: Send + Sync {
    /// `upload.saveFilePart` / `upload.saveBigFilePart`: true when stored.
    async fn save_part(&self, req: PartRequest) -> Result<bool, TelegramError>;
    async fn upload_media(
        &self,
        req: tl::functions::messages::UploadMedia,
    ) -> Result<tl::enums::MessageMedia, TelegramError>;
    async fn send(&self, req: MediaRequest) -> Result<tl::enums::Updates, TelegramError>;
}

/// Uploads one file: its parts, then `messages.uploadMedia` for a handle
/// sends can reuse. The bytes are dropped when this returns.
async fn upload(
    calls: &dyn MediaCalls,
    source: &dyn MediaSource,
    peer: &tl::enums::InputPeer,
    att: &Attachment,
) -> Result<tl::enums::InputMedia, TelegramError> {
    let bytes = source.load(&att.sha256).await?;
    let plan = UploadPlan::new(rand::random(), bytes.len());
    for index in 0..plan.parts {
        if !calls.save_part(plan.part(&bytes, index)).await? {
            return Err(TelegramError::Transient(format!(
                "Telegram did not store part {index} of {}",
                att.file_name
            )));
        }
    }
    drop(bytes);
    let answer = calls
        .upload_media(tl::functions::messages::UploadMedia {
            business_connection_id: None,
            peer: peer.clone(),
            media: super::media_tl::uploaded_input_media(att, plan.input_file(&att.file_name)),
        })
        .await?;
    reusable_media(answer)
}

/// Every attachment's handle, from the cache or uploaded now.
async fn handles(
    calls: &dyn MediaCalls,
    cache: &MediaCache,
    source: &dyn MediaSource,
    peer: &tl::enums::InputPeer,
    attachments: &[Attachment],
) -> Result<Vec<tl::enums::InputMedia>, TelegramError> {
    let mut out = Vec::with_capacity(attachments.len());
    for att in attachments {
        let media = match cache.get(att) {
            Some(m) => m,
            None => {
                let m = upload(calls, source, peer, att).await?;
                cache.put(att, m.clone());
                m
            }
        };
        out.push(media);
    }
    Ok(out)
}

/// Sends `msg` (non-empty `attachments`) to `peer`. See the module docs.
pub async fn send_media(
    calls: &dyn MediaCalls,
    cache: &MediaCache,
    source: &dyn MediaSource,
    peer: tl::enums::InputPeer,
    msg: &OutgoingText<'_>,
) -> Result<Sent, TelegramError> {
    let request = |media| {
        media_request(
            peer.clone(),
            media,
            msg.text,
            msg.parse_mode,
            msg.random_id,
            msg.silent,
        )
    };
    let media = handles(calls, cache, source, &peer, msg.attachments).await?;
    let req = request(media);
    let random_ids = req.random_ids();
    let answer = match calls.send(req).await {
        Err(e) if is_stale_media(&e) => {
            tracing::info!(random_id = msg.random_id, reason = %e, "an uploaded file can no longer be sent; uploading it again");
            for att in msg.attachments {
                cache.forget(att);
            }
            let media = handles(calls, cache, source, &peer, msg.attachments).await?;
            calls.send(request(media)).await
        }
        other => other,
    };
    let updates = match answer {
        Ok(u) => u,
        // Sent before under these ids (a retry after a crash/lost reply).
        Err(TelegramError::RandomIdDuplicate) => {
            return Ok(Sent {
                message_id: 0,
                album_ids: Vec::new(),
                duplicate: true,
            });
        }
        Err(e) => return Err(e),
    };
    let ids = super::media_tl::sent_ids(&updates, &random_ids);
    if ids.iter().any(Option::is_none) {
        tracing::warn!(
            random_id = msg.random_id,
            "sent, but the answer did not name every message id"
        );
    }
    let mut ids = ids.into_iter();
    Ok(Sent {
        message_id: ids.next().flatten().unwrap_or(0),
        album_ids: ids.flatten().collect(),
        duplicate: false,
    })
}

/// [`MediaCalls`] on a real client, each call contained like the others.
pub struct ClientCalls(pub Client);

#[async_trait]
impl MediaCalls for ClientCalls {
    async fn save_part(&self, req: PartRequest) -> Result<bool, TelegramError> {
        let c = self.0.clone();
        contained("upload.saveFilePart", async move {
            match req {
                PartRequest::Small(q) => c.invoke(&q).await,
                PartRequest::Big(q) => c.invoke(&q).await,
            }
            .map_err(|e| map_invocation(&e))
        })
        .await
    }

    async fn upload_media(
        &self,
        req: tl::functions::messages::UploadMedia,
    ) -> Result<tl::enums::MessageMedia, TelegramError> {
        let c = self.0.clone();
        contained("messages.uploadMedia", async move {
            c.invoke(&req).await.map_err(|e| map_invocation(&e))
        })
        .await
    }

    async fn send(&self, req: MediaRequest) -> Result<tl::enums::Updates, TelegramError> {
        let c = self.0.clone();
        contained("messages.sendMedia", async move {
            match req {
                MediaRequest::Single(q) => c.invoke(&*q).await,
                MediaRequest::Album(q) => c.invoke(&*q).await,
            }
            .map_err(|e| map_invocation(&e))
        })
        .await
    }
}

#[cfg(test)]
#[path = "media_send_tests.rs"]
mod tests;
