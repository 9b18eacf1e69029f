#!/usr/bin/env bash
# Build the Debian package, lint it, and try it: what CI runs after the tests
# (scripts/test calls this when CI=true; run it by hand any time as root).
#
#   1. scripts/build-deb.sh: release build, man pages, completions, cargo deb,
#      lintian with zero errors;
#   2. the package's contents: programs, units, sysusers/tmpfiles, config,
#      man pages in all three sections, completions, docs;
#   3. unpacked into a throwaway root (dpkg -x, no maintainer scripts, nothing
#      touches this machine): the packaged microbotctl --version, and the
#      packaged microbotd check-config on the packaged default config (every
#      key commented out, so it checks the built-in defaults), in dry-run mode
#      since the default live mode needs Telegram credentials;
#   4. prints how long each step took.
#
# Cost on the CI box (2 cores, warm target/ from the debug test build, cold
# release profile): see docs/ARCHITECTURE.md "Packaging in CI".
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

die() { printf 'package-check: FAIL: %s\n' "$*" >&2; exit 1; }
t0=$(date +%s)

deb=$("$repo/scripts/build-deb.sh" | tail -n 1)
t_build=$(date +%s)
[ -f "$deb" ] || die "build-deb.sh did not produce a .deb"

echo "== contents of $deb"
listing=$(dpkg-deb -c "$deb")
for path in ./usr/bin/microbotd ./usr/bin/microbotctl \
        ./usr/lib/systemd/system/microbotd.service ./usr/lib/systemd/system/microbotd.socket \
        ./usr/lib/sysusers.d/microbot.conf ./usr/lib/tmpfiles.d/microbot.conf \
        ./etc/microbot/microbotd.toml \
        ./usr/share/man/man1/microbotctl.1.gz ./usr/share/man/man5/microbotd.toml.5.gz \
        ./usr/share/man/man8/microbotd.8.gz \
        ./usr/share/bash-completion/completions/microbotctl \
        ./usr/share/doc/microbot/copyright ./usr/share/doc/microbot/ARCHITECTURE.md; do
    grep -q " $path\$" <<<"$listing" || die "the package lacks $path"
done
dpkg-deb -f "$deb" Depends | grep -q 'systemd' || die "Depends: lacks systemd"
echo "ok"

echo "== unpacked into a throwaway root"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
"$root/usr/bin/microbotctl" --version | grep -q '^microbotctl ' || die "packaged microbotctl --version"
MICROBOT_TELEGRAM_MODE=dry-run "$root/usr/bin/microbotd" \
    --config "$root/etc/microbot/microbotd.toml" check-config >"$root/check-config.out" \
    || die "packaged microbotd check-config failed on the packaged default config"
grep -q '^rate_limit_per_minute = 20$' "$root/check-config.out" \
    || die "check-config did not print the defaults: $(cat "$root/check-config.out")"
"$root/usr/bin/microbotctl" completions bash >/dev/null || die "packaged completions"
echo "ok"
t_end=$(date +%s)

echo "package-check: passed; build-deb $((t_build - t0)) s, checks $((t_end - t_build)) s"
