//! Commands that need no daemon: `microbotctl completions SHELL` (clap_complete)
//! and the hidden `microbotctl man DIR`, which writes `microbotctl.1` and one
//! page per command (`microbotctl-account.1`, …) for packaging
//! (`scripts/gen-man.sh`). The daemon's pages come from `microbotd man DIR`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::failure::Failure;

/// Prints the completion script for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode, Failure> {
    use std::io::Write;
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "microbotctl", &mut script);
    match std::io::stdout().write_all(&script) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // `… | head` closed the pipe: what was wanted has been written.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(Failure::new(format!(
            "cannot write the completion script: {e}"
        ))),
    }
}

/// Writes every page into `dir`.
pub fn man(dir: &Path) -> Result<ExitCode, Failure> {
    write_pages(dir)
        .map_err(|e| Failure::new(format!("cannot write man pages to {}: {e}", dir.display())))?;
    Ok(ExitCode::SUCCESS)
}

fn write_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    let date = release_date();
    let source = format!("microbotctl {}", env!("CARGO_PKG_VERSION"));
    let mut written = Vec::new();
    let mut main = Vec::new();
    let man = clap_mangen::Man::new(cli.clone())
        .title("MICROBOTCTL")
        .date(&date)
        .source(&source)
        .manual("microbot");
    man.render_title(&mut main)?;
    man.render_name_section(&mut main)?;
    man.render_synopsis_section(&mut main)?;
    man.render_description_section(&mut main)?;
    man.render_options_section(&mut main)?;
    man.render_subcommands_section(&mut main)?;
    let mut main = String::from_utf8(main).map_err(std::io::Error::other)?;
    main.push_str(
        ".SH \"EXIT STATUS\"\n.TP\n0\nSuccess.\n.TP\n1\nThe command failed, or the daemon \
         is unhealthy.\n.TP\n2\nUsage error.\n.TP\n69\nThe daemon cannot be reached.\n\
         .SH ENVIRONMENT\n.TP\n\\fBMICROBOT_SOCKET\\fR\nThe control socket, like \\-\\-socket.\n\
         .SH \"SEE ALSO\"\nmicrobotd(8), microbotd.toml(5)\n",
    );
    written.push(write(dir, "microbotctl.1", &tidy(&main))?);
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("microbotctl-{}", sub.get_name());
        let mut page = Vec::new();
        let man = clap_mangen::Man::new(sub.clone())
            .title(name.to_uppercase())
            .date(&date)
            .source(&source)
            .manual("microbot");
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        man.render_options_section(&mut page)?;
        let mut page = String::from_utf8(page).map_err(std::io::Error::other)?;
        let commands: Vec<&clap::Command> =
            sub.get_subcommands().filter(|s| !s.is_hide_set()).collect();
        if !commands.is_empty() {
            page.push_str(".SH COMMANDS\n");
            for leaf in commands {
                render_leaf(&mut page, leaf);
            }
        }
        page.push_str(".SH \"SEE ALSO\"\nmicrobotctl(1)\n");
        written.push(write(dir, &format!("{name}.1"), &tidy(&page))?);
    }
    Ok(written)
}

/// Drops the `.br` clap_mangen puts next to a blank line (a blank line is
/// already a break; `mandoc -Tlint` warns about the pair).
fn tidy(roff: &str) -> String {
    let lines: Vec<&str> = roff.lines().collect();
    let mut out = String::with_capacity(roff.len());
    for (i, line) in lines.iter().enumerate() {
        let blank_before = i > 0 && lines[i - 1].is_empty();
        let blank_after = lines.get(i + 1).is_some_and(|l| l.is_empty());
        if *line == ".br" && (blank_before || blank_after) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn write(dir: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// One command of a group: usage, description and its own options (the
/// global ones are on the group's and the main page).
fn render_leaf(out: &mut String, leaf: &clap::Command) {
    let usage = leaf.clone().render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    out.push_str(&format!(".SS \"{}\"\n", esc(&leaf_name(leaf))));
    out.push_str(&format!("\\fB{}\\fR\n", esc(usage)));
    if let Some(about) = leaf.get_long_about().or_else(|| leaf.get_about()) {
        out.push_str(&format!(".PP\n{}\n", esc(&about.to_string())));
    }
    for arg in leaf.get_arguments() {
        if arg.is_hide_set() || arg.is_global_set() || is_builtin(arg) {
            continue;
        }
        out.push_str(&format!(".TP\n\\fB{}\\fR\n", esc(&arg_tag(arg))));
        let mut help = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| v.get_name().to_string())
            .collect();
        if arg.get_action().takes_values() && !values.is_empty() {
            help.push_str(&format!(" [possible values: {}]", values.join(", ")));
        }
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if !defaults.is_empty() {
            help.push_str(&format!(" [default: {}]", defaults.join(", ")));
        }
        out.push_str(&esc(help.trim()));
        out.push('\n');
    }
}

fn leaf_name(leaf: &clap::Command) -> String {
    leaf.get_bin_name()
        .map(str::to_string)
        .unwrap_or_else(|| leaf.get_name().to_string())
}

fn is_builtin(arg: &clap::Arg) -> bool {
    matches!(arg.get_id().as_str(), "help" | "version")
}

/// `-o, --output <FORMAT>` or `<NAME>`.
fn arg_tag(arg: &clap::Arg) -> String {
    let value = arg
        .get_value_names()
        .map(|names| {
            names
                .iter()
                .map(|n| format!("<{n}>"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
    if arg.is_positional() {
        return value;
    }
    let mut names = Vec::new();
    if let Some(s) = arg.get_short() {
        names.push(format!("-{s}"));
    }
    if let Some(l) = arg.get_long() {
        names.push(format!("--{l}"));
    }
    let takes_value = arg.get_action().takes_values();
    if takes_value {
        format!("{} {value}", names.join(", "))
    } else {
        names.join(", ")
    }
}

/// Escapes text for a roff line (backslashes, hyphens, a leading `.`/`'`).
fn esc(text: &str) -> String {
    let mut out = text.replace('\\', "\\e").replace('-', "\\-");
    if out.starts_with('.') || out.starts_with('\'') {
        out.insert_str(0, "\\&");
    }
    out
}

/// The day of the newest `packaging/changelog` entry as YYYY-MM-DD (the
/// daemon's pages use the same date), so pages change with releases only.
fn release_date() -> String {
    const CHANGELOG: &str = include_str!("../../../packaging/changelog");
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some(stamp) = CHANGELOG
        .lines()
        .find_map(|l| l.strip_prefix(" -- "))
        .and_then(|l| l.split_once(">  "))
        .map(|(_, d)| d)
    else {
        return String::new();
    };
    // "Sat, 28 Nov 2026 12:00:00 +0000"
    let parts: Vec<&str> = stamp.split_whitespace().collect();
    match parts.as_slice() {
        [_, day, month, year, ..] => match MONTHS.iter().position(|m| m == month) {
            Some(i) => format!("{year}-{:02}-{:0>2}", i + 1, day),
            None => String::new(),
        },
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_is_iso() {
        let d = release_date();
        assert_eq!(d.len(), 10, "{d:?}");
        assert_eq!(&d[4..5], "-");
        assert_eq!(&d[7..8], "-");
    }

    #[test]
    fn every_visible_command_gets_a_page() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_pages(dir.path()).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"microbotctl.1".to_string()));
        assert!(names.contains(&"microbotctl-account.1".to_string()));
        assert!(!names.iter().any(|n| n == "microbotctl-man.1"), "{names:?}");
        let account = std::fs::read_to_string(dir.path().join("microbotctl-account.1")).unwrap();
        assert!(account.contains("microbotctl account add"), "{account}");
        assert!(account.contains("\\-\\-phone"), "{account}");
    }
}
