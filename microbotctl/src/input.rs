//! Files the operator hands to a command, refused before they are read
//! when they are not regular files (a FIFO, `/dev/zero`, a directory) or
//! are larger than the command's cap; `-` reads stdin, never past the cap.
//! So no input can make the CLI read without end.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::failure::Failure;

/// `template apply -f`: a TOML file of templates.
pub const TEMPLATE_FILE_CAP: u64 = 16 << 20;
/// `--text-file`: a message is at most 4096 UTF-16 units (≤ 16 KiB of UTF-8).
pub const TEXT_FILE_CAP: u64 = 64 << 10;
/// `--photo|--video|--document`: Telegram takes files up to 2 GiB, the
/// daemon's `templates.max_media_bytes` is at most that.
pub const MEDIA_FILE_CAP: u64 = 2 << 30;
/// `backup verify|restore`: the daemon's `backup.max_unpacked_bytes` is at
/// most this, and an archive is never larger than what it unpacks to.
pub const BACKUP_FILE_CAP: u64 = 4 << 30;

fn human(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n.is_multiple_of(1 << 30) => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n.is_multiple_of(1 << 10) => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

fn too_large(path: &Path, cap: u64) -> Failure {
    Failure::new(format!(
        "{}: larger than {}, refused",
        path.display(),
        human(cap)
    ))
}

/// An input opened for reading: stdin or a checked regular file.
pub enum Input {
    Stdin(std::io::Stdin),
    File(File),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Input::Stdin(s) => s.read(buf),
            Input::File(f) => f.read(buf),
        }
    }
}

/// Opens `path` (`-` = stdin) after checking it is a regular file no
/// larger than `cap`. Callers read at most `cap + 1` bytes of it.
pub fn open(path: &Path, cap: u64) -> Result<Input, Failure> {
    if path == Path::new("-") {
        return Ok(Input::Stdin(std::io::stdin()));
    }
    let cannot = |e: std::io::Error| Failure::new(format!("cannot read {}: {e}", path.display()));
    // Open first and check the opened file, so a swap between the check
    // and the read changes nothing. Opening a FIFO for reading would
    // block until a writer comes, hence O_NONBLOCK (cleared below).
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(path)
            .map_err(cannot)?
    };
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(Failure::new(format!(
            "{}: not a regular file, refused",
            path.display()
        )));
    }
    if meta.len() > cap {
        return Err(too_large(path, cap));
    }
    let flags =
        nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_GETFL).map_err(|e| cannot(e.into()))?;
    let mut flags = nix::fcntl::OFlag::from_bits_truncate(flags);
    flags.remove(nix::fcntl::OFlag::O_NONBLOCK);
    nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(|e| cannot(e.into()))?;
    Ok(Input::File(file))
}

/// Reads all of `path` (`-` = stdin), refusing more than `cap`.
pub fn read_bytes(path: &Path, cap: u64) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    open(path, cap)?
        .take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::new(format!("cannot read {}: {e}", path.display())))?;
    if bytes.len() as u64 > cap {
        return Err(too_large(path, cap));
    }
    Ok(bytes)
}

/// Reads all of `path` (`-` = stdin) as UTF-8 text, refusing more than `cap`.
pub fn read_text(path: &Path, cap: u64) -> Result<String, Failure> {
    let bytes = read_bytes(path, cap)?;
    String::from_utf8(bytes)
        .map_err(|_| Failure::new(format!("cannot read {}: not UTF-8 text", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_small_regular_file() {
        let err = read_text(Path::new("/dev/zero"), 10).unwrap_err().message;
        assert_eq!(err, "/dev/zero: not a regular file, refused");
        let dir = tempfile::tempdir().unwrap();
        let err = read_text(dir.path(), 10).unwrap_err().message;
        assert!(err.ends_with("not a regular file, refused"), "{err}");
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = read_text(&fifo, 10).unwrap_err().message;
        assert!(err.ends_with("not a regular file, refused"), "{err}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; 2048]).unwrap();
        let err = read_text(&big, 1024).unwrap_err().message;
        assert!(err.ends_with("larger than 1 KiB, refused"), "{err}");
        assert_eq!(read_text(&big, 2048).unwrap().len(), 2048);
    }
}
