//! [`LiveMessenger`]: the [`Messenger`] that talks MTProto through grammers,
//! one client (sender pool + runner task + session saver) per account.
//!
//! Clients are built lazily on first use and rebuilt when their runner task
//! has ended (it panics on malformed server config, or quits); after
//! transient failures, calls back off exponentially (1 s … 60 s) instead of
//! hammering Telegram. grammers' default retry policy (`AutoSleep`) would
//! sleep through FLOOD_WAITs below 60 s; ours ([`ReconnectOnly`]) only
//! retries I/O errors, so every FLOOD_WAIT reaches the scheduler.
//! Messages with attachments go through [`media_send`] (uploads cached per
//! account, dropped on release and log-out).

mod guard;
pub mod login;
pub mod media_send;
pub mod media_tl;
mod message_calls;
pub mod probe;
pub mod proxy;
pub mod resolve;
pub mod rpc_map;
pub mod send;
pub mod session;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use grammers_client::Client;
use grammers_mtsender::{ConnectionParams, SenderPool};
use tokio::task::JoinHandle;

pub use self::guard::{RESOLVE_TIMEOUT, ReconnectOnly};
pub(crate) use self::guard::{bounded, contained};
use self::login::LoginState;
use self::rpc_map::map_invocation;
use self::session::DbSession;
use super::target::parse_target;
use super::{
    AccountKey, Dialog, LoginStart, MediaSource, Messenger, OutgoingText, ResolvedPeer, Secret,
    Sent, SentRef, SessionStore, SignIn, TelegramError, UserInfo,
};

const MAX_BACKOFF: Duration = Duration::from_secs(60);

struct Conn {
    client: Client,
    session: Arc<DbSession>,
    runner: JoinHandle<()>,
    saver: JoinHandle<()>,
}

#[derive(Default)]
struct Backoff {
    failures: u32,
    until: Option<Instant>,
}

#[derive(Default)]
struct Slot {
    conn: tokio::sync::Mutex<Option<Conn>>,
    login: Mutex<LoginState>,
    backoff: Mutex<Backoff>,
    /// Files this account has uploaded (handles, not bytes).
    media: media_send::MediaCache,
}

/// The live Telegram transport. See the module docs.
pub struct LiveMessenger {
    api_id: i32,
    api_hash: Secret,
    sessions: Arc<dyn SessionStore>,
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
    /// `[telegram] proxy`, the whole URL (it may hold a password).
    proxy: Option<Secret>,
    /// Attachments' bytes, read only to upload a file an account has not
    /// uploaded yet.
    media: Arc<dyn MediaSource>,
}

impl fmt::Debug for LiveMessenger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveMessenger")
            .field("api_id", &self.api_id)
            .field("api_hash", &self.api_hash) // prints ***
            .finish_non_exhaustive()
    }
}

impl LiveMessenger {
    pub fn new(
        api_id: i32,
        api_hash: Secret,
        sessions: Arc<dyn SessionStore>,
        media: Arc<dyn MediaSource>,
    ) -> Self {
        LiveMessenger {
            api_id,
            api_hash,
            sessions,
            slots: Mutex::new(HashMap::new()),
            proxy: None,
            media,
        }
    }

    /// Sends every connection through this SOCKS5 proxy (see [`proxy`]).
    pub fn with_proxy(mut self, proxy: Option<Secret>) -> Self {
        if let Some(p) = &proxy {
            tracing::info!(
                proxy = %crate::config::redact_database_url(p.expose()),
                "Telegram connections go through a SOCKS5 proxy"
            );
        }
        self.proxy = proxy;
        self
    }

    fn slot(&self, account: &AccountKey) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slots.entry(account.id).or_default())
    }

    /// The account's client and session, building them if needed.
    async fn conn(
        &self,
        slot: &Slot,
        account: &AccountKey,
    ) -> Result<(Client, Arc<DbSession>), TelegramError> {
        {
            let b = slot.backoff.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(until) = b.until.filter(|u| *u > Instant::now()) {
                let secs = until.saturating_duration_since(Instant::now()).as_secs() + 1;
                return Err(TelegramError::Transient(format!(
                    "connection to Telegram failing; next attempt in {secs}s"
                )));
            }
        }
        let mut guard = slot.conn.lock().await;
        if let Some(c) = guard.as_ref().filter(|c| !c.runner.is_finished()) {
            return Ok((c.client.clone(), Arc::clone(&c.session)));
        }
        if let Some(old) = guard.take() {
            tracing::warn!(account = %account.name, "Telegram connection ended; reconnecting");
            old.client.disconnect();
            old.session.close().await;
            old.saver.abort();
        }
        let session = DbSession::load(account.id, Arc::clone(&self.sessions))
            .await
            .map_err(|e| TelegramError::Transient(e.to_string()))?;
        let params = ConnectionParams {
            device_model: "microbot".to_owned(),
            app_version: env!("CARGO_PKG_VERSION").to_owned(),
            retry_policy: Box::new(ReconnectOnly),
            proxy_url: self.proxy.as_ref().map(|p| p.expose().to_owned()),
            ..ConnectionParams::default()
        };
        let pool = SenderPool::with_configuration(Arc::clone(&session), self.api_id, params);
        // Updates are not used: dropping the receiver makes grammers stop
        // forwarding them instead of filling a channel nobody reads.
        drop(pool.updates);
        let runner = tokio::spawn(pool.runner.run());
        let saver = session.spawn_saver(session::SAVE_EVERY);
        let client = Client::new(pool.handle);
        *guard = Some(Conn {
            client: client.clone(),
            session: Arc::clone(&session),
            runner,
            saver,
        });
        Ok((client, session))
    }

    /// Records the outcome of a network call for the backoff.
    fn note<T>(&self, slot: &Slot, account: &AccountKey, r: &Result<T, TelegramError>) {
        let mut b = slot.backoff.lock().unwrap_or_else(|p| p.into_inner());
        match r {
            Err(TelegramError::Transient(why)) => {
                b.failures = b.failures.saturating_add(1);
                let wait = Duration::from_secs(1 << b.failures.min(6)).min(MAX_BACKOFF);
                b.until = Some(Instant::now() + wait);
                tracing::warn!(account = %account.name, reason = %why, backoff_s = wait.as_secs(), "Telegram call failed");
            }
            _ => *b = Backoff::default(),
        }
    }

    /// Every account's connection, stopped as [`Messenger::shutdown`] says.
    async fn stop_all(&self) {
        let slots: Vec<Arc<Slot>> = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for slot in slots {
            if let Some(c) = slot.conn.lock().await.take() {
                // The last save goes out while the database is still open;
                // then the tasks are stopped and awaited, so none of them
                // touches the pool after it closes.
                c.session.close().await;
                c.client.disconnect();
                c.saver.abort();
                c.runner.abort();
                let _ = c.saver.await;
                let _ = c.runner.await;
            }
        }
    }

    async fn drop_conn(&self, slot: &Slot) {
        if let Some(c) = slot.conn.lock().await.take() {
            c.client.disconnect();
            c.saver.abort();
        }
    }
}

#[async_trait]
impl Messenger for LiveMessenger {
    async fn request_code(
        &self,
        account: &AccountKey,
        phone: &Secret,
    ) -> Result<LoginStart, TelegramError> {
        let slot = self.slot(account);
        let (client, session) = self.conn(&slot, account).await?;
        if session.has_self_user() {
            let c = client.clone();
            let me = contained("users.getUsers(self)", async move {
                match c.is_authorized().await {
                    Ok(true) => c.get_me().await.map(Some),
                    Ok(false) => Ok(None),
                    Err(e) => Err(e),
                }
                .map_err(|e| map_invocation(&e))
            })
            .await;
            self.note(&slot, account, &me);
            if let Some(user) = me? {
                return Ok(LoginStart::AlreadyAuthorized(login::user_info(&user)));
            }
        }
        let r = login::request_code(&client, phone, &self.api_hash).await;
        self.note(&slot, account, &r);
        let token = r?;
        *slot.login.lock().unwrap_or_else(|p| p.into_inner()) = LoginState::CodeSent {
            token,
            at: Instant::now(),
        };
        tracing::info!(account = %account.name, "Telegram login code requested");
        Ok(LoginStart::CodeSent {
            via: "Telegram app or SMS".to_owned(),
        })
    }

    async fn submit_code(
        &self,
        account: &AccountKey,
        code: &Secret,
    ) -> Result<SignIn, TelegramError> {
        let slot = self.slot(account);
        let token = slot
            .login
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_code_token(Instant::now())?;
        let (client, session) = self.conn(&slot, account).await?;
        let outcome = login::submit_code(&client, token, code).await;
        let answer = login::code_answer(
            &mut slot.login.lock().unwrap_or_else(|p| p.into_inner()),
            outcome,
        );
        if matches!(answer, Ok(SignIn::Done(_))) {
            session
                .flush()
                .await
                .map_err(|e| TelegramError::Transient(e.to_string()))?;
        }
        answer
    }

    async fn submit_password(
        &self,
        account: &AccountKey,
        password: &Secret,
    ) -> Result<UserInfo, TelegramError> {
        let slot = self.slot(account);
        let token = slot
            .login
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_password_token(Instant::now())?;
        let (client, session) = self.conn(&slot, account).await?;
        match login::submit_password(&client, token, password).await {
            login::PasswordOutcome::Done(info) => {
                session
                    .flush()
                    .await
                    .map_err(|e| TelegramError::Transient(e.to_string()))?;
                Ok(info)
            }
            login::PasswordOutcome::Retry(token, err) => {
                *slot.login.lock().unwrap_or_else(|p| p.into_inner()) =
                    LoginState::PasswordNeeded {
                        token,
                        at: Instant::now(),
                    };
                Err(err)
            }
            login::PasswordOutcome::Failed(err) => Err(err),
        }
    }

    async fn log_out(&self, account: &AccountKey) -> Result<(), TelegramError> {
        let slot = self.slot(account);
        *slot.login.lock().unwrap_or_else(|p| p.into_inner()) = LoginState::Idle;
        match self.conn(&slot, account).await {
            Ok((client, session)) => {
                let c = client.clone();
                let r = contained("auth.logOut", async move {
                    c.sign_out()
                        .await
                        .map(|_| ())
                        .map_err(|e| map_invocation(&e))
                })
                .await;
                if let Err(e) = r {
                    tracing::warn!(account = %account.name, error = %e, "Telegram log-out failed; forgetting the session anyway");
                }
                session
                    .forget()
                    .await
                    .map_err(|e| TelegramError::Transient(e.to_string()))?;
            }
            Err(_) => self
                .sessions
                .clear_session(account.id)
                .await
                .map_err(|e| TelegramError::Transient(e.to_string()))?,
        }
        self.drop_conn(&slot).await;
        slot.media.clear();
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&account.id);
        Ok(())
    }

    async fn resolve(
        &self,
        account: &AccountKey,
        target: &str,
    ) -> Result<ResolvedPeer, TelegramError> {
        let t = parse_target(target).map_err(|e| TelegramError::PeerInvalid {
            code: e.to_string(),
        })?;
        let slot = self.slot(account);
        let (client, session) = self.conn(&slot, account).await?;
        let r = bounded(
            "resolving a chat",
            RESOLVE_TIMEOUT,
            resolve::resolve_target(&client, &session, t),
        )
        .await;
        self.note(&slot, account, &r);
        r
    }

    async fn send_text(
        &self,
        account: &AccountKey,
        msg: &OutgoingText<'_>,
    ) -> Result<Sent, TelegramError> {
        let slot = self.slot(account);
        let (client, session) = self.conn(&slot, account).await?;
        let peer = message_calls::with_cached_hash(msg.peer, &session);
        if !msg.attachments.is_empty() {
            let calls = media_send::ClientCalls(client);
            let r = media_send::send_media(
                &calls,
                &slot.media,
                &*self.media,
                send::input_peer(&peer)?,
                msg,
            )
            .await;
            self.note(&slot, account, &r);
            return r;
        }
        let req = send::send_message_request(
            send::input_peer(&peer)?,
            msg.text,
            msg.parse_mode,
            msg.random_id,
            send::SendFlags {
                silent: msg.silent,
                no_webpage: msg.no_preview,
            },
        );
        let random_id = msg.random_id;
        let r = contained("messages.sendMessage", async move {
            client.invoke(&req).await.map_err(|e| map_invocation(&e))
        })
        .await;
        self.note(&slot, account, &r);
        match r {
            Ok(updates) => {
                let id = send::sent_message_id(&updates, random_id);
                if id.is_none() {
                    tracing::warn!(account = %account.name, random_id, "sent, but the answer held no message id");
                }
                Ok(Sent {
                    message_id: id.unwrap_or(0),
                    album_ids: Vec::new(),
                    duplicate: false,
                })
            }
            // Sent before with this random_id (a retry after a crash/lost reply).
            Err(TelegramError::RandomIdDuplicate) => Ok(Sent {
                message_id: 0,
                album_ids: Vec::new(),
                duplicate: true,
            }),
            Err(e) => Err(e),
        }
    }

    async fn pin_message(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
        notify: bool,
    ) -> Result<(), TelegramError> {
        self.pin(account, msg, notify).await
    }

    async fn delete_message(
        &self,
        account: &AccountKey,
        msg: &SentRef<'_>,
    ) -> Result<(), TelegramError> {
        self.delete(account, msg).await
    }

    async fn dialogs(
        &self,
        account: &AccountKey,
        search: Option<&str>,
    ) -> Result<Vec<Dialog>, TelegramError> {
        let slot = self.slot(account);
        let (client, _) = self.conn(&slot, account).await?;
        let r = resolve::scan_dialogs(&client, search.map(str::to_owned), None).await;
        self.note(&slot, account, &r);
        r
    }

    async fn release(&self, account: &AccountKey) {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&account.id)
            .cloned();
        let Some(slot) = slot else { return };
        // Another node may now send for this account; our handles would
        // only age here.
        slot.media.clear();
        if let Some(c) = slot.conn.lock().await.take() {
            // No last save (see the trait): stop the saver before anything
            // else, then the connection.
            c.saver.abort();
            c.client.disconnect();
            c.runner.abort();
            let _ = c.saver.await;
            let _ = c.runner.await;
            tracing::info!(account = %account.name, "Telegram connection closed: this node no longer holds the account");
        }
    }

    async fn shutdown(&self) {
        self.stop_all().await;
    }
}

#[cfg(test)]
#[path = "mod_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "media_wire_tests.rs"]
mod media_wire_tests;
