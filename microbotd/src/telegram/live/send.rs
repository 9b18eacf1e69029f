//! The one module that builds Telegram layer (TL) structs by hand: the
//! `messages.sendMessage` request with our own `random_id`, input peers from
//! cached [`ResolvedPeer`]s, and reading the new message id from the answer.
//!
//! TL structs follow Telegram's layer and change between grammers minor
//! versions, so everything layer-specific stays here, behind small functions.

use grammers_client::parsers::{parse_html_message, parse_markdown_message};
use grammers_tl_types as tl;

use crate::telegram::{ParseMode, PeerKind, ResolvedPeer, TelegramError};

/// Bot-API ids of channels are `-(CHANNEL_OFFSET + bare id)`.
const CHANNEL_OFFSET: i64 = 1_000_000_000_000;

fn peer_id_invalid() -> TelegramError {
    TelegramError::PeerInvalid {
        code: "PEER_ID_INVALID".to_owned(),
    }
}

/// Telegram's bare id for a Bot-API marked id of the given kind, checking
/// that the sign matches the kind (a cached row must not be misread).
pub fn bare_id(peer_id: i64, kind: PeerKind) -> Result<i64, TelegramError> {
    let bare = match kind {
        PeerKind::User => peer_id,
        PeerKind::Chat => -peer_id,
        PeerKind::Channel => -peer_id - CHANNEL_OFFSET,
    };
    let sign_ok = match kind {
        PeerKind::User | PeerKind::Chat => peer_id != 0,
        PeerKind::Channel => peer_id < -CHANNEL_OFFSET,
    };
    if bare > 0 && sign_ok {
        Ok(bare)
    } else {
        Err(peer_id_invalid())
    }
}

/// The `InputPeer` for a resolved chat. A missing access hash becomes 0,
/// Telegram's "ambient" authority (valid for contacts and basic groups).
pub fn input_peer(peer: &ResolvedPeer) -> Result<tl::enums::InputPeer, TelegramError> {
    let bare = bare_id(peer.peer_id, peer.kind)?;
    let access_hash = peer.access_hash.unwrap_or(0);
    Ok(match peer.kind {
        PeerKind::User => tl::enums::InputPeer::User(tl::types::InputPeerUser {
            user_id: bare,
            access_hash,
        }),
        PeerKind::Chat => tl::enums::InputPeer::Chat(tl::types::InputPeerChat { chat_id: bare }),
        PeerKind::Channel => tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
            channel_id: bare,
            access_hash,
        }),
    })
}

/// Text and entities for a parse mode, using grammers' own parsers.
pub fn format_text(text: &str, mode: ParseMode) -> (String, Option<Vec<tl::enums::MessageEntity>>) {
    let (text, entities) = match mode {
        ParseMode::Plain => return (text.to_owned(), None),
        ParseMode::Markdown => parse_markdown_message(text),
        ParseMode::Html => parse_html_message(text),
    };
    (text, (!entities.is_empty()).then_some(entities))
}

/// How a message goes out besides its text: the template's send options
/// that Telegram's send call itself carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendFlags {
    pub silent: bool,
    pub no_webpage: bool,
}

/// `messages.sendMessage` with the caller's `random_id`, so that a repeat
/// after a crash or lost reply is de-duplicated by Telegram.
pub fn send_message_request(
    peer: tl::enums::InputPeer,
    text: &str,
    mode: ParseMode,
    random_id: i64,
    flags: SendFlags,
) -> tl::functions::messages::SendMessage {
    let (message, entities) = format_text(text, mode);
    tl::functions::messages::SendMessage {
        no_webpage: flags.no_webpage,
        silent: flags.silent,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer,
        reply_to: None,
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
        rich_message: None,
    }
}

/// Telegram message ids are 32-bit; a stored id outside that range is not
/// one Telegram gave.
fn message_id_i32(message_id: i64) -> Result<i32, TelegramError> {
    i32::try_from(message_id)
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| TelegramError::Rpc {
            code: 400,
            name: "MESSAGE_ID_INVALID".into(),
        })
}

/// `messages.updatePinnedMessage`: pins `message_id`; `silent` unless the
/// chat is to be notified.
pub fn pin_request(
    peer: tl::enums::InputPeer,
    message_id: i64,
    notify: bool,
) -> Result<tl::functions::messages::UpdatePinnedMessage, TelegramError> {
    Ok(tl::functions::messages::UpdatePinnedMessage {
        silent: !notify,
        unpin: false,
        pm_oneside: false,
        peer,
        id: message_id_i32(message_id)?,
    })
}

/// Deleting one message: channels and supergroups keep their own message
/// ids (`channels.deleteMessages`); users and basic groups share the
/// account's (`messages.deleteMessages`, revoked for everyone).
#[derive(Debug, Clone, PartialEq)]
pub enum DeleteRequest {
    Messages(tl::functions::messages::DeleteMessages),
    Channel(tl::functions::channels::DeleteMessages),
}

pub fn delete_request(
    peer: tl::enums::InputPeer,
    message_id: i64,
) -> Result<DeleteRequest, TelegramError> {
    let id = vec![message_id_i32(message_id)?];
    Ok(match peer {
        tl::enums::InputPeer::Channel(c) => {
            DeleteRequest::Channel(tl::functions::channels::DeleteMessages {
                channel: tl::enums::InputChannel::Channel(tl::types::InputChannel {
                    channel_id: c.channel_id,
                    access_hash: c.access_hash,
                }),
                id,
            })
        }
        _ => DeleteRequest::Messages(tl::functions::messages::DeleteMessages { revoke: true, id }),
    })
}

/// The id of the message our `random_id` created, from the send's answer:
/// `updateShortSentMessage` (private chats), or `updateMessageID` matching
/// our `random_id` inside `updates` / `updatesCombined` / `updateShort`.
/// Falls back to the only outgoing new message when Telegram omitted
/// `updateMessageID`.
pub fn sent_message_id(updates: &tl::enums::Updates, random_id: i64) -> Option<i64> {
    use tl::enums::Updates as U;
    let list: &[tl::enums::Update] = match updates {
        U::UpdateShortSentMessage(s) => return Some(i64::from(s.id)),
        U::Updates(u) => &u.updates,
        U::Combined(u) => &u.updates,
        U::UpdateShort(u) => std::slice::from_ref(&u.update),
        U::TooLong | U::UpdateShortMessage(_) | U::UpdateShortChatMessage(_) => return None,
    };
    let by_random_id = list.iter().find_map(|u| match u {
        tl::enums::Update::MessageId(m) if m.random_id == random_id => Some(i64::from(m.id)),
        _ => None,
    });
    by_random_id.or_else(|| {
        let mut outgoing = list.iter().filter_map(|u| match u {
            tl::enums::Update::NewMessage(tl::types::UpdateNewMessage {
                message: tl::enums::Message::Message(m),
                ..
            })
            | tl::enums::Update::NewChannelMessage(tl::types::UpdateNewChannelMessage {
                message: tl::enums::Message::Message(m),
                ..
            }) if m.out => Some(i64::from(m.id)),
            _ => None,
        });
        match (outgoing.next(), outgoing.next()) {
            (Some(id), None) => Some(id),
            _ => None,
        }
    })
}

#[cfg(test)]
#[path = "send_tests.rs"]
mod tests;
