#!/usr/bin/env bash
# Installs what the test suite needs and runs it against real local backends:
# Tansu (Kafka protocol), moto server (AWS), PostgreSQL behind PgBouncer (Redshift),
# an in-memory Kubernetes API server, and a local Slack Web API.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# PgBouncer sits between redshift_connector and PostgreSQL (see docs/testing.md).
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q pgbouncer
fi

# The state store's PostgreSQL tests use the machine's PostgreSQL on 127.0.0.1:5432.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  for version in /etc/postgresql/*; do
    as_root pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
  done
fi

python -m pip install -q --disable-pip-version-check -e '.[test]'
ruff check .
ruff format --check .
python -m pytest "$@"
