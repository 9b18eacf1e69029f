//! [`Failure`]: how a command ends badly — one clear line on stderr (with a
//! hint where one helps) and the contract's exit code.

use std::process::ExitCode;

use microbot_proto::client::ClientError;
use tonic::Code;

pub const EXIT_FAILED: u8 = 1;
pub const EXIT_UNREACHABLE: u8 = 69;

/// A command failed.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
    pub code: u8,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: None,
            code: EXIT_FAILED,
        }
    }

    /// Prints the line (and hint) and returns the exit code.
    pub fn report(self) -> ExitCode {
        eprintln!("microbotctl: {}", self.message);
        if let Some(h) = self.hint {
            eprintln!("hint: {h}");
        }
        ExitCode::from(self.code)
    }
}

/// tonic's refusal of an oversized request message: (found, limit).
fn too_large(status: &tonic::Status) -> Option<(u64, u64)> {
    if status.code() != Code::OutOfRange {
        return None;
    }
    let rest = status
        .message()
        .strip_prefix("Error, decoded message length too large: found ")?;
    let (found, rest) = rest.split_once(" bytes, the limit is: ")?;
    let limit = rest.strip_suffix(" bytes")?;
    Some((found.parse().ok()?, limit.parse().ok()?))
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Unreachable { socket, reason } => Failure {
                message: format!("cannot reach microbotd at {}: {reason}", socket.display()),
                hint: Some(if socket.to_string_lossy().starts_with("https://") {
                    "is tcp_listen set on that daemon, and are --ca, --cert and --key the right files (signed by its client_ca, not expired)?".into()
                } else if reason.to_lowercase().contains("permission") {
                    "ask an admin to add you to the microbot group (then log in again)".into()
                } else {
                    "is microbotd running? (systemctl status microbotd; or pass --socket / set MICROBOT_SOCKET)".into()
                }),
                code: EXIT_UNREACHABLE,
            },
            ClientError::ProtocolMismatch(msg) => Failure::new(msg),
            ClientError::Status(status) if too_large(&status).is_some() => {
                let (found, limit) = too_large(&status).unwrap_or_default();
                Failure {
                    message: format!(
                        "request too large: {found} bytes, microbotd accepts at most {limit}"
                    ),
                    hint: Some("split the file, or give fewer chats per template".into()),
                    code: EXIT_FAILED,
                }
            }
            ClientError::Status(status) => {
                let hint = match status.code() {
                    Code::PermissionDenied => {
                        Some("see `microbotctl audit` and the groups in microbotd.toml".into())
                    }
                    Code::Unavailable => Some("check `microbotctl health`".into()),
                    _ => None,
                };
                let prefix = match status.code() {
                    Code::InvalidArgument => "invalid argument: ",
                    Code::NotFound => "",
                    Code::PermissionDenied => "permission denied: ",
                    Code::Unavailable => "unavailable: ",
                    Code::FailedPrecondition => "",
                    Code::AlreadyExists => "",
                    _ => "",
                };
                Failure {
                    message: format!("{prefix}{}", status.message()),
                    hint,
                    code: EXIT_FAILED,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_requests_read_plainly() {
        let s = tonic::Status::out_of_range(
            "Error, decoded message length too large: found 20000000 bytes, the limit is: \
             17825792 bytes",
        );
        let f = Failure::from(ClientError::Status(s));
        assert_eq!(
            f.message,
            "request too large: 20000000 bytes, microbotd accepts at most 17825792"
        );
    }
}
