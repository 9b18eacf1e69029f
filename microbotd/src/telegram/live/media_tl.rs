//! The TL side of attachments, built by hand like [`super::send`]: the
//! upload's parts and `InputFile`, the `InputMediaUploaded*` that
//! `messages.uploadMedia` turns into a reusable handle, the
//! `messages.sendMedia` / `messages.sendMultiMedia` requests with our own
//! `random_id`s, and reading an album's message ids from the answer.
//!
//! Everything here is pure (no network), so the unit tests check exactly
//! what goes on the wire.

use grammers_tl_types as tl;

use super::send::{format_text, sent_message_id};
use crate::telegram::media::album_random_id;
use crate::telegram::{Attachment, MediaKind, ParseMode, TelegramError};

/// Bytes per `upload.saveFilePart` (Telegram's maximum, as grammers uses).
pub const PART_SIZE: usize = 512 * 1024;

/// Files above this go up with `upload.saveBigFilePart` (Telegram's rule).
pub const BIG_FILE_SIZE: usize = 10 * 1024 * 1024;

/// One call of an upload.
#[derive(Debug, Clone, PartialEq)]
pub enum PartRequest {
    Small(tl::functions::upload::SaveFilePart),
    Big(tl::functions::upload::SaveBigFilePart),
}

/// The upload of one file under a fresh `file_id`: its parts are built one
/// at a time, so only one part's copy of the bytes exists besides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPlan {
    pub file_id: i64,
    pub parts: i32,
    pub big: bool,
}

impl UploadPlan {
    /// A zero-length file still has one (empty) part: Telegram refuses an
    /// upload of zero parts.
    pub fn new(file_id: i64, len: usize) -> Self {
        let parts = len.div_ceil(PART_SIZE).max(1);
        UploadPlan {
            file_id,
            parts: i32::try_from(parts).unwrap_or(i32::MAX),
            big: len > BIG_FILE_SIZE,
        }
    }

    /// `upload.saveFilePart` (or `saveBigFilePart`) number `index` of `bytes`.
    pub fn part(&self, bytes: &[u8], index: i32) -> PartRequest {
        let start = usize::try_from(index)
            .unwrap_or(0)
            .saturating_mul(PART_SIZE);
        let chunk = bytes
            .get(start..bytes.len().min(start.saturating_add(PART_SIZE)))
            .unwrap_or_default()
            .to_vec();
        if self.big {
            PartRequest::Big(tl::functions::upload::SaveBigFilePart {
                file_id: self.file_id,
                file_part: index,
                file_total_parts: self.parts,
                bytes: chunk,
            })
        } else {
            PartRequest::Small(tl::functions::upload::SaveFilePart {
                file_id: self.file_id,
                file_part: index,
                bytes: chunk,
            })
        }
    }

    /// The finished upload, as a send or `messages.uploadMedia` names it.
    pub fn input_file(&self, name: &str) -> tl::enums::InputFile {
        // Telegram checks a photo's extension in this name; never empty.
        let name = if name.is_empty() { "file" } else { name }.to_owned();
        if self.big {
            tl::types::InputFileBig {
                id: self.file_id,
                parts: self.parts,
                name,
            }
            .into()
        } else {
            // The checksum is optional ("if passed, checked"): the bytes
            // were checked against their SHA-256 when they were stored.
            tl::types::InputFile {
                id: self.file_id,
                parts: self.parts,
                name,
                md5_checksum: String::new(),
            }
            .into()
        }
    }
}

/// How the uploaded file is to be shown: a photo, or a document (a video
/// is a document with a video attribute).
pub fn uploaded_input_media(att: &Attachment, file: tl::enums::InputFile) -> tl::enums::InputMedia {
    let file_name = tl::types::DocumentAttributeFilename {
        file_name: att.file_name.clone(),
    }
    .into();
    let attributes = match att.kind {
        MediaKind::Photo => {
            return tl::types::InputMediaUploadedPhoto {
                spoiler: false,
                live_photo: false,
                file,
                stickers: None,
                ttl_seconds: None,
                video: None,
            }
            .into();
        }
        // Duration and size are not known without decoding the file; zero
        // lets the apps read them from the stream, as other clients send.
        MediaKind::Video => vec![
            tl::types::DocumentAttributeVideo {
                round_message: false,
                supports_streaming: true,
                nosound: false,
                duration: 0.0,
                w: 0,
                h: 0,
                preload_prefix_size: None,
                video_start_ts: None,
                video_codec: None,
            }
            .into(),
            file_name,
        ],
        MediaKind::Document => vec![file_name],
    };
    tl::types::InputMediaUploadedDocument {
        nosound_video: false,
        force_file: att.kind == MediaKind::Document,
        spoiler: false,
        file,
        thumb: None,
        mime_type: att.mime.clone(),
        attributes,
        stickers: None,
        video_cover: None,
        video_timestamp: None,
        ttl_seconds: None,
    }
    .into()
}

fn unexpected_upload_answer() -> TelegramError {
    TelegramError::Rpc {
        code: 0,
        name: "UNEXPECTED_ANSWER_TO_messages.uploadMedia".to_owned(),
    }
}

/// The handle `messages.uploadMedia` answered with, as media a send can
/// reuse (id, access hash, file reference) until its reference expires.
pub fn reusable_media(
    media: tl::enums::MessageMedia,
) -> Result<tl::enums::InputMedia, TelegramError> {
    use tl::enums::MessageMedia as M;
    match media {
        M::Photo(tl::types::MessageMediaPhoto {
            photo: Some(tl::enums::Photo::Photo(p)),
            ..
        }) => Ok(tl::types::InputMediaPhoto {
            spoiler: false,
            live_photo: false,
            id: tl::types::InputPhoto {
                id: p.id,
                access_hash: p.access_hash,
                file_reference: p.file_reference,
            }
            .into(),
            ttl_seconds: None,
            video: None,
        }
        .into()),
        M::Document(tl::types::MessageMediaDocument {
            document: Some(tl::enums::Document::Document(d)),
            ..
        }) => Ok(tl::types::InputMediaDocument {
            spoiler: false,
            id: tl::types::InputDocument {
                id: d.id,
                access_hash: d.access_hash,
                file_reference: d.file_reference,
            }
            .into(),
            video_cover: None,
            video_timestamp: None,
            ttl_seconds: None,
            query: None,
        }
        .into()),
        _ => Err(unexpected_upload_answer()),
    }
}

/// A send with attachments: one file, or an album.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaRequest {
    // Boxed: the requests are hundreds of bytes and of unequal size.
    Single(Box<tl::functions::messages::SendMedia>),
    Album(Box<tl::functions::messages::SendMultiMedia>),
}

impl MediaRequest {
    /// The `random_id` of each item, in order.
    pub fn random_ids(&self) -> Vec<i64> {
        match self {
            MediaRequest::Single(q) => vec![q.random_id],
            MediaRequest::Album(q) => q
                .multi_media
                .iter()
                .map(|tl::enums::InputSingleMedia::Media(m)| m.random_id)
                .collect(),
        }
    }
}

/// `messages.sendMedia` for one item, `messages.sendMultiMedia` for more:
/// item `i` under [`album_random_id`]`(random_id, i)`, the text as the
/// first item's caption. (Media messages have no link preview, so there
/// is no `no_webpage` to carry.)
pub fn media_request(
    peer: tl::enums::InputPeer,
    media: Vec<tl::enums::InputMedia>,
    caption: &str,
    mode: ParseMode,
    random_id: i64,
    silent: bool,
) -> MediaRequest {
    let (message, entities) = format_text(caption, mode);
    if media.len() == 1 {
        let media = media
            .into_iter()
            .next()
            .unwrap_or(tl::enums::InputMedia::Empty);
        return MediaRequest::Single(Box::new(tl::functions::messages::SendMedia {
            silent,
            background: false,
            clear_draft: false,
            noforwards: false,
            update_stickersets_order: false,
            invert_media: false,
            allow_paid_floodskip: false,
            peer,
            reply_to: None,
            media,
            message,
            random_id,
            reply_markup: None,
            entities,
            schedule_date: None,
            schedule_repeat_period: None,
            send_as: None,
            quick_reply_shortcut: None,
            effect: None,
            allow_paid_stars: None,
            suggested_post: None,
        }));
    }
    let mut caption = Some((message, entities));
    let multi_media = media
        .into_iter()
        .enumerate()
        .map(|(i, media)| {
            let (message, entities) = caption.take().unwrap_or_default();
            tl::types::InputSingleMedia {
                media,
                random_id: album_random_id(random_id, i),
                message,
                entities,
            }
            .into()
        })
        .collect();
    MediaRequest::Album(Box::new(tl::functions::messages::SendMultiMedia {
        silent,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer,
        reply_to: None,
        multi_media,
        schedule_date: None,
        send_as: None,
        quick_reply_shortcut: None,
        effect: None,
        allow_paid_stars: None,
    }))
}

/// The message id of each `random_id` (in order) from a send's answer,
/// `None` where the answer did not name it. Telegram answers an album with
/// one `updateMessageID` per item; a single file is read as a text is.
pub fn sent_ids(updates: &tl::enums::Updates, random_ids: &[i64]) -> Vec<Option<i64>> {
    use tl::enums::Updates as U;
    if let [one] = random_ids {
        return vec![sent_message_id(updates, *one)];
    }
    let list: &[tl::enums::Update] = match updates {
        U::Updates(u) => &u.updates,
        U::Combined(u) => &u.updates,
        U::UpdateShort(u) => std::slice::from_ref(&u.update),
        _ => return vec![None; random_ids.len()],
    };
    random_ids
        .iter()
        .map(|rid| {
            list.iter().find_map(|u| match u {
                tl::enums::Update::MessageId(m) if m.random_id == *rid => Some(i64::from(m.id)),
                _ => None,
            })
        })
        .collect()
}

#[cfg(test)]
#[path = "media_tl_tests.rs"]
mod tests;
