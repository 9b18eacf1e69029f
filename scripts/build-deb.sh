#!/usr/bin/env bash
# Build the microbot Debian package and lint it.
#
#   scripts/build-deb.sh
#
# 1. makes sure the tools are there: cargo-deb (pinned, `cargo install
#    --locked`), and — as root, via apt-get — lintian, dpkg-dev (dpkg-shlibdeps,
#    for the $auto libc dependency) and a C compiler (bundled SQLite);
# 2. builds release microbotd + microbotctl (--locked);
# 3. regenerates man/ with scripts/gen-man.sh from the release binaries
#    (`microbotctl man DIR`: microbotctl*.1; `microbotd man DIR`: microbotd.8,
#    microbotd.toml.5) and shell completions (`microbotctl completions SHELL`)
#    into completions/;
# 4. `cargo deb -p microbotd --no-build` (metadata: [package.metadata.deb] in
#    microbotd/Cargo.toml);
# 5. lintian: any error fails the build; warnings are printed;
# 6. prints the path of the .deb (last line of stdout).
#
# Safe to re-run. Works on a fresh Debian 12 as root with Rust (rustup) installed
# and access to the Debian and crates.io registries only.
# Env: CARGO_DEB_VERSION (default 3.8.0), LINTIAN=0 to skip lintian.
set -euo pipefail

CARGO_DEB_VERSION=${CARGO_DEB_VERSION:-3.8.0}

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'build-deb: ERROR: %s\n' "$*" >&2; exit 1; }

# ---- 1. tools --------------------------------------------------------------
command -v cargo >/dev/null || die "cargo not found: install Rust >= 1.94 with rustup (https://rustup.rs) first"

apt_updated=0
apt_install() { # apt_install PACKAGE... (root only)
    [ "$(id -u)" -eq 0 ] || die "missing $*: run as root, or: sudo apt-get install $*"
    if [ "$apt_updated" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v dpkg-shlibdeps >/dev/null || missing+=(dpkg-dev)
if [ "${LINTIAN:-1}" != 0 ]; then
    command -v lintian >/dev/null || missing+=(lintian)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing ${missing[*]}"
    apt_install "${missing[@]}"
fi

installed_cargo_deb=$(cargo deb --version 2>/dev/null | awk '{ print $NF }' || true)
if [ "$installed_cargo_deb" != "$CARGO_DEB_VERSION" ]; then
    say "installing cargo-deb $CARGO_DEB_VERSION (found: ${installed_cargo_deb:-none})"
    cargo install --locked --force cargo-deb --version "=$CARGO_DEB_VERSION" >&2
fi

grep -q '^\[package\.metadata\.deb\]' microbotd/Cargo.toml \
    || die "microbotd/Cargo.toml has no [package.metadata.deb]"

# ---- 2. build --------------------------------------------------------------
say "cargo build --release"
cargo build --release --locked -p microbotd -p microbotctl >&2

target_dir=$(cargo metadata --no-deps --format-version 1 \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target_dir" ] || die "could not determine cargo's target directory"
ctl="$target_dir/release/microbotctl"
[ -x "$ctl" ] || die "$ctl was not built"
[ -x "$target_dir/release/microbotd" ] || die "$target_dir/release/microbotd was not built"

# ---- 3. man pages and completions -----------------------------------------
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT

say "generating man pages: scripts/gen-man.sh"
"$repo/scripts/gen-man.sh" "$target_dir/release" >&2 \
    || die "scripts/gen-man.sh failed (microbotctl man DIR / microbotd man DIR)"
shopt -s nullglob
for section in 1 5 8; do
    sec_pages=(man/*."$section")
    [ "${#sec_pages[@]}" -gt 0 ] \
        || die "no man/*.$section page (expected: microbotctl.1, microbotd.toml.5, microbotd.8)"
done
shopt -u nullglob

say "generating shell completions: microbotctl completions"
mkdir -p completions
for shell_file in bash:microbotctl.bash zsh:_microbotctl fish:microbotctl.fish; do
    shell=${shell_file%%:*}; file=${shell_file#*:}
    "$ctl" completions "$shell" >"$gen/$file" \
        || die "'microbotctl completions $shell' failed or does not exist"
    [ -s "$gen/$file" ] || die "'microbotctl completions $shell' printed nothing"
    mv "$gen/$file" "completions/$file"
done

for doc in README.md docs/RUNBOOK.md docs/ARCHITECTURE.md; do
    [ -f "$doc" ] || die "$doc is missing (packaged into /usr/share/doc/microbot/)"
done

# ---- 4. package ------------------------------------------------------------
say "cargo deb -p microbotd --no-build"
deb_out=$(cargo deb -p microbotd --no-build) || die "cargo deb failed"
deb=$(printf '%s\n' "$deb_out" | grep '\.deb$' | tail -n 1)
{ [ -n "$deb" ] && [ -f "$deb" ]; } || die "cargo deb did not report a .deb (output: $deb_out)"

# ---- 5. lint ---------------------------------------------------------------
if [ "${LINTIAN:-1}" != 0 ]; then
    say "lintian $deb"
    # Errors fail the build; warnings and info are shown. Overrides, if any,
    # ship in the package (usr/share/lintian/overrides/microbot).
    lintian --fail-on error --info --display-level '>=warning' "$deb" >&2 \
        || die "lintian reported errors (see above)"
fi

# ---- 6. result -------------------------------------------------------------
say "built"
printf '%s\n' "$deb"
