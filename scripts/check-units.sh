#!/usr/bin/env bash
# Check microbot's systemd files offline:
#   1. systemd-analyze verify of microbotd.socket + microbotd.service, which
#      must print nothing at all (unknown or misspelt keys only warn, on stderr);
#   2. systemd-analyze security --offline=true: overall exposure <= MAX_EXPOSURE
#      (default 2.0);
#   3. sysusers.d + tmpfiles.d files, applied to a scratch root (when root).
#
# Usage: scripts/check-units.sh [MICROBOTD_BINARY]
#   verify needs ExecStart='s binary to exist, so the units are checked from a
#   temporary copy whose ExecStart= points at MICROBOTD_BINARY (default:
#   target/release/microbotd). Any existing executable works for checking the
#   unit files alone, e.g.  scripts/check-units.sh /bin/true
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
units="$repo/systemd"
max_exposure=${MAX_EXPOSURE:-2.0}
bin=${1:-$repo/target/release/microbotd}

die() { printf 'check-units: FAIL: %s\n' "$*" >&2; exit 1; }

command -v systemd-analyze >/dev/null || die "systemd-analyze not found (apt-get install systemd)"
[ -x "$bin" ] || die "ExecStart stand-in '$bin' is not an executable file (build first, or pass one, e.g. /bin/true)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
for f in microbotd.service microbotd.socket microbot.sysusers microbot.tmpfiles; do
    [ -f "$units/$f" ] || die "missing $units/$f"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cp "$units/microbotd.service" "$units/microbotd.socket" "$tmp/"
grep -q '^ExecStart=/usr/bin/microbotd\( \|$\)' "$tmp/microbotd.service" \
    || die "microbotd.service: ExecStart= no longer starts with /usr/bin/microbotd"
sed -i "s|^ExecStart=/usr/bin/microbotd|ExecStart=$bin|" "$tmp/microbotd.service"

# 1. verify. --man=no: the man pages are not installed on a build machine.
# The directory of the given units is on the unit search path, so
# Requires=microbotd.socket resolves to our copy.
echo "== systemd-analyze verify"
if ! (cd "$tmp" && systemd-analyze verify --man=no ./microbotd.socket ./microbotd.service) \
        >"$tmp/verify.out" 2>"$tmp/verify.err"; then
    cat "$tmp/verify.out" "$tmp/verify.err" >&2
    die "systemd-analyze verify failed"
fi
if [ -s "$tmp/verify.err" ] || [ -s "$tmp/verify.out" ]; then
    cat "$tmp/verify.out" "$tmp/verify.err" >&2
    die "systemd-analyze verify printed warnings (see above); they must be fixed"
fi
echo "ok: no output"

# 2. security exposure.
echo "== systemd-analyze security --offline=true"
(cd "$tmp" && systemd-analyze security --offline=true --no-pager ./microbotd.service) \
    >"$tmp/security.out" 2>"$tmp/security.err" || true
if [ -s "$tmp/security.err" ]; then
    cat "$tmp/security.err" >&2
    die "systemd-analyze security printed warnings (see above)"
fi
grep -E '^✗' "$tmp/security.out" || true
exposure=$(sed -n 's/.*Overall exposure level for microbotd\.service: \([0-9.]*\).*/\1/p' "$tmp/security.out")
[ -n "$exposure" ] || { cat "$tmp/security.out" >&2; die "could not read the overall exposure level"; }
if awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e + 0 > m + 0) }'; then
    die "microbotd.service exposure $exposure > $max_exposure (the ✗ lines above say what is open)"
fi
echo "ok: overall exposure $exposure (<= $max_exposure)"

# 3. sysusers.d + tmpfiles.d, applied to a scratch root. Needs root (chown).
echo "== sysusers.d / tmpfiles.d"
if [ "$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null; then
    root="$tmp/root"
    mkdir -p "$root/etc" "$root/run" "$root/var/lib" "$root/var/backups"
    : >"$root/etc/passwd"; : >"$root/etc/group"
    systemd-sysusers --root="$root" "$units/microbot.sysusers" 2>"$tmp/sysusers.err" \
        || { cat "$tmp/sysusers.err" >&2; die "systemd-sysusers rejected microbot.sysusers"; }
    if [ -s "$tmp/sysusers.err" ] && grep -v '^Creating ' "$tmp/sysusers.err" >&2; then
        die "systemd-sysusers printed warnings (see above)"
    fi
    grep -q '^microbot:' "$root/etc/passwd" || die "sysusers: user microbot not created"
    grep -q '^microbot-admin:' "$root/etc/group" || die "sysusers: group microbot-admin not created"
    systemd-tmpfiles --root="$root" --create "$units/microbot.tmpfiles" 2>"$tmp/tmpfiles.err" \
        || { cat "$tmp/tmpfiles.err" >&2; die "systemd-tmpfiles rejected microbot.tmpfiles"; }
    [ -s "$tmp/tmpfiles.err" ] && { cat "$tmp/tmpfiles.err" >&2; die "systemd-tmpfiles printed warnings"; }
    uid=$(awk -F: '$1 == "microbot" { print $3 }' "$root/etc/passwd")
    gid=$(awk -F: '$1 == "microbot" { print $3 }' "$root/etc/group")
    for d in run/microbot:750:$uid:$gid var/lib/microbot:750:$uid:$gid \
             var/backups/microbot:750:$uid:$gid etc/microbot/credentials:700:0:0; do
        path=${d%%:*}; want=${d#*:}
        got=$(stat -c '%a:%u:%g' "$root/$path" 2>/dev/null) || die "tmpfiles: /$path not created"
        [ "$got" = "$want" ] || die "tmpfiles: /$path is $got (mode:uid:gid), want $want"
    done
    echo "ok: users, groups and directories as expected"
else
    echo "skipped (needs root, systemd-sysusers and systemd-tmpfiles)"
fi

echo "check-units: all checks passed"
