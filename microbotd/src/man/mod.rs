//! Manual pages of the daemon: `microbotd.8` (from the clap definition in
//! [`crate::cli`] plus signals, systemd, environment and files) and
//! `microbotd.toml.5` (from [`crate::config::keys::KEYS`]). Written by the
//! hidden `microbotd man DIR`; `scripts/gen-man.sh` refreshes `man/`.

mod config_page;
mod roff;

use std::path::{Path, PathBuf};

use self::roff::{example, pp, release_date, sh, tp};

/// Writes every daemon page into `dir` and returns their paths.
pub fn write_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let pages = [
        ("microbotd.8", daemon_page()?),
        ("microbotd.toml.5", config_page::render()),
    ];
    let mut written = Vec::new();
    for (name, text) in pages {
        let path = dir.join(name);
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

fn version() -> String {
    format!("microbotd {}", env!("CARGO_PKG_VERSION"))
}

/// `microbotd(8)`.
fn daemon_page() -> std::io::Result<String> {
    let cmd = crate::cli::command();
    let man = clap_mangen::Man::new(cmd.clone())
        .title("MICROBOTD")
        .section("8")
        .date(release_date())
        .manual("System Administration");
    let mut buf: Vec<u8> = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    let mut out = String::from_utf8(buf).map_err(std::io::Error::other)?;
    sh(&mut out, "commands");
    pp(
        &mut out,
        "Without a command, microbotd runs the daemon in the foreground.",
    );
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        tp(&mut out, sub.get_name(), &about);
    }
    sh(&mut out, "signals");
    tp(
        &mut out,
        "SIGTERM, SIGINT",
        "Stop taking new sends, finish or cleanly abandon in-flight ones (they resume after \
         the next start), send STOPPING=1, exit 0.",
    );
    tp(
        &mut out,
        "SIGHUP",
        "Reload the configuration file (systemctl reload microbotd): send RELOADING=1, apply \
         the keys that can change live (daemon.log_level, daemon.slow_call_warn, \
         telegram.rate_limit_per_minute), log at WARN each changed key that needs a restart, \
         then READY=1. An invalid file is logged in one line and the running configuration \
         stays.",
    );
    sh(&mut out, "systemd");
    pp(
        &mut out,
        "microbotd.service is Type=notify: READY=1 with a STATUS= line once the database is \
         migrated and the socket is served. With WatchdogSec= set, WATCHDOG=1 is sent every \
         half period, but only while the dispatcher loop is turning: a hung scheduler stops \
         the pings and systemd restarts the daemon.",
    );
    pp(
        &mut out,
        "Socket activation: when systemd passes a listening socket (LISTEN_FDS), the daemon \
         serves it and never unlinks it; otherwise it binds daemon.socket itself (mode 0660, \
         group daemon.operator_group) and removes it on exit.",
    );
    pp(
        &mut out,
        "Logging: when stderr is the journal (JOURNAL_STREAM), log records go to journald \
         with structured fields (ACCOUNT, TEMPLATE_ID, DELIVERY_ID, ...); otherwise plain \
         lines go to stderr.",
    );
    example(
        &mut out,
        &[
            "journalctl -u microbotd -p warning",
            "journalctl -u microbotd ACCOUNT=sales-tr",
        ],
    );
    sh(&mut out, "session key");
    pp(
        &mut out,
        "Telegram sessions (the MTProto auth keys: whoever holds one is the account) are \
         sealed in the database with ChaCha20-Poly1305 under a 32-byte session key kept \
         outside it: the systemd credential session_key ($CREDENTIALS_DIRECTORY/session_key, \
         loaded by LoadCredentialEncrypted= in microbotd.service), else \
         telegram.session_key_file (mode 0600). Live mode refuses to start without one unless \
         telegram.allow_plain_sessions = true; check-config shows where the key came from and \
         its id, never the key. Accounts whose session is sealed under a key the daemon lacks \
         show state sealed (microbotctl account list, doctor) and neither send nor are \
         overwritten. Create the credential once, on each host (several nodes on one \
         PostgreSQL need the same 32 bytes):",
    );
    example(
        &mut out,
        &[
            "install -d -m 0700 /etc/microbot/credentials",
            "head -c 32 /dev/urandom | systemd-creds encrypt --name=session_key - \\",
            "    /etc/microbot/credentials/session_key.cred",
            "systemctl restart microbotd",
        ],
    );
    pp(
        &mut out,
        "Rotate it offline with microbotd rekey --new-key-file F (every node stopped): each \
         session is re-sealed under the new key one account at a time; run it again if it was \
         interrupted, then give the daemon the new key (see microbotd rekey --help).",
    );
    sh(&mut out, "environment");
    tp(
        &mut out,
        "MICROBOT_<SECTION>_<KEY>",
        "Overrides a configuration key, e.g. MICROBOT_DATABASE_URL, \
         MICROBOT_TELEGRAM_MODE=dry-run (see microbotd.toml(5)).",
    );
    tp(
        &mut out,
        "RUST_LOG",
        "Log filter at start-up; wins over daemon.log_level.",
    );
    tp(
        &mut out,
        "CREDENTIALS_DIRECTORY",
        "Set by systemd; the credentials telegram_api_hash and session_key in it supply the \
         API hash and the session key.",
    );
    tp(
        &mut out,
        "NOTIFY_SOCKET, WATCHDOG_USEC, LISTEN_FDS, JOURNAL_STREAM",
        "Set by systemd (see SYSTEMD above).",
    );
    sh(&mut out, "files");
    tp(
        &mut out,
        "/etc/microbot/microbotd.toml",
        "Configuration of the system service.",
    );
    tp(
        &mut out,
        "/run/microbot/control.sock",
        "Control socket (gRPC); see microbotctl(1).",
    );
    tp(
        &mut out,
        "/var/lib/microbot/",
        "State: microbot.db (SQLite), dry-run-ledger.jsonl.",
    );
    tp(&mut out, "/var/backups/microbot/", "Backups.");
    tp(
        &mut out,
        "/etc/microbot/credentials/session_key.cred",
        "The session key, encrypted to this host by systemd-creds (see SESSION KEY).",
    );
    sh(&mut out, "exit status");
    tp(&mut out, "0", "Stopped cleanly.");
    tp(
        &mut out,
        "1",
        "A runtime failure (database, socket); systemd restarts the daemon.",
    );
    tp(
        &mut out,
        "78",
        "Invalid or incomplete configuration (EX_CONFIG); systemd does not restart it.",
    );
    sh(&mut out, "see also");
    pp(
        &mut out,
        "microbotctl(1), microbotd.toml(5), systemd.service(5), journalctl(1)",
    );
    sh(&mut out, "version");
    pp(&mut out, &version());
    Ok(out)
}
