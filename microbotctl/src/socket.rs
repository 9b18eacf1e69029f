//! Which socket to talk to when `--socket`/`MICROBOT_SOCKET` is not given:
//! the user's own daemon if one runs, else the system service's. The
//! user's paths mirror the daemon's defaults (`$XDG_RUNTIME_DIR/microbot/`,
//! or `/tmp/microbot-UID/` where there is no runtime dir).

use std::path::PathBuf;

const SYSTEM_SOCKET: &str = "/run/microbot/control.sock";

/// The default control socket for the current user.
pub fn default_socket() -> PathBuf {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        return PathBuf::from(SYSTEM_SOCKET);
    }
    let user = match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("microbot/control.sock"),
        None => PathBuf::from(format!("/tmp/microbot-{}/control.sock", uid.as_raw())),
    };
    if user.exists() {
        user
    } else {
        PathBuf::from(SYSTEM_SOCKET)
    }
}
