//! Calls on a message already sent (send options): pin it
//! (`messages.updatePinnedMessage`) and delete it (`channels.deleteMessages`
//! in a channel, `messages.deleteMessages` with revoke elsewhere). The TL
//! requests are built in [`super::send`].

use grammers_session::types::PeerId;

use super::rpc_map::map_invocation;
use super::session::DbSession;
use super::{LiveMessenger, contained, send};
use crate::telegram::{AccountKey, PeerKind, ResolvedPeer, SentRef, TelegramError};

/// The peer with a missing access hash filled from the session's peer
/// cache (basic groups need none).
pub(super) fn with_cached_hash(peer: &ResolvedPeer, session: &DbSession) -> ResolvedPeer {
    let mut peer = peer.clone();
    if peer.access_hash.is_none() && peer.kind != PeerKind::Chat {
        peer.access_hash = PeerId::from_bot_api_dialog_id(peer.peer_id)
            .and_then(|id| session.cached_peer(id))
            .and_then(|i| i.auth())
            .map(|a| a.hash());
    }
    peer
}

impl LiveMessenger {
    pub(super) async fn pin(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
        notify: bool,
    ) -> Result<(), TelegramError> {
        let slot = self.slot(account);
        let (client, session) = self.conn(&slot, account).await?;
        let peer = with_cached_hash(msg.peer, &session);
        let req = send::pin_request(send::input_peer(&peer)?, msg.message_id, notify)?;
        let r = contained("messages.updatePinnedMessage", async move {
            client
                .invoke(&req)
                .await
                .map(drop)
                .map_err(|e| map_invocation(&e))
        })
        .await;
        self.note(&slot, account, &r);
        r
    }

    pub(super) async fn delete(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
    ) -> Result<(), TelegramError> {
        let slot = self.slot(account);
        let (client, session) = self.conn(&slot, account).await?;
        let peer = with_cached_hash(msg.peer, &session);
        let req = send::delete_request(send::input_peer(&peer)?, msg.message_id)?;
        let r = contained("messages.deleteMessages", async move {
            match req {
                send::DeleteRequest::Messages(q) => client.invoke(&q).await.map(drop),
                send::DeleteRequest::Channel(q) => client.invoke(&q).await.map(drop),
            }
            .map_err(|e| map_invocation(&e))
        })
        .await;
        self.note(&slot, account, &r);
        r
    }
}
