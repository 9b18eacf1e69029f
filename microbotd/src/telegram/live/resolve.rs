//! Turning targets into [`ResolvedPeer`]s: usernames via
//! `contacts.resolveUsername`, numeric ids via the session's peer cache
//! (access hashes) or, failing that, a scan of the account's dialogs.

use grammers_client::Client;
use grammers_client::peer::Peer;
use grammers_session::types::{PeerId, PeerKind as GPeerKind, PeerRef};

use super::contained;
use super::rpc_map::map_invocation;
use super::session::DbSession;
use crate::telegram::target::TargetRef;
use crate::telegram::{Dialog, PeerKind, ResolvedPeer, TelegramError};

pub async fn peer_to_resolved(peer: &Peer) -> Result<ResolvedPeer, TelegramError> {
    let id = peer.id();
    let auth = peer.to_ref().await.ok().flatten().map(|r| r.auth.hash());
    resolved(
        id,
        auth,
        peer.name().or(peer.username()).unwrap_or_default(),
    )
}

pub async fn resolve_target(
    client: &Client,
    session: &DbSession,
    t: TargetRef,
) -> Result<ResolvedPeer, TelegramError> {
    match t {
        TargetRef::Username(name) => {
            let c = client.clone();
            let peer = contained("contacts.resolveUsername", async move {
                c.resolve_username(&name)
                    .await
                    .map_err(|e| map_invocation(&e))
            })
            .await?
            .ok_or(TelegramError::PeerInvalid {
                code: "USERNAME_NOT_OCCUPIED".into(),
            })?;
            peer_to_resolved(&peer).await
        }
        TargetRef::PeerId { id, .. } => {
            let pid = PeerId::from_bot_api_dialog_id(id).ok_or(TelegramError::PeerInvalid {
                code: "PEER_ID_INVALID".into(),
            })?;
            let cached = session.cached_peer(pid).and_then(|i| i.auth());
            let known = cached.or((pid.kind() == GPeerKind::Chat).then(Default::default));
            if let Some(auth) = known {
                let c = client.clone();
                let peer = contained("getPeer", async move {
                    c.resolve_peer(PeerRef { id: pid, auth })
                        .await
                        .map_err(|e| map_invocation(&e))
                })
                .await?;
                return peer_to_resolved(&peer).await;
            }
            // No access hash cached: the account must see the chat in its dialogs.
            scan_dialogs(client, None, Some(id))
                .await?
                .into_iter()
                .next()
                .map(|d| d.peer)
                .ok_or(TelegramError::PeerInvalid {
                    code: "PEER_ID_INVALID: not in this account's chats".into(),
                })
        }
    }
}

pub async fn scan_dialogs(
    client: &Client,
    search: Option<String>,
    want: Option<i64>,
) -> Result<Vec<Dialog>, TelegramError> {
    let c = client.clone();
    contained("messages.getDialogs", async move {
        let needle = search.map(|s| s.to_lowercase());
        let mut out = Vec::new();
        let mut it = c.iter_dialogs();
        while let Some(d) = it.next().await.map_err(|e| map_invocation(&e))? {
            let peer = d.peer();
            let rp = resolved(
                peer.id(),
                Some(d.peer_ref().auth.hash()),
                peer.name().unwrap_or_default(),
            )?;
            if want.is_some_and(|w| w != rp.peer_id) {
                continue;
            }
            let username = peer.username().map(str::to_owned);
            let hit = needle.as_ref().is_none_or(|n| {
                rp.title.to_lowercase().contains(n)
                    || username
                        .as_ref()
                        .is_some_and(|u| u.to_lowercase().contains(n))
            });
            if hit {
                out.push(Dialog { peer: rp, username });
                if want.is_some() {
                    break;
                }
            }
        }
        Ok(out)
    })
    .await
}

/// Our [`ResolvedPeer`] from grammers' id and access hash.
pub fn resolved(id: PeerId, auth: Option<i64>, title: &str) -> Result<ResolvedPeer, TelegramError> {
    let invalid = || TelegramError::PeerInvalid {
        code: "PEER_ID_INVALID".into(),
    };
    let kind = match id.kind() {
        GPeerKind::User => PeerKind::User,
        GPeerKind::Chat => PeerKind::Chat,
        GPeerKind::Channel => PeerKind::Channel,
    };
    Ok(ResolvedPeer {
        peer_id: id.bot_api_dialog_id().ok_or_else(invalid)?,
        kind,
        access_hash: if kind == PeerKind::Chat { None } else { auth },
        title: title.to_owned(),
    })
}
