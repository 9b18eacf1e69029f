//! The microbot control protocol: generated gRPC code for `microbot.v1`,
//! conversions between wire and domain types, and [`client::Client`], the
//! typed client that `microbotctl` and the tests share.
//!
//! The protocol has a version ([`PROTOCOL_VERSION`]) sent by the client in
//! the [`PROTOCOL_HEADER`] metadata key on every call; a daemon speaking
//! another version refuses with `FAILED_PRECONDITION` and says so plainly.

pub mod client;
pub mod convert;

/// Generated messages and services of package `microbot.v1`.
pub mod v1 {
    tonic::include_proto!("microbot.v1");
}

/// Encoded `FileDescriptorSet` of every microbot proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("microbot_descriptor");

/// Bumped whenever a change to the protos would make an older CLI misread a
/// newer daemon (or the other way round).
pub const PROTOCOL_VERSION: u32 = 1;

/// Metadata key carrying the client's [`PROTOCOL_VERSION`].
pub const PROTOCOL_HEADER: &str = "x-microbot-protocol";

/// Metadata key in which the daemon reports its own protocol on refusals.
pub const DAEMON_PROTOCOL_HEADER: &str = "x-microbotd-protocol";
/// Set on every error status the daemon itself answers with, so a client
/// never reads the daemon's "unavailable" (Telegram cannot be reached) as
/// "the daemon cannot be reached".
pub const DAEMON_STATUS_HEADER: &str = "x-microbotd-status";

/// The furthest back any `--since` may reach (3650 days), checked the same
/// way by every command and by the daemon, so no command accepts what
/// another refuses.
pub const MAX_SINCE_SECONDS: i64 = 3650 * 86_400;

/// The one sentence for a `--since` beyond [`MAX_SINCE_SECONDS`].
pub const SINCE_TOO_FAR: &str = "must be at most 3650d (ten years)";
