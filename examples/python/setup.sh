#!/usr/bin/env bash
# Creates examples/python/.venv with stock grpcio from PyPI and generates the
# microbot stubs from proto/ into examples/python/gen/ (both git-ignored).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q -r requirements.txt
rm -rf gen
mkdir -p gen
.venv/bin/python -m grpc_tools.protoc -I ../../proto \
    --python_out=gen --grpc_python_out=gen \
    ../../proto/microbot/v1/*.proto
