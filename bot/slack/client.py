"""The one Slack WebClient the bot uses: SLACK_API_URL aware, with slack_sdk's retry handlers."""

from __future__ import annotations

import os

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

DEFAULT_SLACK_API_URL = "https://slack.com/api/"


def make_web_client(token: str | None = None, base_url: str | None = None, timeout: int = 10) -> WebClient:
    """A WebClient that honours Retry-After on 429 and retries connection and 5xx errors."""
    base = base_url or os.environ.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not base.endswith("/"):
        base += "/"
    client = WebClient(token=token or os.environ.get("SLACK_BOT_TOKEN"), base_url=base, timeout=timeout)
    client.retry_handlers = [
        RateLimitErrorRetryHandler(max_retry_count=3),
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=2),
    ]
    return client
