#!/usr/bin/env bash
# Installs what the test suite needs and runs it against real local backends:
# Tansu (Kafka protocol), moto server (AWS), PostgreSQL behind PgBouncer (Redshift),
# an in-memory Kubernetes API server, a local Slack Web API and a local PagerDuty.
# Before the tests: ruff (lint and format), import-linter (the one-way layers) and mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_pgbouncer
use_virtualenv
pip_install test
say "ruff: lint and format"
"$PYTHON" -m ruff check .
"$PYTHON" -m ruff format --check .
say "import-linter: the one-way dependency rule (docs/architecture.md)"
lint-imports
say "mypy"
"$PYTHON" -m mypy
say "pytest"
"$PYTHON" -m pytest "$@"
