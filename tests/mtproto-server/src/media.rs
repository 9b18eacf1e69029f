//! Attachments as Telegram takes them: parts by `upload.saveFilePart` /
//! `saveBigFilePart`, `messages.uploadMedia` turning an upload into a photo
//! or document handle (id, access hash, file reference), and
//! `messages.sendMedia` / `sendMultiMedia` with the checks a client must
//! cope with: every part present, a current file reference
//! (`FILE_REFERENCE_EXPIRED`, per item in an album), albums only of
//! handles, and one `random_id` per item, de-duplicated.

use grammers_tl_types::{self as tl, Serializable};
use sha2::{Digest, Sha256};

use crate::objects;
use crate::rpc::{RpcErr, entity_summary, err, keep, known_peer, message_ids, parse};
use crate::world::{SentMedia, SentMessage, StoredMedia, World};

pub fn save_part(w: &mut World, body: &[u8]) -> Result<Vec<u8>, RpcErr> {
    let req: tl::functions::upload::SaveFilePart = parse(body)?;
    store_part(w, req.file_id, req.file_part, req.bytes)
}

pub fn save_big_part(w: &mut World, body: &[u8]) -> Result<Vec<u8>, RpcErr> {
    let req: tl::functions::upload::SaveBigFilePart = parse(body)?;
    if req.file_part >= req.file_total_parts {
        return Err(err(400, "FILE_PART_INVALID"));
    }
    store_part(w, req.file_id, req.file_part, req.bytes)
}

fn store_part(w: &mut World, file_id: i64, part: i32, bytes: Vec<u8>) -> Result<Vec<u8>, RpcErr> {
    if !(0..4000).contains(&part) {
        return Err(err(400, "FILE_PART_INVALID"));
    }
    if bytes.len() > 512 * 1024 {
        return Err(err(400, "FILE_PART_TOO_BIG"));
    }
    w.uploads.entry(file_id).or_default().insert(part, bytes);
    Ok(true.to_bytes())
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bytes of a finished upload and the name it was given.
fn assemble(w: &World, file: &tl::enums::InputFile) -> Result<(Vec<u8>, String), RpcErr> {
    let (id, parts, name) = match file {
        tl::enums::InputFile::File(f) => (f.id, f.parts, &f.name),
        tl::enums::InputFile::Big(f) => (f.id, f.parts, &f.name),
        _ => return Err(err(400, "FILE_PARTS_INVALID")),
    };
    let stored = w
        .uploads
        .get(&id)
        .ok_or_else(|| err(400, "FILE_PARTS_INVALID"))?;
    let mut bytes = Vec::new();
    for i in 0..parts {
        let part = stored
            .get(&i)
            .ok_or_else(|| (400, format!("FILE_PART_{i}_MISSING")))?;
        bytes.extend_from_slice(part);
    }
    Ok((bytes, name.clone()))
}

/// Stores an uploaded photo or document; returns its id.
fn store_uploaded(w: &mut World, media: &tl::enums::InputMedia) -> Result<i64, RpcErr> {
    let (file, kind, mime, attrs) = match media {
        tl::enums::InputMedia::UploadedPhoto(p) => (&p.file, "photo", "image/jpeg", None),
        tl::enums::InputMedia::UploadedDocument(d) => {
            let video = d
                .attributes
                .iter()
                .any(|a| matches!(a, tl::enums::DocumentAttribute::Video(_)));
            let kind = if video { "video" } else { "document" };
            (&d.file, kind, d.mime_type.as_str(), Some(&d.attributes))
        }
        _ => return Err(err(400, "MEDIA_INVALID")),
    };
    let (bytes, upload_name) = assemble(w, file)?;
    let file_name = attrs
        .into_iter()
        .flatten()
        .find_map(|a| match a {
            tl::enums::DocumentAttribute::Filename(f) => Some(f.file_name.clone()),
            _ => None,
        })
        .unwrap_or(upload_name);
    let id = w.next_media_id;
    w.next_media_id += 1;
    w.media.insert(
        id,
        StoredMedia {
            access_hash: id ^ 0x5a5a,
            file_reference: vec![1, 2, 3],
            media: SentMedia {
                kind: kind.to_owned(),
                file_name,
                mime: mime.to_owned(),
                sha256: hex(&bytes),
                size: bytes.len(),
            },
        },
    );
    Ok(id)
}

fn answer(id: i64, m: &StoredMedia) -> tl::enums::MessageMedia {
    if m.media.kind == "photo" {
        return tl::types::MessageMediaPhoto {
            spoiler: false,
            live_photo: false,
            photo: Some(
                tl::types::Photo {
                    has_stickers: false,
                    id,
                    access_hash: m.access_hash,
                    file_reference: m.file_reference.clone(),
                    date: objects::now(),
                    sizes: Vec::new(),
                    video_sizes: None,
                    dc_id: 2,
                }
                .into(),
            ),
            ttl_seconds: None,
            video: None,
        }
        .into();
    }
    tl::types::MessageMediaDocument {
        nopremium: false,
        spoiler: false,
        video: m.media.kind == "video",
        round: false,
        voice: false,
        document: Some(
            tl::types::Document {
                id,
                access_hash: m.access_hash,
                file_reference: m.file_reference.clone(),
                date: objects::now(),
                mime_type: m.media.mime.clone(),
                size: m.media.size as i64,
                thumbs: None,
                video_thumbs: None,
                dc_id: 2,
                attributes: vec![
                    tl::types::DocumentAttributeFilename {
                        file_name: m.media.file_name.clone(),
                    }
                    .into(),
                ],
            }
            .into(),
        ),
        alt_documents: None,
        video_cover: None,
        video_timestamp: None,
        ttl_seconds: None,
    }
    .into()
}

pub fn upload_media(w: &mut World, body: &[u8]) -> Result<Vec<u8>, RpcErr> {
    let req: tl::functions::messages::UploadMedia = parse(body)?;
    known_peer(w, &req.peer)?;
    let id = store_uploaded(w, &req.media)?;
    Ok(answer(id, &w.media[&id]).to_bytes())
}

/// The stored file a handle names. `item` (albums) goes into the name of
/// an expired reference, as Telegram's `FILE_REFERENCE_1_EXPIRED`.
fn by_handle(
    w: &World,
    media: &tl::enums::InputMedia,
    item: Option<usize>,
) -> Result<SentMedia, RpcErr> {
    let (id, access_hash, reference, photo) = match media {
        tl::enums::InputMedia::Photo(tl::types::InputMediaPhoto {
            id: tl::enums::InputPhoto::Photo(p),
            ..
        }) => (p.id, p.access_hash, &p.file_reference, true),
        tl::enums::InputMedia::Document(tl::types::InputMediaDocument {
            id: tl::enums::InputDocument::Document(d),
            ..
        }) => (d.id, d.access_hash, &d.file_reference, false),
        _ => return Err(err(400, "MEDIA_INVALID")),
    };
    let stored = w
        .media
        .get(&id)
        .filter(|m| m.access_hash == access_hash && (m.media.kind == "photo") == photo)
        .ok_or_else(|| err(400, "MEDIA_EMPTY"))?;
    if stored.file_reference != *reference {
        return Err(match item {
            Some(i) => (400, format!("FILE_REFERENCE_{i}_EXPIRED")),
            None => err(400, "FILE_REFERENCE_EXPIRED"),
        });
    }
    Ok(stored.media.clone())
}

pub fn send_media(w: &mut World, body: &[u8]) -> Result<Vec<u8>, RpcErr> {
    let req: tl::functions::messages::SendMedia = parse(body)?;
    let peer = known_peer(w, &req.peer)?;
    let media = match &req.media {
        m @ (tl::enums::InputMedia::UploadedPhoto(_)
        | tl::enums::InputMedia::UploadedDocument(_)) => {
            let id = store_uploaded(w, m)?;
            w.media[&id].media.clone()
        }
        m => by_handle(w, m, None)?,
    };
    let id = keep(
        w,
        SentMessage {
            message_id: 0,
            random_id: req.random_id,
            peer,
            text: req.message.clone(),
            entities: req.entities.iter().flatten().map(entity_summary).collect(),
            silent: req.silent,
            no_webpage: false,
            media: Some(media),
            grouped_id: None,
        },
    );
    Ok(message_ids(&[(id, req.random_id)]))
}

pub fn send_multi_media(w: &mut World, body: &[u8]) -> Result<Vec<u8>, RpcErr> {
    let req: tl::functions::messages::SendMultiMedia = parse(body)?;
    let peer = known_peer(w, &req.peer)?;
    if !(2..=10).contains(&req.multi_media.len()) {
        return Err(err(400, "MULTI_MEDIA_TOO_LONG"));
    }
    // Every item is checked before anything is kept: an album goes out
    // whole or not at all.
    let mut items = Vec::new();
    for (i, tl::enums::InputSingleMedia::Media(m)) in req.multi_media.iter().enumerate() {
        items.push((m, by_handle(w, &m.media, Some(i))?));
    }
    let grouped_id = items.first().map(|(m, _)| m.random_id);
    let mut ids = Vec::new();
    for (m, media) in items {
        let id = keep(
            w,
            SentMessage {
                message_id: 0,
                random_id: m.random_id,
                peer: peer.clone(),
                text: m.message.clone(),
                entities: m.entities.iter().flatten().map(entity_summary).collect(),
                silent: req.silent,
                no_webpage: false,
                media: Some(media),
                grouped_id,
            },
        );
        ids.push((id, m.random_id));
    }
    // Telegram does not promise the items' order in its answer.
    ids.reverse();
    Ok(message_ids(&ids))
}
