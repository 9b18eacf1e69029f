//! A scripted [`MediaCalls`] for the send-path tests: it records every
//! call, answers uploads with a new file reference each time and sends
//! with one `updateMessageID` per item, unless an error is scripted.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use grammers_tl_types as tl;

use super::super::MediaCalls;
use crate::telegram::TelegramError;
use crate::telegram::live::media_tl::{MediaRequest, PartRequest};

/// What the fake saw, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Part { file_id: i64, part: i32, len: usize },
    Upload(Box<tl::enums::InputMedia>),
    Send(MediaRequest),
}

/// Scripted Telegram: `upload_media` answers with a new file reference each
/// time (so a re-upload is visible); `send` takes its next scripted error,
/// or answers with an `updateMessageID` per item (ids 100, 101, …).
#[derive(Default)]
pub struct Fake {
    pub calls: Mutex<Vec<Call>>,
    pub send_errors: Mutex<VecDeque<TelegramError>>,
    pub upload_errors: Mutex<VecDeque<TelegramError>>,
    pub part_errors: Mutex<VecDeque<TelegramError>>,
    pub uploads: Mutex<u8>,
}

impl Fake {
    pub fn failing_sends(errors: impl IntoIterator<Item = TelegramError>) -> Self {
        let f = Fake::default();
        f.send_errors.lock().unwrap().extend(errors);
        f
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn sends(&self) -> Vec<MediaRequest> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Send(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    pub fn uploads(&self) -> Vec<tl::enums::InputMedia> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Upload(m) => Some(*m),
                _ => None,
            })
            .collect()
    }
}

#[async_trait]
impl MediaCalls for Fake {
    async fn save_part(&self, req: PartRequest) -> Result<bool, TelegramError> {
        let call = match req {
            PartRequest::Small(q) => Call::Part {
                file_id: q.file_id,
                part: q.file_part,
                len: q.bytes.len(),
            },
            PartRequest::Big(q) => Call::Part {
                file_id: q.file_id,
                part: q.file_part,
                len: q.bytes.len(),
            },
        };
        self.calls.lock().unwrap().push(call);
        match self.part_errors.lock().unwrap().pop_front() {
            Some(e) => Err(e),
            None => Ok(true),
        }
    }

    async fn upload_media(
        &self,
        req: tl::functions::messages::UploadMedia,
    ) -> Result<tl::enums::MessageMedia, TelegramError> {
        let is_photo = matches!(req.media, tl::enums::InputMedia::UploadedPhoto(_));
        self.calls
            .lock()
            .unwrap()
            .push(Call::Upload(Box::new(req.media)));
        if let Some(e) = self.upload_errors.lock().unwrap().pop_front() {
            return Err(e);
        }
        let mut n = self.uploads.lock().unwrap();
        *n += 1;
        let file_reference = vec![*n];
        Ok(if is_photo {
            tl::types::MessageMediaPhoto {
                spoiler: false,
                live_photo: false,
                photo: Some(
                    tl::types::Photo {
                        has_stickers: false,
                        id: 1000 + i64::from(*n),
                        access_hash: 7,
                        file_reference,
                        date: 0,
                        sizes: vec![],
                        video_sizes: None,
                        dc_id: 2,
                    }
                    .into(),
                ),
                ttl_seconds: None,
                video: None,
            }
            .into()
        } else {
            tl::types::MessageMediaDocument {
                nopremium: false,
                spoiler: false,
                video: false,
                round: false,
                voice: false,
                document: Some(
                    tl::types::Document {
                        id: 2000 + i64::from(*n),
                        access_hash: 8,
                        file_reference,
                        date: 0,
                        mime_type: "application/pdf".into(),
                        size: 0,
                        thumbs: None,
                        video_thumbs: None,
                        dc_id: 2,
                        attributes: vec![],
                    }
                    .into(),
                ),
                alt_documents: None,
                video_cover: None,
                video_timestamp: None,
                ttl_seconds: None,
            }
            .into()
        })
    }

    async fn send(&self, req: MediaRequest) -> Result<tl::enums::Updates, TelegramError> {
        let ids = req.random_ids();
        self.calls.lock().unwrap().push(Call::Send(req));
        if let Some(e) = self.send_errors.lock().unwrap().pop_front() {
            return Err(e);
        }
        Ok(tl::types::Updates {
            updates: ids
                .iter()
                .zip(100..)
                .map(|(&random_id, id)| tl::types::UpdateMessageId { id, random_id }.into())
                .collect(),
            users: vec![],
            chats: vec![],
            date: 0,
            seq: 0,
        }
        .into())
    }
}
