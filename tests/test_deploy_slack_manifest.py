"""The Slack app manifest: valid YAML, the structure Slack documents, and only the scopes the code needs."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from slack_sdk import WebClient

from bot.app.cli import main
from bot.app.manifest import BOT_SCOPES, build_manifest, render_manifest

ROOT = Path(__file__).resolve().parent.parent

_URL = {"type": "string", "pattern": "^https?://", "maxLength": 3500}


def _obj(required: list[str], **props: dict) -> dict:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": props}


def _text(low: int, high: int, **extra: str) -> dict:
    return {"type": "string", "minLength": low, "maxLength": high, **extra}


# The sections this manifest uses, with the keys, types and limits of Slack's app manifest
# reference (docs.slack.dev/reference/app-manifest, manifest schema 1.0.0). Unknown keys fail.
SLACK_MANIFEST_SCHEMA = _obj(
    ["display_information"],
    display_information=_obj(
        ["name"],
        name=_text(1, 35),
        description=_text(1, 140),
        background_color=_text(4, 7, pattern="^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$"),
        long_description=_text(175, 4000),
    ),
    features=_obj(
        [],
        bot_user=_obj(["display_name"], display_name=_text(1, 80), always_online={"type": "boolean"}),
        slash_commands={
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": _obj(
                ["command", "description"],
                command=_text(2, 32, pattern="^/"),
                url={"type": "string", "pattern": "^https?://", "maxLength": 3000},
                description=_text(1, 2000),
                usage_hint=_text(1, 1000),
                should_escape={"type": "boolean"},
            ),
        },
    ),
    oauth_config=_obj(
        [],
        scopes=_obj([], bot={"type": "array", "maxItems": 255, "items": {"type": "string", "maxLength": 50}}),
    ),
    settings=_obj(
        [],
        interactivity=_obj(["is_enabled"], is_enabled={"type": "boolean"}, request_url=_URL),
        org_deploy_enabled={"type": "boolean"},
        socket_mode_enabled={"type": "boolean"},
        token_rotation_enabled={"type": "boolean"},
    ),
)

# Web API method (slack_sdk name) -> the bot scope Slack documents for it (None: no scope).
METHOD_SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_getPermalink": None,
    "files_upload_v2": "files:write",
    "views_open": None,  # needs a trigger_id, no scope
    "views_update": None,
    "usergroups_users_list": "usergroups:read",
    "users_info": "users:read",
    "conversations_info": "channels:read",
    "conversations_create": "channels:manage",
    "conversations_invite": "channels:manage",
    "conversations_join": "channels:join",
    "conversations_members": "channels:read",
    "conversations_history": "channels:history",
    "conversations_replies": "channels:history",
    "conversations_list": "channels:read",
}


def _web_api_calls() -> set[str]:
    """slack_sdk WebClient methods called anywhere in the shipped code (the sandbox excluded)."""
    names = {n for n in dir(WebClient) if not n.startswith("_") and "_" in n}
    called: set[str] = set()
    for package in ("bot", "commands", "scheduler"):
        for path in (ROOT / package).rglob("*.py"):
            if "sandbox" in path.parts:
                continue
            called |= {m for m in re.findall(r"\.([a-z]+_[A-Za-z0-9_]+)\(", path.read_text()) if m in names}
    return called - {"api_call"}


@pytest.mark.parametrize("base", [None, "https://cdc-bot.example.com"])
def test_manifest_follows_slacks_structure(base: str | None) -> None:
    jsonschema.validate(build_manifest(base), SLACK_MANIFEST_SCHEMA)


def test_shipped_manifest_parses_and_is_the_socket_mode_form() -> None:
    shipped = yaml.safe_load((ROOT / "manifest.yml").read_text())
    jsonschema.validate(shipped, SLACK_MANIFEST_SCHEMA)
    assert shipped == build_manifest()


def test_every_scope_is_needed_by_a_method_the_code_calls() -> None:
    called = _web_api_calls()
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add the scope these Web API methods need to METHOD_SCOPES: {sorted(unknown)}"
    needed = {"commands"} | {METHOD_SCOPES[m] for m in called if METHOD_SCOPES[m]}
    assert set(build_manifest()["oauth_config"]["scopes"]["bot"]) == needed == set(BOT_SCOPES)


def test_cli_prints_socket_mode_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["settings"]["socket_mode_enabled"] is True
    assert "url" not in printed["features"]["slash_commands"][0]
    assert "request_url" not in printed["settings"]["interactivity"]


def test_cli_prints_http_form_under_base_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--http", "https://bot.example.com/cdc/"]) == 0
    out = capsys.readouterr().out
    assert out == render_manifest("https://bot.example.com/cdc/")
    printed = yaml.safe_load(out)
    jsonschema.validate(printed, SLACK_MANIFEST_SCHEMA)
    assert printed["settings"]["socket_mode_enabled"] is False
    assert printed["features"]["slash_commands"][0]["url"] == "https://bot.example.com/cdc/slack/events"
    assert printed["settings"]["interactivity"]["request_url"] == "https://bot.example.com/cdc/slack/events"


def test_cli_refuses_a_base_url_that_is_not_http(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--http", "bot.example.com"]) == 2
    assert "not an http(s)://" in capsys.readouterr().err
