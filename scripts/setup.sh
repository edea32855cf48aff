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
# The exact versions of requirements-dev.lock, hashes checked; then batchbot itself, editable.
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ requirements-dev.lock -nt "$stamp" ]; then
  echo "installing packages into .venv (log: .venv/pip.log) ..." >&2
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip &&
         .venv/bin/python -m pip install --disable-pip-version-check --require-hashes \
           -r requirements-dev.lock &&
         .venv/bin/python -m pip install --disable-pip-version-check --no-deps -e .; } \
       >.venv/pip.log 2>&1; then
    tail -n 30 .venv/pip.log >&2
    echo "package installation failed; the whole log is in .venv/pip.log" >&2
    exit 1
  fi
  touch "$stamp"
fi

# install_tool COMMAND DEBIAN_PACKAGE BREW_FORMULA: install COMMAND if it is missing.
install_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "$1 not found; installing it ..." >&2
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  elif command -v brew >/dev/null 2>&1; then
    brew install "$3"
  else
    echo "cannot install $1 here: install it yourself ($2 on Debian, $3 with Homebrew)" >&2
    exit 1
  fi
}

if [ -z "${REDIS_SERVER_BIN:-}" ]; then
  install_tool redis-server redis-server redis
fi
