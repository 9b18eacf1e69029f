//! An account as the wire shows it, for every accounts call that answers
//! with one (a leaf: the service and its login and manage halves use it).

use microbot_proto::convert::timestamp_ms;
use microbot_proto::v1;

use crate::store::accounts::{AccountRow, mask_phone};
use crate::store::states::AccountState;

/// What an account whose session is sealed under a key this daemon lacks
/// needs, in one line.
pub fn sealed_hint(key_id: &str) -> String {
    format!(
        "session sealed under key {key_id}, which this daemon does not have: give it that key \
         (systemd credential session_key or telegram.session_key_file) and restart"
    )
}

/// The wire form of an account; the state shows a live flood wait.
pub fn account_to_proto(a: &AccountRow, now_ms: i64) -> v1::Account {
    let flood = a.flood_wait_until.filter(|until| *until > now_ms);
    // `flood_wait` is shown, never stored: an active account waiting.
    // `sealed` is shown, never stored either: the session is under a key
    // this daemon lacks, so it neither sends nor overwrites it.
    let state = if a.sealed_key_id.is_some() {
        crate::store::states::SHOWN_SEALED.to_string()
    } else if flood.is_some() && a.state == AccountState::Active {
        crate::store::states::SHOWN_FLOOD_WAIT.to_string()
    } else {
        a.state.as_str().to_owned()
    };
    let last_error = match &a.sealed_key_id {
        Some(id) => sealed_hint(id),
        None => a.last_error.clone().unwrap_or_default(),
    };
    v1::Account {
        id: a.id,
        name: a.name.clone(),
        phone_masked: mask_phone(&a.phone),
        state,
        telegram_user: a.tg_display.clone().unwrap_or_default(),
        flood_wait_until: flood.map(timestamp_ms),
        last_error,
        scheduler_enabled: a.scheduler_enabled,
        created_at: Some(timestamp_ms(a.created_at)),
        account_state: v1::AccountState::from(a.state).into(),
    }
}
