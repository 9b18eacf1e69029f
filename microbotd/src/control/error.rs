//! [`ApiError`]: every failure a control call can return, and the one
//! mapping from it to a gRPC [`Status`].

use tonic::Status;

use crate::store::StoreError;

/// SQLSTATE 22021, e.g. a NUL byte in a text parameter.
const PG_CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";

/// A control call failed. Converted to a `Status` exactly once, here.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A field of the request is wrong; nothing was written.
    #[error("{field}: {reason}")]
    InvalidArgument { field: String, reason: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is fine but the system is not in a state to do it.
    #[error("{0}")]
    FailedPrecondition(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// A dependency (database, Telegram) is unreachable; try again later.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    ResourceExhausted(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ApiError::InvalidArgument {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The gRPC code name, as written to the audit table.
    pub fn code_name(&self) -> &'static str {
        match self {
            ApiError::InvalidArgument { .. } => "INVALID_ARGUMENT",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::AlreadyExists(_) => "ALREADY_EXISTS",
            ApiError::FailedPrecondition(_) => "FAILED_PRECONDITION",
            ApiError::PermissionDenied(_) => "PERMISSION_DENIED",
            ApiError::Unavailable(_) => "UNAVAILABLE",
            ApiError::ResourceExhausted(_) => "RESOURCE_EXHAUSTED",
            ApiError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::Conflict(what) => ApiError::AlreadyExists(what),
            // PostgreSQL refuses NUL in text (SQLite stores it): what the
            // validators do not catch is still the caller's mistake.
            StoreError::Query(sqlx::Error::Database(d))
                if d.code().as_deref() == Some(PG_CHARACTER_NOT_IN_REPERTOIRE) =>
            {
                ApiError::invalid("request", "text must not contain NUL bytes")
            }
            StoreError::Query(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_))
            | StoreError::Open { .. } => {
                ApiError::Unavailable(format!("database unavailable: {e}"))
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Self {
        let msg = e.to_string();
        let mut status = match e {
            ApiError::InvalidArgument { .. } => Status::invalid_argument(msg),
            ApiError::NotFound(_) => Status::not_found(msg),
            ApiError::AlreadyExists(_) => Status::already_exists(msg),
            ApiError::FailedPrecondition(_) => Status::failed_precondition(msg),
            ApiError::PermissionDenied(_) => Status::permission_denied(msg),
            ApiError::Unavailable(_) => Status::unavailable(msg),
            ApiError::ResourceExhausted(_) => Status::resource_exhausted(msg),
            ApiError::Internal(_) => {
                tracing::error!(error = %msg, "control call failed");
                Status::internal(msg)
            }
        };
        status.metadata_mut().insert(
            microbot_proto::DAEMON_STATUS_HEADER,
            tonic::metadata::MetadataValue::from_static("1"),
        );
        status
    }
}

impl From<Status> for ApiError {
    fn from(s: Status) -> Self {
        let msg = s.message().to_string();
        match s.code() {
            tonic::Code::InvalidArgument => ApiError::invalid("request", msg),
            tonic::Code::NotFound => ApiError::NotFound(msg),
            tonic::Code::AlreadyExists => ApiError::AlreadyExists(msg),
            tonic::Code::FailedPrecondition => ApiError::FailedPrecondition(msg),
            tonic::Code::PermissionDenied => ApiError::PermissionDenied(msg),
            tonic::Code::Unavailable => ApiError::Unavailable(msg),
            tonic::Code::ResourceExhausted => ApiError::ResourceExhausted(msg),
            _ => ApiError::Internal(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_once() {
        let s: Status = ApiError::invalid("cron", "minute field \"61\": out of range").into();
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert!(s.message().starts_with("cron: "));
        let s: Status = ApiError::from(StoreError::NotFound("template 7".into())).into();
        assert_eq!(s.code(), tonic::Code::NotFound);
        let s: Status = ApiError::FailedPrecondition("stop schedulers first".into()).into();
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
    }

    /// A NUL byte that reaches the database is the caller's mistake on
    /// both backends, never an internal error.
    #[test]
    fn every_status_is_marked_as_the_daemons() {
        let s = Status::from(ApiError::Unavailable("Telegram: connection refused".into()));
        assert!(
            s.metadata()
                .get(microbot_proto::DAEMON_STATUS_HEADER)
                .is_some()
        );
    }

    async fn nul_in_text_is_invalid_argument(store: crate::store::Store) {
        let e = ApiError::from(store.account_by_name("a\0b").await.unwrap_err());
        let code = Status::from(e).code();
        assert!(
            matches!(code, tonic::Code::InvalidArgument | tonic::Code::NotFound),
            "{code:?}"
        );
    }
    crate::store::testing::per_backend!(nul_in_text_is_invalid_argument);
}
