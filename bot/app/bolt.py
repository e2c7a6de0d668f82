"""Builds the bolt App with every listener registered; shared by HTTP, Socket Mode and the shell."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

from bot.core.access import AccessPolicy, slack_group_resolver
from bot.services import Services
from bot.slack.client import make_web_client
from commands import register_all

log = logging.getLogger(__name__)


class _SameTokenWarningFilter(logging.Filter):
    # bolt reads SLACK_BOT_TOKEN itself and warns that it is unused when a client is given; the
    # client was built from that same variable, so the warning only misleads operators.
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_SameTokenWarningFilter())


def create_app(
    services: Services, client: WebClient | None = None, signing_secret: str | None = None, verify_requests: bool = True
) -> App:
    client = client or make_web_client()
    app = App(
        client=client,
        signing_secret=signing_secret or "",
        # Requests are verified against the signing secret; the bot token is checked lazily by the
        # first API call instead of at start-up, so the process starts even while Slack is unreachable.
        request_verification_enabled=verify_requests,
        token_verification_enabled=False,
        # Listeners ack and hand slow work to `Services.background` themselves, so they return at once;
        # running them in the request thread skips bolt's hop to its listener pool and its 10 ms ack
        # polling, which under a burst of requests is most of the time to ack.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )
    register_all(app, services, AccessPolicy(services.config.access, slack_group_resolver(client)))
    return app
