#!/usr/bin/env bash
# Sourced by scripts/demo and scripts/test: makes sure .venv, the packages and a
# redis-server binary are there, installing what is missing. Safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "batchbot needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "setting up .venv ..." >&2
  "$python" -m venv .venv
fi
stamp=.venv/.batchbot-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing packages into .venv (log: .venv/pip.log) ..." >&2
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
         .venv/bin/python -m pip install --disable-pip-version-check -e ".[dev]"; } \
       >.venv/pip.log 2>&1; then
    tail -n 30 .venv/pip.log >&2
    echo "package installation failed; the whole log is in .venv/pip.log" >&2
    exit 1
  fi
  touch "$stamp"
fi

if [ -z "${REDIS_SERVER_BIN:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  echo "redis-server not found; installing it ..." >&2
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install redis
  else
    echo "cannot install redis-server here: install Redis 7 yourself, or set REDIS_SERVER_BIN" >&2
    exit 1
  fi
fi
