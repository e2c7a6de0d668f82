#!/usr/bin/env bash
# Installs cdc-bot with its local sandbox backends, starts a demo pipeline on them, and prints
# the 9:00 morning report the bot would post. No Slack workspace or cloud account needed.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q pgbouncer
fi
python -m pip install -q --disable-pip-version-check -e '.[sandbox]'
exec cdc-bot sandbox --demo "$@"
