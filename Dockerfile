FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CDC_BOT_CONFIG=/etc/cdc-bot/cdc-bot.yml \
    CDC_BOT_DATABASE_URL=sqlite:////var/lib/cdc-bot/state.db

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY commands ./commands
COPY scheduler ./scheduler
RUN pip install . \
    && rm -rf /src \
    && useradd --uid 10001 --home-dir /var/lib/cdc-bot --create-home --shell /usr/sbin/nologin cdcbot

USER 10001
WORKDIR /var/lib/cdc-bot
EXPOSE 3000
# Kubernetes probes: /healthz (liveness), /readyz (readiness); Prometheus: /metrics.
CMD ["cdc-bot", "serve", "--port", "3000"]
