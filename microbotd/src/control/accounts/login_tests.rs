//! Login flows against the scriptable fake messenger: 2FA, wrong code then
//! right, expired code, sign-up required, the limiter's lockout; plus
//! logout, resume, chats and remove on the same in-process context.

use super::*;
use crate::control::accounts::manage as account_manage;
use crate::control::caller::Role;
use crate::store::states::AccountState;
use crate::telegram::fake::{FakeMessenger, LoginScript};
use crate::telegram::{Dialog, PeerKind, ResolvedPeer};
use crate::testing::TestContext;

const ADMIN: Caller = Caller {
    uid: 1000,
    pid: None,
    role: Role::Admin,
    subject: None,
};

async fn setup(
    store: crate::store::Store,
    name: &str,
    script: LoginScript,
) -> (TestContext, LoginLimiter) {
    let t = TestContext::on(store).await;
    t.ctx
        .store
        .account_create(name, "+905321234567", 1)
        .await
        .unwrap();
    t.fake.set_login(name, script);
    (t, LoginLimiter::new())
}

async fn state(t: &TestContext, name: &str) -> AccountRow {
    t.ctx.store.account_by_name(name).await.unwrap()
}

fn code(s: &str) -> Secret {
    Secret::new(s)
}

async fn two_step_verification_login(store: crate::store::Store) {
    let script = LoginScript {
        code: "11111".into(),
        password: Some("hunter2".into()),
        hint: Some("pet".into()),
        ..LoginScript::default()
    };
    let (mut t, l) = setup(store, "a", script).await;
    let started = start_login(&t.ctx, &l, &ADMIN, "a").await.unwrap();
    assert!(!started.already_authorized);
    assert_eq!(started.code_sent_via, "fake");
    assert_eq!(state(&t, "a").await.state, AccountState::CodeSent);

    let step = submit_code(&t.ctx, &l, &ADMIN, "a", &code("11111"))
        .await
        .unwrap();
    assert!(step.password_needed);
    assert_eq!(step.password_hint, "pet");
    assert_eq!(state(&t, "a").await.state, AccountState::PasswordNeeded);

    let err = submit_password(&t.ctx, &l, &ADMIN, "a", &code("wrong"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::InvalidArgument { field, .. } if field == "password"),
        "{err:?}"
    );
    assert_eq!(state(&t, "a").await.state, AccountState::PasswordNeeded);

    let done = submit_password(&t.ctx, &l, &ADMIN, "a", &code("hunter2"))
        .await
        .unwrap();
    assert!(!done.password_needed);
    let row = state(&t, "a").await;
    let user = FakeMessenger::user_for("a");
    assert_eq!(row.state, AccountState::Active);
    assert_eq!(row.tg_user_id, Some(user.user_id));
    assert_eq!(row.tg_display.as_deref(), Some(user.display.as_str()));
    assert_eq!(row.last_error, None);
    assert_eq!(done.account.unwrap().telegram_user, user.display);
    assert_eq!(t.drain_changes(), [Change::Account(row.id)]);

    // A second login finds the session valid.
    let again = start_login(&t.ctx, &l, &ADMIN, "a").await.unwrap();
    assert!(again.already_authorized);
}
crate::store::testing::per_backend!(two_step_verification_login);

async fn wrong_code_then_right_one(store: crate::store::Store) {
    let (t, l) = setup(store, "a", LoginScript::default()).await;
    start_login(&t.ctx, &l, &ADMIN, "a").await.unwrap();
    let err = submit_code(&t.ctx, &l, &ADMIN, "a", &code("99999"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::InvalidArgument { field, .. } if field == "code"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("99999"));
    let row = state(&t, "a").await;
    assert_eq!(row.state, AccountState::CodeSent);
    assert_eq!(row.last_error.as_deref(), Some("the login code is wrong"));

    let done = submit_code(&t.ctx, &l, &ADMIN, "a", &code(" 12345 "))
        .await
        .unwrap();
    assert!(!done.password_needed);
    assert_eq!(state(&t, "a").await.state, AccountState::Active);
    assert!(t.fake.is_authorized("a"));
}
crate::store::testing::per_backend!(wrong_code_then_right_one);

async fn expired_code_ends_the_login(store: crate::store::Store) {
    let script = LoginScript {
        code_error: Some(TelegramError::CodeExpired),
        ..LoginScript::default()
    };
    let (t, l) = setup(store, "a", script).await;
    start_login(&t.ctx, &l, &ADMIN, "a").await.unwrap();
    let err = submit_code(&t.ctx, &l, &ADMIN, "a", &code("12345"))
        .await
        .unwrap_err();
    let ApiError::FailedPrecondition(msg) = &err else {
        panic!("{err:?}")
    };
    assert!(msg.contains("account login a` again"), "{msg}");
    let row = state(&t, "a").await;
    assert_eq!(
        row.state,
        AccountState::New,
        "back to where it was before the login"
    );
    assert!(row.last_error.unwrap().contains("expired"));
    // Submitting again without a new login is refused before Telegram.
    let err = submit_code(&t.ctx, &l, &ADMIN, "a", &code("12345"))
        .await
        .unwrap_err();
    assert!(matches!(err, ApiError::FailedPrecondition(_)));
    // A fresh login works.
    start_login(&t.ctx, &l, &ADMIN, "a").await.unwrap();
    submit_code(&t.ctx, &l, &ADMIN, "a", &code("12345"))
        .await
        .unwrap();
    assert_eq!(state(&t, "a").await.state, AccountState::Active);
}
crate::store::testing::per_backend!(expired_code_ends_the_login);

async fn sign_up_required_and_bad_phone_are_preconditions(store: crate::store::Store) {
    let script = LoginScript {
        code_error: Some(TelegramError::SignUpRequired),
        request_error: Some(TelegramError::PhoneInvalid {
            code: "PHONE_NUMBER_INVALID".into(),
        }),
        ..LoginScript::default()
    };
    let (t, l) = setup(store, "a", script).await;
    let err = start_login(&t.ctx, &l, &ADMIN, "a").await.unwrap_err();
    assert!(
        matches!(&err, ApiError::FailedPrecondition(m) if m.contains("PHONE_NUMBER_INVALID")),
        "{err:?}"
    );
    assert_eq!(state(&t, "a").await.state, AccountState::New);
    start_login(&t.ctx, &l, &ADMIN, "a").await.unwrap();
    let err = submit_code(&t.ctx, &l, &ADMIN, "a", &code("12345"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ApiError::FailedPrecondition(m) if m.contains("sign up")),
        "{err:?}"
    );
    assert_eq!(state(&t, "a").await.state, AccountState::New);
}
crate::store::testing::per_backend!(sign_up_required_and_bad_phone_are_preconditions);

#[tokio::test]
async fn telegram_errors_map_to_codes() {
    let code_of = |e: TelegramError| telegram_error("a", &e).code_name();
    assert_eq!(
        code_of(TelegramError::FloodWait { seconds: 30 }),
        "RESOURCE_EXHAUSTED"
    );
    assert!(
        telegram_error("a", &TelegramError::FloodWait { seconds: 30 })
            .to_string()
            .contains("30s")
    );
    assert_eq!(code_of(TelegramError::Transient("x".into())), "UNAVAILABLE");
    assert_eq!(
        code_of(TelegramError::NoLoginInProgress),
        "FAILED_PRECONDITION"
    );
    assert_eq!(code_of(TelegramError::PasswordInvalid), "INVALID_ARGUMENT");
}

async fn five_wrong_codes_lock_the_account_for_fifteen_minutes(store: crate::store::Store) {
    let (t, l) = setup(store, "a", LoginScript::default()).await;
    start_login(&t.ctx, &l, &ADMIN, "a").await.unwrap();
    for _ in 0..4 {
        let err = submit_code(&t.ctx, &l, &ADMIN, "a", &code("00000"))
            .await
            .unwrap_err();
        assert_eq!(err.code_name(), "INVALID_ARGUMENT");
    }
    let err = submit_code(&t.ctx, &l, &ADMIN, "a", &code("00000"))
        .await
        .unwrap_err();
    assert_eq!(err.code_name(), "RESOURCE_EXHAUSTED");
    assert!(
        err.to_string()
            .contains("too many failed login attempts for a; try again after")
    );
    // Even the right code and a new login are refused now, before Telegram.
    let err = submit_code(&t.ctx, &l, &ADMIN, "a", &code("12345"))
        .await
        .unwrap_err();
    assert_eq!(err.code_name(), "RESOURCE_EXHAUSTED");
    let err = start_login(&t.ctx, &l, &ADMIN, "a").await.unwrap_err();
    assert_eq!(err.code_name(), "RESOURCE_EXHAUSTED");
    assert!(!t.fake.is_authorized("a"));

    t.clock.advance(chrono::Duration::minutes(16));
    submit_code(&t.ctx, &l, &ADMIN, "a", &code("12345"))
        .await
        .unwrap();
    assert_eq!(state(&t, "a").await.state, AccountState::Active);
}
crate::store::testing::per_backend!(five_wrong_codes_lock_the_account_for_fifteen_minutes);

async fn logged_in_account(store: crate::store::Store, name: &str) -> (TestContext, LoginLimiter) {
    let (t, l) = setup(store, name, LoginScript::default()).await;
    start_login(&t.ctx, &l, &ADMIN, name).await.unwrap();
    submit_code(&t.ctx, &l, &ADMIN, name, &code("12345"))
        .await
        .unwrap();
    (t, l)
}

async fn logout_drops_the_session_and_resume_needs_a_login(store: crate::store::Store) {
    let (mut t, _l) = logged_in_account(store, "a").await;
    let id = state(&t, "a").await.id;
    crate::telegram::SessionStore::save_session(&t.ctx.store, id, b"key")
        .await
        .unwrap();
    t.drain_changes();

    let out = account_manage::logout(&t.ctx, "a").await.unwrap();
    assert_eq!(out.warning, "");
    assert_eq!(out.account.unwrap().state, "logged_out");
    assert!(!t.fake.is_authorized("a"));
    let session = crate::telegram::SessionStore::load_session(&t.ctx.store, id)
        .await
        .unwrap();
    assert_eq!(session, None);
    assert_eq!(t.drain_changes(), [Change::Account(id)]);

    let err = account_manage::resume(&t.ctx, "a").await.unwrap_err();
    assert!(err.to_string().contains("log it in first"), "{err}");
    let err = account_manage::chats(&t.ctx, "a", "").await.unwrap_err();
    assert_eq!(err.code_name(), "FAILED_PRECONDITION");
}
crate::store::testing::per_backend!(logout_drops_the_session_and_resume_needs_a_login);

async fn resume_lifts_limited_and_clears_the_wait(store: crate::store::Store) {
    let (mut t, _l) = logged_in_account(store, "a").await;
    let id = state(&t, "a").await.id;
    crate::store::on_pool!(t.ctx.store, p => sqlx::query(
        "UPDATE accounts SET state = 'limited', last_error = 'PEER_FLOOD', flood_wait_until = 9999999999999 WHERE id = $1"
    ).bind(id).execute(p).await.map(|_| ())).unwrap();
    t.drain_changes();
    let a = account_manage::resume(&t.ctx, "a").await.unwrap();
    assert_eq!((a.state.as_str(), a.last_error.as_str()), ("active", ""));
    assert_eq!(a.flood_wait_until, None);
    assert_eq!(t.drain_changes(), [Change::Account(id)]);
}
crate::store::testing::per_backend!(resume_lifts_limited_and_clears_the_wait);

async fn chats_list_dialogs_with_search(store: crate::store::Store) {
    let (t, _l) = logged_in_account(store, "a").await;
    for (id, title, user) in [(-1001, "Ops room", None), (55, "Ayşe", Some("ayse"))] {
        t.fake.add_dialog(
            "a",
            Dialog {
                peer: ResolvedPeer {
                    peer_id: id,
                    kind: if id < 0 {
                        PeerKind::Channel
                    } else {
                        PeerKind::User
                    },
                    access_hash: Some(1),
                    title: title.into(),
                },
                username: user.map(str::to_owned),
            },
        );
    }
    let all = account_manage::chats(&t.ctx, "a", "").await.unwrap().chats;
    assert_eq!(all.len(), 2);
    let found = account_manage::chats(&t.ctx, "a", "ops")
        .await
        .unwrap()
        .chats;
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].id, found[0].kind.as_str()), (-1001, "channel"));
}
crate::store::testing::per_backend!(chats_list_dialogs_with_search);

async fn remove_logs_out_and_deletes(store: crate::store::Store) {
    let (mut t, _l) = logged_in_account(store, "a").await;
    let id = state(&t, "a").await.id;
    t.drain_changes();
    let out = account_manage::remove(&t.ctx, "a", false).await.unwrap();
    assert_eq!((out.templates_deleted, out.deliveries_cancelled), (0, 0));
    assert!(!t.fake.is_authorized("a"));
    assert!(t.ctx.store.account_list().await.unwrap().is_empty());
    assert_eq!(t.drain_changes(), [Change::Account(id)]);
    let err = account_manage::remove(&t.ctx, "a", false)
        .await
        .unwrap_err();
    assert_eq!(err.code_name(), "NOT_FOUND");
}
crate::store::testing::per_backend!(remove_logs_out_and_deletes);

async fn remove_names_the_templates_that_block_it_and_force_deletes_them(
    store: crate::store::Store,
) {
    let (mut t, _l) = logged_in_account(store, "a").await;
    let id = state(&t, "a").await.id;
    crate::store::on_pool!(t.ctx.store, p => sqlx::query(
        "INSERT INTO templates (account_id, name, text, schedule_kind, schedule_expr, timezone,
             anchor_at, created_at, updated_at)
         VALUES ($1, 'morning', 'hi', 'cron', '0 9 * * *', 'UTC', 0, 0, 0)"
    ).bind(id).execute(p).await.map(|_| ()))
    .unwrap();
    t.drain_changes();
    let err = account_manage::remove(&t.ctx, "a", false)
        .await
        .unwrap_err();
    assert_eq!(err.code_name(), "FAILED_PRECONDITION");
    assert!(err.to_string().contains("used by 1 template(s)"), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    // Refused before Telegram: still logged in, nothing changed.
    assert!(t.fake.is_authorized("a"));
    assert!(t.drain_changes().is_empty());

    let out = account_manage::remove(&t.ctx, "a", true).await.unwrap();
    assert_eq!(out.templates_deleted, 1);
    assert!(t.ctx.store.account_list().await.unwrap().is_empty());
    assert_eq!(t.drain_changes(), [Change::Account(id)]);
}
crate::store::testing::per_backend!(
    remove_names_the_templates_that_block_it_and_force_deletes_them
);
