//! `microbotd.toml(5)`, rendered from the key table.

use crate::config::keys::{DefaultValue, KEYS};

use super::roff::{esc, example, pp, sh, tp};

/// The whole page.
pub fn render() -> String {
    let mut out = format!(
        ".TH MICROBOTD.TOML 5 {} \"{}\" \"File Formats\"\n",
        super::roff::release_date(),
        esc(&super::version())
    );
    sh(&mut out, "name");
    out.push_str("microbotd.toml \\- configuration of microbotd\n");
    sh(&mut out, "synopsis");
    pp(
        &mut out,
        "/etc/microbot/microbotd.toml (system service), \
         $XDG_CONFIG_HOME/microbot/microbotd.toml (other users), or microbotd --config FILE",
    );
    sh(&mut out, "description");
    pp(
        &mut out,
        "A TOML file. Every key is optional and has a built-in default, so microbotd starts \
         without any file (SQLite under the state directory). Values are checked at start-up: \
         an unknown key or a bad value stops the daemon with one line naming the key (exit \
         status 78). Durations are strings such as \"500ms\", \"10m\", \"2h\", \"1d\".",
    );
    pp(
        &mut out,
        "Precedence: built-in defaults, then the file, then environment variables \
         MICROBOT_<SECTION>_<KEY> (shown with each key below). Check a file with \
         microbotd --config FILE check-config, which prints the effective configuration with \
         secrets redacted.",
    );
    pp(
        &mut out,
        "Reload: systemctl reload microbotd (SIGHUP) re-reads the file and applies the keys \
         marked \"applied on reload\"; other changes take a restart, and the daemon logs \
         each one at WARN.",
    );
    let mut section = "";
    for k in KEYS {
        if k.section != section {
            section = k.section;
            out.push_str(&format!(".SS \"[{}]\"\n", esc(section)));
        }
        let tag = match k.default {
            DefaultValue::Literal(lit) => format!("{} = {lit}", k.name),
            DefaultValue::Derived(_) => k.name.to_string(),
        };
        let mut text = k.meaning.to_string();
        if let DefaultValue::Derived(how) = k.default {
            text.push_str(&format!(" Default: {how}."));
        }
        text.push_str(&format!(" Environment: {}.", k.env_var()));
        text.push_str(if k.reloadable {
            " Applied on reload."
        } else {
            " Changes need a restart."
        });
        tp(&mut out, &tag, &text);
    }
    sh(&mut out, "example");
    example(
        &mut out,
        &[
            "[daemon]",
            "log_level = \"info\"",
            "",
            "[database]",
            "url = \"postgres://microbot@db.internal/microbot\"",
            "",
            "[telegram]",
            "api_id = 1234567",
            "api_hash_file = \"/etc/microbot/api_hash\"",
            "rate_limit_per_minute = 15",
            "",
            "[scheduler]",
            "default_timezone = \"Europe/Istanbul\"",
        ],
    );
    sh(&mut out, "see also");
    pp(&mut out, "microbotd(8), microbotctl(1)");
    out
}
