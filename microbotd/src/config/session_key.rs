//! `[telegram] session_key_file` and the systemd credential `session_key`:
//! where the key sealing Telegram sessions at rest comes from
//! (`crate::seal`). The credential wins, as the packaged unit loads it.

use std::path::Path;

use super::ConfigError;
use crate::seal::SessionKey;

/// The session key and where it came from: the systemd credential
/// `session_key` wins (as the packaged unit loads it), else the file.
pub(super) fn resolve(
    file: Option<&Path>,
    credentials_dir: Option<&Path>,
) -> Result<(Option<SessionKey>, Option<String>), ConfigError> {
    if let Some(cred) = credentials_dir.map(|d| d.join(crate::seal::key::CREDENTIAL))
        && cred.exists()
    {
        let raw = std::fs::read(&cred).map_err(|e| {
            ConfigError::invalid("credential session_key", format!("{}: {e}", cred.display()))
        })?;
        if !SessionKey::is_unset(&raw) {
            let key = SessionKey::from_file(&cred, false)
                .map_err(|why| ConfigError::invalid("credential session_key", why))?;
            return Ok((Some(key), Some("systemd credential session_key".into())));
        }
    }
    match file {
        Some(path) if !path.as_os_str().is_empty() => {
            let key = SessionKey::from_file(path, true)
                .map_err(|why| ConfigError::invalid("telegram.session_key_file", why))?;
            Ok((Some(key), Some(path.display().to_string())))
        }
        _ => Ok((None, None)),
    }
}
