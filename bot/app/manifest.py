"""The Slack app manifest: Socket Mode by default, or HTTP with request URLs under a base URL.

`manifest.yml` at the top of the repository is this module's Socket Mode output (a test keeps
them equal). Scopes are only those the Web API methods the bot calls need (README, "Slack app").
"""

from __future__ import annotations

from typing import Any

import yaml

EVENTS_PATH = "/slack/events"

# bot scope -> why (the Web API methods that need it)
BOT_SCOPES: dict[str, str] = {
    "commands": "the /cdc slash command",
    "chat:write": "chat.postMessage, chat.update, chat.postEphemeral",
    "channels:history": "conversations.history (a scheduled post retried after a lost answer is looked for first)",
    "files:write": "files.getUploadURLExternal, files.completeUploadExternal (files_upload_v2)",
    "usergroups:read": "usergroups.users.list (access lists may name user groups)",
}

_HEADER = """\
# Slack app manifest for cdc-bot (`cdc-bot manifest` prints it; `--http BASE_URL` for HTTP mode).
# Create the app from it (api.slack.com/apps -> From a manifest), install it, then set
# SLACK_BOT_TOKEN and SLACK_APP_TOKEN (an app-level token with connections:write) for Socket Mode.
"""


def build_manifest(http_base_url: str | None = None) -> dict[str, Any]:
    """The manifest as a dict; with `http_base_url`, HTTP mode with every request URL under it."""
    url = http_base_url.rstrip("/") + EVENTS_PATH if http_base_url else None
    command: dict[str, Any] = {
        "command": "/cdc",
        "description": "CDC pipeline health, incidents and runbook actions",
        "usage_hint": "health [pipeline] | lag | freshness | alarms | incident declare | action NAME | help",
        "should_escape": False,
    }
    interactivity: dict[str, Any] = {"is_enabled": True}  # Approve / Deny buttons, the declare modal
    if url:
        command["url"] = url
        interactivity["request_url"] = url
    return {
        "display_information": {
            "name": "cdc-bot",
            "description": "Runs the CDC pipeline runbook from Slack (health, lag, incidents, approved actions).",
            "background_color": "#1d3557",
        },
        "features": {
            "bot_user": {"display_name": "cdc-bot", "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": url is None,
            "token_rotation_enabled": False,
        },
    }


def render_manifest(http_base_url: str | None = None) -> str:
    body = yaml.safe_dump(build_manifest(http_base_url), sort_keys=False, allow_unicode=True, width=120)
    if http_base_url:
        header = _HEADER.replace(
            "SLACK_APP_TOKEN (an app-level token with connections:write) for Socket Mode",
            f"SLACK_SIGNING_SECRET; Slack sends requests to {http_base_url.rstrip('/')}{EVENTS_PATH}",
        )
        return header + body
    return _HEADER + body
