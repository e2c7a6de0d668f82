"""Signed slash commands into the bot's HTTP endpoint; what a user sees comes out of the fake Slack."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable

from bot.sandbox.slack_signing import post_signed, slash_command_body
from bot.services import Services
from tests.conftest import SIGNING_SECRET, BotServer

StartBot = Callable[[Services], BotServer]


def test_health_is_acked_and_posted_to_the_channel(start_bot: StartBot, make_services: Callable[..., Services]) -> None:
    bot = start_bot(make_services())
    status, body = bot.command("health")
    assert status == 200
    assert b"Checking" in body  # the ack says what is coming
    posted = bot.slack.wait_for("chat.postMessage", timeout=15)[0]
    assert posted.args["channel"] == "C0OPS"
    header = posted.args["blocks"][0]["text"]["text"]
    assert "Pipeline sandbox: WARN" in header
    everything = json.dumps(posted.args["blocks"])
    assert "Consumer lag" in everything and "12,405 behind" in everything


def test_lag_shows_the_one_check_in_full(start_bot: StartBot, make_services: Callable[..., Services]) -> None:
    bot = start_bot(make_services())
    assert bot.command("lag sandbox")[0] == 200
    posted = bot.slack.wait_for("chat.postMessage", timeout=15)[0]
    text = json.dumps(posted.args["blocks"])
    assert "oracle.inventory.orders" in text and "4,000" in text


def test_unknown_subcommand_gets_ephemeral_did_you_mean(
    start_bot: StartBot, make_services: Callable[..., Services]
) -> None:
    bot = start_bot(make_services())
    assert bot.command("helth")[0] == 200
    answer = bot.slack.wait_for("response_url", timeout=5)[0]
    assert answer.args["response_type"] == "ephemeral"
    assert "Did you mean `/cdc health`?" in json.dumps(answer.args)
    assert not bot.slack.calls_to("chat.postMessage")


def test_unknown_pipeline_gets_ephemeral_did_you_mean(
    start_bot: StartBot, make_services: Callable[..., Services]
) -> None:
    bot = start_bot(make_services())
    assert bot.command("health sandbx")[0] == 200
    answer = bot.slack.wait_for("response_url", timeout=10)[0]
    assert answer.args["response_type"] == "ephemeral"
    assert "Did you mean `sandbox`?" in json.dumps(answer.args)
    assert not bot.slack.calls_to("chat.postMessage")


def test_help_lists_commands_privately(start_bot: StartBot, make_services: Callable[..., Services]) -> None:
    bot = start_bot(make_services())
    assert bot.command("")[0] == 200
    answer = bot.slack.wait_for("response_url", timeout=5)[0]
    text = json.dumps(answer.args)
    assert answer.args["response_type"] == "ephemeral"
    for command in ("/cdc health [pipeline]", "/cdc lag [pipeline]", "/cdc contacts"):
        assert command in text


def test_contacts_show_the_escalation_path(start_bot: StartBot, make_services: Callable[..., Services]) -> None:
    bot = start_bot(make_services())
    bot.command("contacts")
    text = json.dumps(bot.slack.wait_for("response_url", timeout=5)[0].args)
    assert "ops-team@company.com" in text and "L3 Support" in text


def test_forged_and_stale_requests_are_refused(start_bot: StartBot, make_services: Callable[..., Services]) -> None:
    bot = start_bot(make_services())
    body = slash_command_body("/cdc", "health", user_id="U0OPERATOR", response_url=bot.slack.response_url())
    forged = post_signed(f"{bot.url}/slack/events", body, "not-the-secret")
    stale = post_signed(f"{bot.url}/slack/events", body, SIGNING_SECRET, timestamp=int(time.time()) - 600)
    assert forged[0] == 401 and stale[0] == 401
    time.sleep(0.5)
    assert not bot.slack.calls  # nothing ran, nothing was posted


def test_probes_and_metrics(start_bot: StartBot, make_services: Callable[..., Services]) -> None:
    bot = start_bot(make_services())
    with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as answer:
        assert answer.status == 200
    with urllib.request.urlopen(f"{bot.url}/readyz", timeout=5) as answer:
        assert answer.read() == b"ready\n"
    bot.command("helth")
    bot.slack.wait_for("response_url", timeout=5)
    with urllib.request.urlopen(f"{bot.url}/metrics", timeout=5) as answer:
        metrics = answer.read().decode()
    assert 'cdc_bot_commands_total{outcome="rejected",subcommand="unknown"}' in metrics
