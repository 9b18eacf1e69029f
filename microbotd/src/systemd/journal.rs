//! Is stderr the journal? systemd sets `JOURNAL_STREAM=<dev>:<ino>` for a
//! service whose stderr is connected to journald; it only counts when that
//! matches stderr itself (a child whose stderr was redirected inherits the
//! variable but not the stream).

use std::os::fd::AsFd;

/// True when fd 2 is the stream `JOURNAL_STREAM` names.
pub fn stderr_is_journal() -> bool {
    let Ok(value) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    match nix::sys::stat::fstat(std::io::stderr().as_fd()) {
        Ok(st) => matches_stream(&value, st.st_dev, st.st_ino),
        Err(_) => false,
    }
}

/// True when `JOURNAL_STREAM` was set at all (systemd started us, perhaps
/// with stderr redirected): then journald adds its own timestamps.
pub fn under_systemd_journal() -> bool {
    std::env::var_os("JOURNAL_STREAM").is_some()
}

/// Whether `value` (`"<dev>:<ino>"`, decimal) names the file `dev`/`ino`.
pub fn matches_stream(value: &str, dev: u64, ino: u64) -> bool {
    let Some((d, i)) = value.trim().split_once(':') else {
        return false;
    };
    matches!((d.parse::<u64>(), i.parse::<u64>()), (Ok(d), Ok(i)) if d == dev && i == ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_stream() {
        assert!(matches_stream("8:12345", 8, 12345));
        assert!(matches_stream("8:12345\n", 8, 12345));
        assert!(!matches_stream("8:12346", 8, 12345));
        assert!(!matches_stream("9:12345", 8, 12345));
        assert!(!matches_stream("", 8, 12345));
        assert!(!matches_stream("8", 8, 12345));
        assert!(!matches_stream("x:y", 8, 12345));
    }
}
