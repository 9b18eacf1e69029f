//! The committed man pages (`man/`) are exactly what the binaries generate
//! (`microbotctl man DIR`, `microbotd man DIR`), and `mandoc -Tlint` finds
//! nothing at warning level or above.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use microbot_tests::daemon::bin;

fn generate() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for program in ["microbotctl", "microbotd"] {
        let out = Command::new(bin(program))
            .arg("man")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} man failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    dir
}

fn pages(dir: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "1" || x == "5" || x == "8")
        })
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../man")
}

#[test]
fn committed_man_pages_are_fresh() {
    let fresh = generate();
    let fresh = pages(fresh.path());
    let committed = pages(&committed_dir());
    for expected in ["microbotctl.1", "microbotd.8", "microbotd.toml.5"] {
        assert!(fresh.contains_key(expected), "{expected} was not generated");
    }
    let names = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&committed),
        names(&fresh),
        "man/ has a different set of pages than the binaries generate: run scripts/gen-man.sh"
    );
    for (name, text) in &fresh {
        assert!(
            committed[name] == *text,
            "man/{name} is stale: run scripts/gen-man.sh"
        );
    }
}

#[test]
fn man_pages_lint_clean() {
    if Command::new("mandoc").arg("-V").output().is_err() {
        assert!(
            !microbot_tests::in_ci(),
            "mandoc is missing (scripts/test installs it on Debian)"
        );
        eprintln!("skipped: mandoc not installed");
        return;
    }
    let fresh = generate();
    for name in pages(fresh.path()).keys() {
        let out = Command::new("mandoc")
            .args(["-Tlint", "-W", "warning"])
            .arg(fresh.path().join(name))
            .output()
            .unwrap();
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success() && report.trim().is_empty(),
            "mandoc -Tlint {name}:\n{report}"
        );
    }
}

#[test]
fn completions_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef microbotctl"),
        ("fish", "complete -c microbotctl"),
        ("elvish", "microbotctl"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Command::new(bin("microbotctl"))
            .args(["completions", shell])
            .env("MICROBOT_SOCKET", "/nonexistent/control.sock")
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(
            script.contains(marker),
            "{shell}: no {marker:?} in\n{script}"
        );
        assert!(script.contains("account"), "{shell}: subcommands missing");
    }
}
