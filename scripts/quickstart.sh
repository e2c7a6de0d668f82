#!/usr/bin/env bash
# Installs cdc-bot with its local sandbox backends, starts a demo pipeline on them, and prints
# the 9:00 morning report the bot would post. No Slack workspace or cloud account needed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_pgbouncer
use_virtualenv
pip_install sandbox
say "starting the sandbox pipeline (Kafka, AWS, Redshift and Kubernetes stand-ins on loopback)"
exec "$PYTHON" -m bot.app.cli sandbox --demo "$@"
