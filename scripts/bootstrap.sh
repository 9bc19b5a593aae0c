#!/usr/bin/env bash
# Create the project environment from the lock file (idempotent; about 10 s cold, 1 s warm).
# Bootstraps a pinned uv into .tools/ when none is on PATH. Used by `make up`, `make test`, .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION="0.13.8"

uv_ok() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | awk '{split($2,v,"."); exit !(v[1]>0 || v[2]>=8)}'; }

if uv_ok uv; then
  UV=uv
elif uv_ok .tools/uv/bin/uv; then
  UV=.tools/uv/bin/uv
else
  echo "bootstrap: installing uv $UV_VERSION into .tools/uv (no uv on PATH)" >&2
  python3 -m venv .tools/uv
  .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  UV=.tools/uv/bin/uv
fi
# --frozen: install exactly what uv.lock says; never re-resolve on a user's machine.
"$UV" sync --frozen --quiet
mkdir -p "${INLOOP_DATA_DIR:-.inloop}"
