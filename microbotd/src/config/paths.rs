//! Default locations, which depend on who runs the daemon: a system service
//! (root, or a systemd unit with `RuntimeDirectory=`/`StateDirectory=`) or an
//! ordinary user (XDG directories).

use std::path::PathBuf;

/// Where the defaults come from.
#[derive(Debug, Clone)]
pub struct Environment {
    pub is_root: bool,
    pub uid: u32,
    pub home: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
    pub xdg_state_home: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    /// systemd's `$RUNTIME_DIRECTORY` / `$STATE_DIRECTORY` (first entry).
    pub systemd_runtime_dir: Option<PathBuf>,
    pub systemd_state_dir: Option<PathBuf>,
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(|v| {
            // systemd joins several directories with ':'; ours is the first.
            let s = v.to_string_lossy().into_owned();
            PathBuf::from(s.split(':').next().unwrap_or_default())
        })
        .filter(|p| p.is_absolute())
}

impl Environment {
    /// Reads the process environment once.
    pub fn current() -> Self {
        let uid = nix::unistd::geteuid();
        Environment {
            is_root: uid.is_root(),
            uid: uid.as_raw(),
            home: env_path("HOME"),
            xdg_runtime_dir: env_path("XDG_RUNTIME_DIR"),
            xdg_state_home: env_path("XDG_STATE_HOME"),
            xdg_config_home: env_path("XDG_CONFIG_HOME"),
            systemd_runtime_dir: env_path("RUNTIME_DIRECTORY"),
            systemd_state_dir: env_path("STATE_DIRECTORY"),
        }
    }

    /// An ordinary (non-root) user whose home, runtime and config dirs are
    /// all inside `dir`: tests get defaults that touch nothing real.
    #[cfg(test)]
    pub fn user_in(dir: &std::path::Path) -> Self {
        Environment {
            is_root: false,
            uid: 1000,
            home: Some(dir.to_path_buf()),
            xdg_runtime_dir: Some(dir.join("run")),
            xdg_state_home: None,
            xdg_config_home: Some(dir.join("cfg")),
            systemd_runtime_dir: None,
            systemd_state_dir: None,
        }
    }

    /// True when running as a system service rather than a user's process.
    pub fn is_system(&self) -> bool {
        self.is_root || self.systemd_state_dir.is_some()
    }

    pub fn default_socket(&self) -> PathBuf {
        if let Some(dir) = &self.systemd_runtime_dir {
            return dir.join("control.sock");
        }
        if self.is_root {
            return PathBuf::from("/run/microbot/control.sock");
        }
        match &self.xdg_runtime_dir {
            Some(dir) => dir.join("microbot/control.sock"),
            None => PathBuf::from(format!("/tmp/microbot-{}/control.sock", self.uid)),
        }
    }

    pub fn default_state_dir(&self) -> PathBuf {
        if let Some(dir) = &self.systemd_state_dir {
            return dir.clone();
        }
        if self.is_root {
            return PathBuf::from("/var/lib/microbot");
        }
        match (&self.xdg_state_home, &self.home) {
            (Some(dir), _) => dir.join("microbot"),
            (None, Some(home)) => home.join(".local/state/microbot"),
            (None, None) => PathBuf::from(format!("/tmp/microbot-{}/state", self.uid)),
        }
    }

    pub fn default_backup_dir(&self, state_dir: &std::path::Path) -> PathBuf {
        if self.is_system() {
            PathBuf::from("/var/backups/microbot")
        } else {
            state_dir.join("backups")
        }
    }

    pub fn default_config_file(&self) -> PathBuf {
        if self.is_system() {
            return PathBuf::from("/etc/microbot/microbotd.toml");
        }
        match (&self.xdg_config_home, &self.home) {
            (Some(dir), _) => dir.join("microbot/microbotd.toml"),
            (None, Some(home)) => home.join(".config/microbot/microbotd.toml"),
            (None, None) => PathBuf::from("/etc/microbot/microbotd.toml"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Environment {
        Environment {
            is_root: false,
            uid: 1000,
            home: Some("/home/ops".into()),
            xdg_runtime_dir: Some("/run/user/1000".into()),
            xdg_state_home: None,
            xdg_config_home: None,
            systemd_runtime_dir: None,
            systemd_state_dir: None,
        }
    }

    #[test]
    fn user_defaults_follow_xdg() {
        let env = user();
        assert_eq!(
            env.default_socket(),
            PathBuf::from("/run/user/1000/microbot/control.sock")
        );
        assert_eq!(
            env.default_state_dir(),
            PathBuf::from("/home/ops/.local/state/microbot")
        );
        assert_eq!(
            env.default_config_file(),
            PathBuf::from("/home/ops/.config/microbot/microbotd.toml")
        );
    }

    #[test]
    fn systemd_directories_win() {
        let env = Environment {
            systemd_runtime_dir: Some("/run/microbot".into()),
            systemd_state_dir: Some("/var/lib/microbot".into()),
            ..user()
        };
        assert_eq!(
            env.default_socket(),
            PathBuf::from("/run/microbot/control.sock")
        );
        assert_eq!(env.default_state_dir(), PathBuf::from("/var/lib/microbot"));
        assert_eq!(
            env.default_backup_dir(&env.default_state_dir()),
            PathBuf::from("/var/backups/microbot")
        );
    }
}
