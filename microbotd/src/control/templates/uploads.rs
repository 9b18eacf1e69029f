//! Attachments as `template create`/`edit` upload them: checked one by one
//! ([`crate::templates::attachments::describe`]) before anything is
//! written, then stored by digest in the same transaction as the template.

use microbot_proto::v1;

use crate::control::error::ApiError;
use crate::store::tx::Tx;
use crate::telegram::{Attachment, MediaKind};
use crate::templates::attachments::{self, MAX_ATTACHMENTS, Upload};
use crate::templates::spec::{Field, FieldError};

use super::field_error;

/// Describes every upload in order; the first bad one is the error.
pub fn describe_all(
    uploads: &[v1::AttachmentUpload],
    max_bytes: u64,
) -> Result<Vec<Attachment>, ApiError> {
    // Counted first: an oversized album costs no hashing.
    if uploads.len() > MAX_ATTACHMENTS {
        return Err(field_error(FieldError::new(
            Field::Attachment,
            format!(
                "{} attachments; a message may carry at most {MAX_ATTACHMENTS} (one album)",
                uploads.len()
            ),
        )));
    }
    uploads
        .iter()
        .map(|u| {
            let kind = MediaKind::parse(&u.kind).ok_or_else(|| {
                field_error(FieldError::new(
                    Field::Attachment,
                    format!("unknown kind {:?} (photo, video or document)", u.kind),
                ))
            })?;
            attachments::describe(
                Upload {
                    kind,
                    file_name: &u.file_name,
                    bytes: &u.data,
                },
                max_bytes,
            )
            .map_err(field_error)
        })
        .collect()
}

/// Stores each upload's bytes under its digest (`described` is
/// [`describe_all`] of the same uploads).
pub async fn store_all(
    tx: &mut Tx,
    uploads: &[v1::AttachmentUpload],
    described: &[Attachment],
    now_ms: i64,
) -> Result<(), ApiError> {
    for (u, a) in uploads.iter().zip(described) {
        tx.media_put(&a.sha256, &a.mime, &u.data, now_ms).await?;
    }
    Ok(())
}

/// The files `template apply` sent, by the digest of their bytes; one
/// whose stated digest is not its bytes' is refused (the CLI checked it).
pub fn by_digest(
    files: &[v1::AttachmentFile],
) -> Result<std::collections::HashMap<String, Vec<u8>>, ApiError> {
    files
        .iter()
        .map(|f| {
            let digest = crate::telegram::media::sha256_hex(&f.data);
            if digest != f.sha256 {
                return Err(ApiError::invalid(
                    "file",
                    format!("a file sent as sha256 {} has sha256 {digest}", f.sha256),
                ));
            }
            Ok((digest, f.data.clone()))
        })
        .collect()
}

/// A stored attachment as the API shows it.
pub fn to_proto(a: &Attachment) -> v1::Attachment {
    v1::Attachment {
        kind: a.kind.as_str().to_owned(),
        file_name: a.file_name.clone(),
        mime: a.mime.clone(),
        size: a.size.max(0) as u64,
        sha256: a.sha256.clone(),
    }
}
