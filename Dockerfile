# cdc-bot: `cdc-bot serve` as uid 10001 on a read-only root filesystem (state in PostgreSQL or a volume).
#
# The base is the official Python image pinned by digest. Override it with --build-arg BASE=...
# (scripts/build-image.sh builds a local Debian bookworm base with python3 3.11 when no registry is
# reachable). Check the pin with `docker buildx imagetools inspect python:3.11-slim-bookworm`.
ARG BASE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# --- build: dependencies from the hashed lock file, then the bot's own wheel -------------------------
FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Regenerate the runtime lock with
#   pip-compile --allow-unsafe --generate-hashes --no-emit-index-url --no-emit-find-links --strip-extras \
#     -P 'soupsieve<3.0.2' --output-file requirements.lock pyproject.toml
# (soupsieve 3.0.2+ needs Python >= 3.11.5; Debian bookworm's python3 is 3.11.2.)
COPY requirements.lock requirements-build.lock ./
# Only pinned, hash-checked packages: --require-hashes refuses anything else.
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes --no-deps -r requirements-build.lock \
    && python3 -m venv /opt/cdc-bot \
    && /opt/cdc-bot/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY scheduler ./scheduler
# The sandbox fakes are test infrastructure: .dockerignore keeps them out; make sure.
RUN test ! -e bot/sandbox \
    && /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/cdc-bot/bin/pip install --no-deps /wheels/*.whl \
    && /opt/cdc-bot/bin/pip uninstall --yes pip \
    && /opt/cdc-bot/bin/python -m compileall -q /opt/cdc-bot/lib

# --- runtime -------------------------------------------------------------------------------------------
FROM ${BASE}
ENV PATH=/opt/cdc-bot/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    CDC_BOT_CONFIG=/etc/cdc-bot/cdc-bot.yml \
    CDC_BOT_DATABASE_URL=sqlite:////var/lib/cdc-bot/state.db \
    PORT=3000
COPY --from=build /opt/cdc-bot /opt/cdc-bot
RUN groupadd --gid 10001 cdcbot \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /var/lib/cdc-bot --shell /usr/sbin/nologin cdcbot \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/cdc-bot
# SQLite state (one replica) lives on this volume; several replicas use PostgreSQL (CDC_BOT_DATABASE_URL).
VOLUME ["/var/lib/cdc-bot"]
USER 10001:10001
WORKDIR /var/lib/cdc-bot
EXPOSE 3000
# /healthz answers in both Slack modes; Kubernetes uses its own probes (deploy/base/deployment.yaml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"3000\")}/healthz', timeout=4)"]
CMD ["cdc-bot", "serve"]
