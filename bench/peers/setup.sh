#!/usr/bin/env bash
# Creates bench/peers/.venv with the peers' pinned packages (from PyPI).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q -r requirements.txt
