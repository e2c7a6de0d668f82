"""A local Slack Web API: the sandbox's Slack and the test suite's Slack backend.

It answers the Web API methods the bot calls the way slack.com does (HTTP 200 with
``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``, HTTP 429 with ``Retry-After``),
records every call, and keeps posted messages so ``chat.update`` and
``conversations.replies`` behave like the real thing. Reach it with
``WebClient(base_url=server.api_url)``. Stdlib only.

The package: `wire` (ids, recorded calls, body decoding), `methods` (one handler per Web API
method), `transport` (the HTTP handler) and `server` (lifecycle, recording, fault injection).
"""

from bot.sandbox.fake_slack.server import FakeSlackServer
from bot.sandbox.fake_slack.wire import (
    BOT_ID,
    BOT_USER_ID,
    PERMALINK_BASE,
    TEAM_DOMAIN,
    TEAM_ID,
    Answer,
    Args,
    RecordedCall,
)

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "PERMALINK_BASE",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "Answer",
    "Args",
    "FakeSlackServer",
    "RecordedCall",
]
