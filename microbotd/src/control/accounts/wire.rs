//! An account as the wire shows it, for every accounts call that answers
//! with one (a leaf: the service and its login and manage halves use it).

use microbot_proto::convert::timestamp_ms;
use microbot_proto::v1;

use crate::store::accounts::{AccountRow, mask_phone};
use crate::store::states::AccountState;

/// The wire form of an account; the state shows a live flood wait.
pub fn account_to_proto(a: &AccountRow, now_ms: i64) -> v1::Account {
    let flood = a.flood_wait_until.filter(|until| *until > now_ms);
    // `flood_wait` is shown, never stored: an active account waiting.
    let state = if flood.is_some() && a.state == AccountState::Active {
        "flood_wait".to_string()
    } else {
        a.state.as_str().to_owned()
    };
    v1::Account {
        id: a.id,
        name: a.name.clone(),
        phone_masked: mask_phone(&a.phone),
        state,
        telegram_user: a.tg_display.clone().unwrap_or_default(),
        flood_wait_until: flood.map(timestamp_ms),
        last_error: a.last_error.clone().unwrap_or_default(),
        scheduler_enabled: a.scheduler_enabled,
        created_at: Some(timestamp_ms(a.created_at)),
        account_state: v1::AccountState::from(a.state).into(),
    }
}
