"""Build and sign requests the way Slack sends them to the bot's HTTP endpoint.

Used by `cdc-bot shell` / the sandbox to drive the real bolt listeners, and by tests.
The signature is Slack's v0 scheme: HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed with the
app's signing secret; bolt rejects anything else (or anything older than five minutes) with 401.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0SANDBOX"
TEAM_DOMAIN = "cdc-sandbox"
API_APP_ID = "A0SANDBOX"
# Deprecated verification token Slack still puts in payloads; bolt ignores it.
VERIFICATION_TOKEN = "sandbox-verification-token"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def sign(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack would send with ``body`` (a timestamp of now unless given)."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(signing_secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": FORM_CONTENT_TYPE,
    }


def _user(user_id: str, user_name: str = "", team_id: str = TEAM_ID) -> dict[str, str]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str = TEAM_ID) -> dict[str, str]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def _payload_body(payload: dict[str, Any]) -> str:
    # Interactions arrive as a single form field holding the JSON payload.
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})


def slash_command_body(
    command: str,
    text: str,
    user_id: str,
    channel_id: str = "C0OPS",
    response_url: str = "",
    trigger_id: str = "T.1",
    user_name: str = "",
    team_id: str = TEAM_ID,
) -> str:
    """The urlencoded form Slack posts for a slash command."""
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": channel_id.lstrip("#").lower(),
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def block_actions_body(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str,
    message_ts: str,
    response_url: str = "",
    block_id: str = "b",
    message: dict[str, Any] | None = None,
    container: dict[str, Any] | None = None,
    trigger_id: str = "T.2",
) -> str:
    """``payload=`` + JSON of a ``block_actions`` interaction (a button press on a message)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container
        or {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": trigger_id,
        "team": _team(),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_id.lstrip("#").lower()},
        "message": message
        or {
            "type": "message",
            "user": "UBOT",
            "bot_id": "B0SANDBOX",
            "text": "",
            "ts": message_ts,
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return _payload_body(payload)


def view_submission_body(
    callback_id: str,
    values: dict[str, Any],
    user_id: str,
    private_metadata: str = "",
    trigger_id: str = "T.3",
) -> str:
    """``payload=`` + JSON of a modal submission.

    ``values`` is Slack's ``view.state.values`` shape:
    ``{block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}``.
    """
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": _team(),
        "user": _user(user_id),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": {
            "id": "V0SANDBOX",
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "title": {"type": "plain_text", "text": "cdc-bot"},
            "blocks": [],
            "state": {"values": values},
            "hash": "sandbox.hash",
            "app_id": API_APP_ID,
            "bot_id": "B0SANDBOX",
            "root_view_id": "V0SANDBOX",
            "previous_view_id": None,
            "external_id": "",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload_body(payload)


def post_signed(
    url: str,
    body: str,
    signing_secret: str,
    timestamp: int | None = None,
    timeout: float = 5.0,
) -> tuple[int, dict[str, str], bytes]:
    """POST a signed body; returns (status, headers, body) for any HTTP status instead of raising."""
    request = urllib.request.Request(
        url, data=body.encode(), headers=sign(signing_secret, body, timestamp), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as err:
        # 401/404/500 are answers the caller wants to assert on, not failures of the transport
        with err:
            return err.code, dict(err.headers.items()), err.read()
