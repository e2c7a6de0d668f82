# Shared by the scripts: say what is happening, find Python 3.11+, and install into a virtual
# environment of the project's own (.venv) unless one is already active.
# shellcheck shell=bash

say() { printf '==> %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  say "installing $* from Debian's packages (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q >/dev/null
  as_root apt-get install -y -q "$@" >/dev/null
}

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  echo "cdc-bot needs Python 3.11 or newer; none found on PATH (tried python3.13 … python3, python)" >&2
  return 1
}

# Sets PYTHON to the interpreter to use: the active virtual environment's, else ./.venv's (made on
# first use), so nothing is installed into the system's Python.
use_virtualenv() {
  if [ -n "${VIRTUAL_ENV:-}" ]; then
    PYTHON="$VIRTUAL_ENV/bin/python"
    say "using the active virtual environment $VIRTUAL_ENV"
    return 0
  fi
  local base
  base=$(find_python)
  if [ ! -x .venv/bin/python ]; then
    if ! "$base" -c 'import ensurepip, venv' >/dev/null 2>&1; then
      apt_install python3-venv
    fi
    say "creating a virtual environment in .venv with $("$base" --version)"
    "$base" -m venv .venv
  fi
  PYTHON="$PWD/.venv/bin/python"
  export PATH="$PWD/.venv/bin:$PATH"
  say "using the virtual environment .venv ($("$PYTHON" --version))"
}

ensure_pgbouncer() {
  # PgBouncer sits between redshift_connector and PostgreSQL in the Redshift stand-in (docs/testing).
  if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
    apt_install pgbouncer
  fi
}

pip_install() {
  say "installing cdc-bot and $1 with pip (the first time takes a few minutes)"
  # setuptools and wheel too: a venv's own are too old to build this project's wheel without isolation
  "$PYTHON" -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel 2>&1 | grep -v WARNING >&2 || true
  "$PYTHON" -m pip install --disable-pip-version-check --progress-bar off -e ".[$1]" 2>&1 \
    | grep -E '^(Successfully installed|ERROR)' >&2 || true
  "$PYTHON" -c 'import bot' || { echo "the install failed; see pip's output above" >&2; return 1; }
}
