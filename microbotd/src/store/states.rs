//! The typed states stored as text: [`DeliveryState`], [`AccountState`],
//! [`ScheduleKind`] and [`Misfire`]. Their text forms live here and nowhere
//! else: the database, the wire and the CLI all spell them through
//! [`as_str`](AccountState::as_str) and `FromStr`, so every output stays the
//! same string it always was. SQL that must carry a state in its text (a
//! literal is what lets a partial index such as `deliveries_open` serve the
//! query; a bound parameter would not) takes it from
//! [`sql`](DeliveryState::sql) or [`sql_list`](DeliveryState::sql_list).

use std::fmt;
use std::str::FromStr;

/// Shown for an account, never stored: its session is sealed under a key
/// this daemon lacks (it neither sends nor overwrites the session).
pub const SHOWN_SEALED: &str = "sealed";
/// Shown for an `active` account inside a FLOOD_WAIT, never stored.
pub const SHOWN_FLOOD_WAIT: &str = "flood_wait";

/// Declares a text-backed enum with its one spelling per variant.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The stored (and shown) text.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The text as an SQL string literal (`'sent'`), for statements
            /// that must carry it in their text.
            pub const fn sql(self) -> &'static str {
                match self {
                    $($name::$variant => concat!("'", $text, "'")),+
                }
            }

            /// `('pending', 'sending')`: an SQL list for `IN`.
            pub fn sql_list(values: &[$name]) -> String {
                let items: Vec<&str> = values.iter().map(|v| v.sql()).collect();
                format!("({})", items.join(", "))
            }
        }

        /// Compares with the stored text, for code that still holds it as
        /// a string (the scheduler's files, until they are typed too).
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "{other:?} is not {} ({})",
                        $what,
                        $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
        }

        impl sqlx::Type<sqlx::Sqlite> for $name {
            fn type_info() -> sqlx::sqlite::SqliteTypeInfo {
                <str as sqlx::Type<sqlx::Sqlite>>::type_info()
            }
            fn compatible(ty: &sqlx::sqlite::SqliteTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Sqlite>>::compatible(ty)
            }
        }

        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'static str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'static str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }
    };
}

text_enum! {
    /// Where a delivery (one template, target and slot) stands. Open rows
    /// are `pending`; `sending` is only ever read: rows an older version
    /// left mid-send, re-sent like `pending` with their `random_id`.
    DeliveryState, "a delivery state" {
        Pending = "pending",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        /// Its slot passed while nothing could send it (misfire policy).
        Missed = "missed",
        /// Withdrawn before it was sent (edit, disable, removal, stop).
        Cancelled = "cancelled",
    }
}

impl DeliveryState {
    /// Rows a send worker still owes: it sends them, oldest slot first.
    pub const OPEN: &[DeliveryState] = &[DeliveryState::Pending, DeliveryState::Sending];

    /// Rows that will never change again unless an operator retries them
    /// (what retention may prune).
    pub const FINISHED: &[DeliveryState] = &[
        DeliveryState::Sent,
        DeliveryState::Failed,
        DeliveryState::Missed,
        DeliveryState::Cancelled,
    ];

    /// `pending` or `sending`.
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

text_enum! {
    /// Where an account's login stands (`flood_wait` is not a state: it is
    /// `flood_wait_until` on an otherwise active account).
    AccountState, "an account state" {
        New = "new",
        CodeSent = "code_sent",
        PasswordNeeded = "password_needed",
        Active = "active",
        LoggedOut = "logged_out",
        /// PEER_FLOOD: sending stops until an operator resumes it.
        Limited = "limited",
        Paused = "paused",
    }
}

text_enum! {
    /// A template's schedule: a cron expression or a fixed interval.
    ScheduleKind, "a schedule kind" {
        Cron = "cron",
        Every = "every",
        /// Once, at a local date and time (`--at`).
        At = "at",
    }
}

text_enum! {
    /// What happens to slots missed while the daemon was down.
    Misfire, "a misfire policy" {
        Skip = "skip",
        /// One catch-up send when the newest missed slot is within
        /// `scheduler.misfire_grace` (the default).
        Once = "once",
        All = "all",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in DeliveryState::ALL {
            assert_eq!(s.as_str().parse::<DeliveryState>(), Ok(*s));
            assert_eq!(s.sql(), format!("'{s}'"));
        }
        assert_eq!(
            DeliveryState::sql_list(DeliveryState::OPEN),
            "('pending', 'sending')"
        );
        let every: Vec<_> = DeliveryState::OPEN
            .iter()
            .chain(DeliveryState::FINISHED)
            .copied()
            .collect();
        assert_eq!(
            every,
            DeliveryState::ALL,
            "open and finished cover every state once"
        );
        for s in AccountState::ALL {
            assert_eq!(s.as_str().parse::<AccountState>(), Ok(*s));
        }
        for s in ScheduleKind::ALL {
            assert_eq!(s.to_string().parse::<ScheduleKind>(), Ok(*s));
        }
        for s in Misfire::ALL {
            assert_eq!(s.as_str().parse::<Misfire>(), Ok(*s));
        }
        assert_eq!(
            "bored".parse::<AccountState>().unwrap_err(),
            "\"bored\" is not an account state (new, code_sent, password_needed, active, \
             logged_out, limited, paused)"
        );
    }

    /// Stored as the same text on both backends, read back typed.
    async fn stored_as_text(store: crate::store::Store) {
        crate::store::on_pool!(store, p => {
            let back: (AccountState, Misfire, String, DeliveryState) =
                sqlx::query_as("SELECT $1, $2, $3, $4")
                    .bind(AccountState::PasswordNeeded)
                    .bind(Misfire::All)
                    .bind(ScheduleKind::Every.as_str())
                    .bind(DeliveryState::Cancelled)
                    .fetch_one(p)
                    .await
                    .unwrap();
            assert_eq!(
                back,
                (AccountState::PasswordNeeded, Misfire::All, "every".into(), DeliveryState::Cancelled)
            );
        });
    }
    crate::store::testing::per_backend!(stored_as_text);
}
