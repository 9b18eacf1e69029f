//! Store tests of account transitions and removal, on both backends.

use super::*;
use crate::store::states::AccountState;
use crate::telegram::SessionStore;

/// Inserts a template with one target and one delivery per given state,
/// the way the template and dispatcher code would. Returns the template id.
async fn template_with_deliveries(
    store: &Store,
    account_id: i64,
    name: &str,
    states: &[&str],
) -> i64 {
    on_pool!(store, p => {
        let target: i64 = sqlx::query_scalar(
            "INSERT INTO targets (account_id, spec, peer_id, peer_kind) VALUES ($1, $2, 42, 'user')
             ON CONFLICT (account_id, spec) DO UPDATE SET peer_id = 42 RETURNING id"
        ).bind(account_id).bind("@ops").fetch_one(p).await.unwrap();
        let template: i64 = sqlx::query_scalar(
            "INSERT INTO templates (account_id, name, text, schedule_kind, schedule_expr, timezone,
                 anchor_at, created_at, updated_at)
             VALUES ($1, $2, 'hi', 'cron', '0 9 * * *', 'UTC', 0, 0, 0) RETURNING id"
        ).bind(account_id).bind(name).fetch_one(p).await.unwrap();
        sqlx::query("INSERT INTO template_targets (template_id, target_id, position) VALUES ($1, $2, 0)")
            .bind(template).bind(target).execute(p).await.unwrap();
        for (slot, state) in states.iter().enumerate() {
            sqlx::query(
                "INSERT INTO deliveries (account_id, template_id, target_id, slot, state, random_id,
                     created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $4, 0, 0)"
            ).bind(account_id).bind(template).bind(target).bind(slot as i64).bind(*state)
            .execute(p).await.unwrap();
        }
        template
    })
}

async fn delivery_states(store: &Store, account_id: i64) -> Vec<String> {
    on_pool!(store, p => sqlx::query_scalar::<_, String>(
        "SELECT state FROM deliveries WHERE account_id = $1 ORDER BY id"
    ).bind(account_id).fetch_all(p).await.unwrap())
}

async fn login_logout_resume_transitions(store: crate::store::Store) {
    let a = store.account_create("a", "+905321234567", 1).await.unwrap();
    store
        .account_set_login_state(a.id, AccountState::CodeSent, None, 2)
        .await
        .unwrap();
    store
        .account_set_last_error(a.id, "the login code is wrong", 3)
        .await
        .unwrap();
    let row = store.account_by_id(a.id).await.unwrap();
    assert_eq!(row.state, AccountState::CodeSent);
    assert_eq!(row.last_error.as_deref(), Some("the login code is wrong"));

    store
        .account_logged_in(a.id, 777, "@sales", 4)
        .await
        .unwrap();
    let row = store.account_by_id(a.id).await.unwrap();
    assert_eq!(
        (
            row.state.as_str(),
            row.tg_user_id,
            row.tg_display.as_deref()
        ),
        ("active", Some(777), Some("@sales"))
    );
    assert_eq!(row.last_error, None);
    assert_eq!(row.updated_at, 4);

    // The dispatcher's doing: limited after PEER_FLOOD, with a flood wait.
    on_pool!(store, p => sqlx::query(
    "UPDATE accounts SET state = 'limited', last_error = 'PEER_FLOOD', flood_wait_until = 99 WHERE id = $1"
).bind(a.id).execute(p).await.map(|_| ())).unwrap();
    store.account_resume(a.id, 5).await.unwrap();
    let row = store.account_by_id(a.id).await.unwrap();
    assert_eq!(row.state, AccountState::Active);
    assert_eq!((row.last_error, row.flood_wait_until), (None, None));

    store.save_session(a.id, b"auth-key").await.unwrap();
    store.account_logged_out(a.id, 6).await.unwrap();
    assert_eq!(
        store.account_by_id(a.id).await.unwrap().state,
        AccountState::LoggedOut
    );
    assert_eq!(store.load_session(a.id).await.unwrap(), None);
}
crate::store::testing::per_backend!(login_logout_resume_transitions);

async fn remove_refuses_while_templates_use_the_account(store: crate::store::Store) {
    let a = store.account_create("a", "+905321234567", 1).await.unwrap();
    template_with_deliveries(&store, a.id, "morning", &["pending", "sent"]).await;
    assert_eq!(store.account_template_count(a.id).await.unwrap(), 1);
    assert_eq!(
        store.account_remove(a.id, false, 2).await.unwrap(),
        RemoveOutcome::InUse { templates: 1 }
    );
    // Nothing changed.
    assert_eq!(store.account_by_id(a.id).await.unwrap().name, "a");
    assert_eq!(delivery_states(&store, a.id).await, ["pending", "sent"]);
}
crate::store::testing::per_backend!(remove_refuses_while_templates_use_the_account);

async fn forced_remove_cascades_and_cancels_open_deliveries(store: crate::store::Store) {
    let a = store.account_create("a", "+905321234567", 1).await.unwrap();
    let b = store.account_create("b", "+905321234568", 1).await.unwrap();
    template_with_deliveries(&store, a.id, "morning", &["pending", "sending", "sent"]).await;
    template_with_deliveries(&store, a.id, "evening", &["failed"]).await;
    let other = template_with_deliveries(&store, b.id, "morning", &["pending"]).await;

    let out = store.account_remove(a.id, true, 9).await.unwrap();
    assert_eq!(
        out,
        RemoveOutcome::Removed {
            templates_deleted: 2,
            deliveries_cancelled: 2
        }
    );
    assert!(matches!(
        store.account_by_id(a.id).await,
        Err(StoreError::NotFound(_))
    ));
    // The message log stays; open rows are cancelled, finished ones untouched.
    assert_eq!(
        delivery_states(&store, a.id).await,
        ["cancelled", "cancelled", "sent", "failed"]
    );
    let (templates, links, targets): (i64, i64, i64) = on_pool!(store, p => sqlx::query_as(
    "SELECT (SELECT COUNT(*) FROM templates), (SELECT COUNT(*) FROM template_targets),
            (SELECT COUNT(*) FROM targets)"
).fetch_one(p).await)
    .unwrap();
    assert_eq!((templates, links, targets), (1, 1, 1));
    // The other account is untouched.
    assert_eq!(store.account_template_count(b.id).await.unwrap(), 1);
    assert_eq!(delivery_states(&store, b.id).await, ["pending"]);
    assert!(other > 0);
    assert!(matches!(
        store.account_remove(a.id, true, 10).await,
        Err(StoreError::NotFound(_))
    ));
}
crate::store::testing::per_backend!(forced_remove_cascades_and_cancels_open_deliveries);

async fn remove_without_templates_needs_no_force(store: crate::store::Store) {
    let a = store.account_create("a", "+905321234567", 1).await.unwrap();
    assert_eq!(
        store.account_remove(a.id, false, 2).await.unwrap(),
        RemoveOutcome::Removed {
            templates_deleted: 0,
            deliveries_cancelled: 0
        }
    );
    assert!(store.account_list().await.unwrap().is_empty());
}
crate::store::testing::per_backend!(remove_without_templates_needs_no_force);

/// A restart is a new `Store` (a new pool) on the same database: the
/// session bytes come back unchanged.
async fn sessions_survive_reopening(url: &str) {
    let store = Store::open(url, 2).await.unwrap();
    store.migrate().await.unwrap();
    let a = store.account_create("a", "+905321234567", 1).await.unwrap();
    let session: Vec<u8> = (0..=255).collect();
    store.save_session(a.id, &session).await.unwrap();
    store.close().await;

    let reopened = Store::open(url, 2).await.unwrap();
    reopened.migrate().await.unwrap();
    assert_eq!(reopened.load_session(a.id).await.unwrap(), Some(session));
    reopened.close().await;
}

mod sessions_survive_reopening_the_database {
    #[tokio::test]
    async fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        super::sessions_survive_reopening(&url).await;
    }

    #[tokio::test]
    async fn postgres() {
        let Some(url) = microbot_tests::pg::fresh_database_url() else {
            return microbot_tests::pg::say_skipped("sessions_survive_reopening_the_database");
        };
        super::sessions_survive_reopening(&url).await;
    }
}
