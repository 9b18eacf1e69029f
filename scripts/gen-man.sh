#!/usr/bin/env bash
# Regenerate the manual pages in man/ from the clap definitions and the
# daemon's configuration key table:
#   microbotctl man DIR  → microbotctl.1, microbotctl-<command>.1
#   microbotd man DIR    → microbotd.8, microbotd.toml.5
# Run it after changing any command, flag, help text or config key (the test
# tests/it/man.rs fails while man/ is stale), then commit man/.
#
# Usage: scripts/gen-man.sh [BIN_DIR]   (default: builds target/debug)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if [ $# -ge 1 ]; then
    bin=$1
else
    cargo build --locked -q -p microbotd -p microbotctl
    bin=$(cargo metadata --no-deps --format-version 1 \
        | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin/microbotctl" man "$tmp"
"$bin/microbotd" man "$tmp"

mkdir -p man
rm -f man/*.1 man/*.5 man/*.8
cp "$tmp"/* man/
if command -v mandoc >/dev/null; then
    mandoc -Tlint -W warning man/* || { echo "gen-man: mandoc -Tlint found problems (above)" >&2; exit 1; }
fi
ls man/
