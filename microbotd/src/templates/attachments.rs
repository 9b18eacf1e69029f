//! The rules for a template's attachments, checked before anything is
//! written: at most ten (one album), kinds Telegram can group (photos and
//! videos together, or documents alone), a caption of at most 1,024 UTF-16
//! units, each file within `templates.max_media_bytes`, and bytes that are
//! what their kind says by their first bytes, whatever the file's name (a
//! photo is JPEG, PNG or WebP; a video MP4, QuickTime, WebM or Matroska; a
//! document anything).

use crate::telegram::{Attachment, MediaKind, media::sha256_hex};

use super::spec::{Field, FieldError};

/// Items of one album, Telegram's limit.
pub const MAX_ATTACHMENTS: usize = 10;
/// Telegram's limit on a caption, in UTF-16 code units.
pub const MAX_CAPTION_UTF16: usize = 1024;

/// A file as uploaded: its kind, the name it had, its bytes.
#[derive(Clone, Copy)]
pub struct Upload<'a> {
    pub kind: MediaKind,
    pub file_name: &'a str,
    pub bytes: &'a [u8],
}

fn err(reason: String) -> FieldError {
    FieldError::new(Field::Attachment, reason)
}

/// Checks one uploaded file and describes it (kind, bare name, MIME type,
/// size, digest).
pub fn describe(up: Upload<'_>, max_bytes: u64) -> Result<Attachment, FieldError> {
    // Only the last path component is kept: the daemon never sees the
    // operator's directories, and a name is what Telegram shows.
    let name = up
        .file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .trim();
    if name.is_empty() || name.chars().any(char::is_control) || name.len() > 255 {
        return Err(err(format!(
            "file name {:?} is empty, too long or holds control characters",
            up.file_name
        )));
    }
    let size = up.bytes.len() as u64;
    if size > max_bytes {
        return Err(err(format!(
            "{name} is {size} bytes; a file may be at most {max_bytes} (templates.max_media_bytes)"
        )));
    }
    if size == 0 {
        return Err(err(format!("{name} is empty")));
    }
    let mime = mime_for(up.kind, up.bytes).ok_or_else(|| {
        err(match up.kind {
            MediaKind::Photo => {
                format!("{name} is not a JPEG, PNG or WebP image (send it with --document)")
            }
            MediaKind::Video => format!(
                "{name} is not an MP4, QuickTime, WebM or Matroska video (send it with --document)"
            ),
            MediaKind::Document => unreachable!("documents take any bytes"),
        })
    })?;
    Ok(Attachment {
        kind: up.kind,
        file_name: name.to_owned(),
        mime: mime.to_owned(),
        size: size as i64,
        sha256: sha256_hex(up.bytes),
    })
}

/// The whole list with the text that becomes its caption.
pub fn check_list(list: &[Attachment], text: &str) -> Result<(), FieldError> {
    if list.is_empty() {
        return Ok(());
    }
    if list.len() > MAX_ATTACHMENTS {
        return Err(err(format!(
            "{} attachments; a message may carry at most {MAX_ATTACHMENTS} (one album)",
            list.len()
        )));
    }
    let documents = list
        .iter()
        .filter(|a| a.kind == MediaKind::Document)
        .count();
    if documents > 0 && documents < list.len() {
        return Err(err(
            "an album is photos and videos, or documents only: Telegram cannot group documents \
             with photos or videos"
                .into(),
        ));
    }
    let units = text.encode_utf16().count();
    if units > MAX_CAPTION_UTF16 {
        return Err(FieldError::new(
            Field::Text,
            format!(
                "{units} UTF-16 code units; with attachments the text is their caption, \
                 at most {MAX_CAPTION_UTF16}"
            ),
        ));
    }
    Ok(())
}

/// The MIME type of `bytes` sent as `kind`, or `None` when they do not
/// fit it.
fn mime_for(kind: MediaKind, bytes: &[u8]) -> Option<&'static str> {
    match kind {
        MediaKind::Photo => image_mime(bytes),
        MediaKind::Video => video_mime(bytes),
        MediaKind::Document => Some(
            image_mime(bytes)
                .or_else(|| video_mime(bytes))
                .or_else(|| bytes.starts_with(b"%PDF-").then_some("application/pdf"))
                .or_else(|| {
                    bytes
                        .starts_with(b"PK\x03\x04")
                        .then_some("application/zip")
                })
                .unwrap_or(if std::str::from_utf8(bytes).is_ok() {
                    "text/plain"
                } else {
                    "application/octet-stream"
                }),
        ),
    }
}

fn image_mime(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn video_mime(b: &[u8]) -> Option<&'static str> {
    let atom = b.get(4..8);
    if b.len() >= 12 && atom == Some(b"ftyp") {
        Some(if &b[8..10] == b"qt" {
            "video/quicktime"
        } else {
            "video/mp4"
        })
    } else if atom.is_some_and(|a| {
        [b"moov", b"mdat", b"wide", b"free"].contains(&a.try_into().unwrap_or(&[0u8; 4]))
    }) {
        // QuickTime files older than the `ftyp` atom start with another one.
        Some("video/quicktime")
    } else if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        // EBML: WebM is Matroska with a "webm" doctype near the start.
        let head = &b[..b.len().min(64)];
        Some(if head.windows(4).any(|w| w == b"webm") {
            "video/webm"
        } else {
            "video/x-matroska"
        })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n rest";
    const MP4: &[u8] = b"\0\0\0\x18ftypisom rest";

    fn up<'a>(kind: MediaKind, name: &'a str, bytes: &'a [u8]) -> Upload<'a> {
        Upload {
            kind,
            file_name: name,
            bytes,
        }
    }

    #[test]
    fn kinds_are_checked_by_their_bytes() {
        let a = describe(up(MediaKind::Photo, "/home/x/chart.png", PNG), 100).unwrap();
        assert_eq!(
            (a.file_name.as_str(), a.mime.as_str()),
            ("chart.png", "image/png")
        );
        assert_eq!(a.sha256, sha256_hex(PNG));
        let e = describe(up(MediaKind::Photo, "notes.png", b"plain text"), 100).unwrap_err();
        assert!(e.reason.contains("not a JPEG"), "{e}");
        assert_eq!(
            describe(up(MediaKind::Video, "v.bin", MP4), 100)
                .unwrap()
                .mime,
            "video/mp4"
        );
        assert!(
            describe(up(MediaKind::Video, "v.mp4", PNG), 100).is_err(),
            "by bytes, not name"
        );
        let d = describe(up(MediaKind::Document, "r.pdf", b"%PDF-1.4"), 100).unwrap();
        assert_eq!(d.mime, "application/pdf");
    }

    #[test]
    fn size_cap_and_empty_files() {
        assert!(describe(up(MediaKind::Photo, "p.png", PNG), PNG.len() as u64).is_ok());
        let e = describe(up(MediaKind::Photo, "p.png", PNG), PNG.len() as u64 - 1).unwrap_err();
        assert!(e.reason.contains("templates.max_media_bytes"), "{e}");
        assert!(describe(up(MediaKind::Document, "e", b""), 100).is_err());
    }

    #[test]
    fn album_rules() {
        let photo = describe(up(MediaKind::Photo, "p.png", PNG), 100).unwrap();
        let video = describe(up(MediaKind::Video, "v.mp4", MP4), 100).unwrap();
        let doc = describe(up(MediaKind::Document, "d.txt", b"hi"), 100).unwrap();
        assert!(check_list(&[photo.clone(), video.clone()], "x").is_ok());
        assert!(check_list(&[doc.clone(), doc.clone()], "x").is_ok());
        assert!(check_list(&[photo.clone(), doc.clone()], "x").is_err());
        assert!(check_list(&vec![photo.clone(); 10], "x").is_ok());
        let e = check_list(&vec![photo.clone(); 11], "x").unwrap_err();
        assert!(e.reason.contains("at most 10"), "{e}");
        let e = check_list(&[photo], &"é".repeat(1025)).unwrap_err();
        assert_eq!(e.field, Field::Text);
        assert!(
            check_list(&[], &"a".repeat(4000)).is_ok(),
            "no caption limit without files"
        );
    }
}
