//! Which socket to talk to when `--socket`/`MICROBOT_SOCKET` is not given:
//! the user's own daemon if one runs, else the system service's.

use std::path::PathBuf;

const SYSTEM_SOCKET: &str = "/run/microbot/control.sock";

/// The default control socket for the current user.
pub fn default_socket() -> PathBuf {
    if nix_is_root() {
        return PathBuf::from(SYSTEM_SOCKET);
    }
    let user = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(|d| PathBuf::from(d).join("microbot/control.sock"));
    match user {
        Some(p) if p.exists() => p,
        _ => PathBuf::from(SYSTEM_SOCKET),
    }
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc_geteuid() == 0 }
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
