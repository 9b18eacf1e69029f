//! The Telegram methods the server answers, decoded with grammers-tl-types
//! and answered with its types, at grammers 0.11's layer.

use grammers_tl_types::{self as tl, Deserializable, Serializable};

use crate::world::{ChatKind, ChatSpec, MessageCall, SentMessage, SentPeer, World};
use crate::{media, objects};

/// `rpc_error` code and message.
pub type RpcErr = (i32, String);

pub(crate) fn err(code: i32, message: &str) -> RpcErr {
    (code, message.to_owned())
}

pub(crate) fn parse<T: Deserializable>(body: &[u8]) -> Result<T, RpcErr> {
    T::from_bytes(&body[4..]).map_err(|_| err(400, "INPUT_REQUEST_INVALID"))
}

/// Methods that work before the auth key is logged in.
const UNAUTHORIZED_OK: &[&str] = &[
    "help.getConfig",
    "auth.sendCode",
    "auth.signIn",
    "account.getPassword",
    "auth.checkPassword",
];

/// `(random_id, chat's bare id)` of a send (`messages.sendMessage`,
/// `sendMedia`, or `sendMultiMedia` by its first item's id).
pub fn send_target(name: &str, body: &[u8]) -> Option<(i64, Option<i64>)> {
    match name {
        "messages.sendMessage" => {
            let req: tl::functions::messages::SendMessage = parse(body).ok()?;
            Some((req.random_id, sent_peer(&req.peer).bare_id()))
        }
        "messages.sendMedia" => {
            let req: tl::functions::messages::SendMedia = parse(body).ok()?;
            Some((req.random_id, sent_peer(&req.peer).bare_id()))
        }
        "messages.sendMultiMedia" => {
            let req: tl::functions::messages::SendMultiMedia = parse(body).ok()?;
            let tl::enums::InputSingleMedia::Media(first) = req.multi_media.first()?;
            Some((first.random_id, sent_peer(&req.peer).bare_id()))
        }
        _ => None,
    }
}

pub(crate) fn sent_peer(p: &tl::enums::InputPeer) -> SentPeer {
    use tl::enums::InputPeer as P;
    match p {
        P::User(u) => SentPeer::User {
            id: u.user_id,
            access_hash: u.access_hash,
        },
        P::Chat(c) => SentPeer::Chat { id: c.chat_id },
        P::Channel(c) => SentPeer::Channel {
            id: c.channel_id,
            access_hash: c.access_hash,
        },
        other => SentPeer::Other(format!("{other:?}")),
    }
}

pub(crate) fn entity_summary(e: &tl::enums::MessageEntity) -> String {
    // Debug is `Bold(MessageEntityBold { offset: 0, length: 4 })`.
    let dbg = format!("{e:?}");
    let kind = dbg.split('(').next().unwrap_or("?").to_owned();
    let num = |field: &str| {
        dbg.split(field)
            .nth(1)
            .and_then(|s| {
                s.split(|c: char| !c.is_ascii_digit())
                    .find(|t| !t.is_empty())
            })
            .unwrap_or("?")
            .to_owned()
    };
    format!("{kind}({},{})", num("offset: "), num("length: "))
}

/// Answers one call (the wrappers already peeled off).
pub fn call(w: &mut World, name: &str, body: &[u8]) -> Result<Vec<u8>, RpcErr> {
    if !w.authorized && !UNAUTHORIZED_OK.contains(&name) {
        return Err(err(401, "AUTH_KEY_UNREGISTERED"));
    }
    match name {
        "help.getConfig" => Ok(objects::config(w.port).to_bytes()),
        "auth.sendCode" => {
            let _: tl::functions::auth::SendCode = parse(body)?;
            Ok(tl::enums::auth::SentCode::Code(tl::types::auth::SentCode {
                r#type: tl::types::auth::SentCodeTypeApp {
                    length: w.code.len() as i32,
                }
                .into(),
                phone_code_hash: "test-hash".into(),
                next_type: None,
                timeout: None,
            })
            .to_bytes())
        }
        "auth.signIn" => {
            let req: tl::functions::auth::SignIn = parse(body)?;
            if req.phone_code_hash != "test-hash" {
                return Err(err(400, "PHONE_CODE_EXPIRED"));
            }
            if req.phone_code.as_deref() != Some(w.code.as_str()) {
                return Err(err(400, "PHONE_CODE_INVALID"));
            }
            if w.srp.is_some() {
                return Err(err(401, "SESSION_PASSWORD_NEEDED"));
            }
            Ok(authorize(w))
        }
        "account.getPassword" => {
            let Some(srp) = &w.srp else {
                return Err(err(400, "PASSWORD_EMPTY"));
            };
            Ok(
                tl::enums::account::Password::Password(tl::types::account::Password {
                    has_recovery: false,
                    has_secure_values: false,
                    has_password: true,
                    current_algo: Some(srp.algo()),
                    srp_b: Some(srp.g_b()),
                    srp_id: Some(srp.srp_id),
                    hint: w.hint.clone(),
                    email_unconfirmed_pattern: None,
                    new_algo: tl::enums::PasswordKdfAlgo::Unknown,
                    new_secure_algo: tl::enums::SecurePasswordKdfAlgo::Unknown,
                    secure_random: (0..256).map(|_| rand::random::<u8>()).collect(),
                    pending_reset_date: None,
                    login_email_pattern: None,
                })
                .to_bytes(),
            )
        }
        "auth.checkPassword" => {
            let req: tl::functions::auth::CheckPassword = parse(body)?;
            let ok = match (&w.srp, req.password) {
                (Some(srp), tl::enums::InputCheckPasswordSrp::Srp(p)) => {
                    srp.check(p.srp_id, &p.a, &p.m1)
                }
                _ => false,
            };
            w.password_checks.push(ok);
            if !ok {
                return Err(err(400, "PASSWORD_HASH_INVALID"));
            }
            Ok(authorize(w))
        }
        "updates.getState" => Ok(tl::enums::updates::State::State(tl::types::updates::State {
            pts: w.pts,
            qts: 0,
            date: objects::now(),
            seq: 0,
            unread_count: 0,
        })
        .to_bytes()),
        "users.getUsers" => {
            let req: tl::functions::users::GetUsers = parse(body)?;
            let users: Vec<tl::enums::User> = req
                .id
                .iter()
                .filter_map(|u| match u {
                    tl::enums::InputUser::UserSelf => Some(objects::user(&w.me, true)),
                    tl::enums::InputUser::User(u) => w
                        .chats
                        .iter()
                        .find(|c| c.kind == ChatKind::User && c.id == u.user_id)
                        .map(|c| objects::user(c, false)),
                    _ => None,
                })
                .collect();
            Ok(users.to_bytes())
        }
        "contacts.resolveUsername" => {
            let req: tl::functions::contacts::ResolveUsername = parse(body)?;
            let found = w
                .chats
                .iter()
                .find(|c| c.username.as_deref() == Some(req.username.as_str()))
                .ok_or_else(|| err(400, "USERNAME_NOT_OCCUPIED"))?;
            let (users, chats) = objects::split(&[found]);
            Ok(
                tl::enums::contacts::ResolvedPeer::Peer(tl::types::contacts::ResolvedPeer {
                    peer: objects::peer(found),
                    chats,
                    users,
                })
                .to_bytes(),
            )
        }
        "messages.getDialogs" => {
            let all: Vec<&ChatSpec> = w.chats.iter().collect();
            let (mut users, chats) = objects::split(&all);
            users.push(objects::user(&w.me, true));
            Ok(
                tl::enums::messages::Dialogs::Dialogs(tl::types::messages::Dialogs {
                    dialogs: w.chats.iter().map(objects::dialog).collect(),
                    messages: Vec::new(),
                    chats,
                    users,
                })
                .to_bytes(),
            )
        }
        "messages.sendMessage" => send_message(w, body),
        "upload.saveFilePart" => media::save_part(w, body),
        "upload.saveBigFilePart" => media::save_big_part(w, body),
        "messages.uploadMedia" => media::upload_media(w, body),
        "messages.sendMedia" => media::send_media(w, body),
        "messages.sendMultiMedia" => media::send_multi_media(w, body),
        "messages.updatePinnedMessage" => {
            let req: tl::functions::messages::UpdatePinnedMessage = parse(body)?;
            w.message_calls.push(MessageCall::Pin {
                peer: sent_peer(&req.peer),
                message_id: req.id,
                silent: req.silent,
            });
            Ok(empty_updates())
        }
        "messages.deleteMessages" => {
            let req: tl::functions::messages::DeleteMessages = parse(body)?;
            w.message_calls.push(MessageCall::Delete {
                channel: None,
                message_ids: req.id,
                revoke: req.revoke,
            });
            Ok(affected(w))
        }
        "channels.deleteMessages" => {
            let req: tl::functions::channels::DeleteMessages = parse(body)?;
            let channel = match req.channel {
                tl::enums::InputChannel::Channel(c) => Some(c.channel_id),
                _ => None,
            };
            w.message_calls.push(MessageCall::Delete {
                channel,
                message_ids: req.id,
                revoke: true,
            });
            Ok(affected(w))
        }
        "auth.logOut" => {
            w.authorized = false;
            let out: tl::enums::auth::LoggedOut = tl::types::auth::LoggedOut {
                future_auth_token: None,
            }
            .into();
            Ok(out.to_bytes())
        }
        _ => Err(err(400, "METHOD_NOT_SUPPORTED_BY_TEST_SERVER")),
    }
}

fn empty_updates() -> Vec<u8> {
    tl::enums::Updates::Updates(tl::types::Updates {
        updates: Vec::new(),
        users: Vec::new(),
        chats: Vec::new(),
        date: objects::now(),
        seq: 0,
    })
    .to_bytes()
}

/// No update stream here: the answer moves no pts.
fn affected(w: &World) -> Vec<u8> {
    tl::enums::messages::AffectedMessages::Messages(tl::types::messages::AffectedMessages {
        pts: w.pts,
        pts_count: 0,
    })
    .to_bytes()
}

fn authorize(w: &mut World) -> Vec<u8> {
    w.authorized = true;
    tl::enums::auth::Authorization::Authorization(tl::types::auth::Authorization {
        setup_password_required: false,
        otherwise_relogin_days: None,
        tmp_sessions: None,
        future_auth_token: None,
        user: objects::user(&w.me, true),
    })
    .to_bytes()
}

/// Telegram's de-duplication: a `random_id` seen before returns the first
/// message again instead of sending a second one.
fn send_message(w: &mut World, body: &[u8]) -> Result<Vec<u8>, RpcErr> {
    let req: tl::functions::messages::SendMessage = parse(body)?;
    let peer = known_peer(w, &req.peer)?;
    let id = keep(
        w,
        SentMessage {
            message_id: 0,
            random_id: req.random_id,
            peer,
            text: req.message.clone(),
            entities: req.entities.iter().flatten().map(entity_summary).collect(),
            silent: req.silent,
            no_webpage: req.no_webpage,
            media: None,
            grouped_id: None,
        },
    );
    Ok(message_ids(&[(id, req.random_id)]))
}

/// The peer of a send, if it is one of the account's chats with the right
/// access hash (else Telegram's `PEER_ID_INVALID`).
pub(crate) fn known_peer(w: &World, p: &tl::enums::InputPeer) -> Result<SentPeer, RpcErr> {
    let peer = sent_peer(p);
    let known = w
        .chats
        .iter()
        .any(|c| Some(c.id) == peer.bare_id() && matches!((&peer, c.kind), (SentPeer::User { access_hash, .. }, ChatKind::User) | (SentPeer::Channel { access_hash, .. }, ChatKind::Channel) if *access_hash == c.access_hash));
    if known {
        Ok(peer)
    } else {
        Err(err(400, "PEER_ID_INVALID"))
    }
}

/// Keeps `m` under a new message id, unless its `random_id` was seen: then
/// the first message's id (Telegram's de-duplication).
pub(crate) fn keep(w: &mut World, mut m: SentMessage) -> i32 {
    if let Some(&i) = w.by_random_id.get(&m.random_id) {
        return w.kept[i].message_id;
    }
    m.message_id = w.next_message_id;
    w.next_message_id += 1;
    w.pts += 1;
    w.by_random_id.insert(m.random_id, w.kept.len());
    let id = m.message_id;
    w.kept.push(m);
    id
}

/// `updates` with one `updateMessageID` per `(message id, random_id)`.
pub(crate) fn message_ids(ids: &[(i32, i64)]) -> Vec<u8> {
    tl::enums::Updates::Updates(tl::types::Updates {
        updates: ids
            .iter()
            .map(|&(id, random_id)| tl::types::UpdateMessageId { id, random_id }.into())
            .collect(),
        users: Vec::new(),
        chats: Vec::new(),
        date: objects::now(),
        seq: 0,
    })
    .to_bytes()
}
