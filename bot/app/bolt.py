"""The bolt App's settings, shared by HTTP, Socket Mode and the shell; its listeners come from the wiring."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient

log = logging.getLogger(__name__)


class _SameTokenWarningFilter(logging.Filter):
    # bolt reads SLACK_BOT_TOKEN itself and warns that it is unused when a client is given; the
    # client was built from that same variable, so the warning only misleads operators.
    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.App").addFilter(_SameTokenWarningFilter())


def new_bolt_app(client: WebClient, signing_secret: str | None = None, verify_requests: bool = True) -> App:
    """A bolt App with no listeners yet (`bot.app.wiring.build_bot` registers them)."""
    return App(
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
