"""The composition root: one ApprovalService, no thread before start, listeners independent of order."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.actions.service import ApprovalService
from bot.app.bolt import new_bolt_app
from bot.app.wiring import Bot, build_bot
from bot.core.access import AccessPolicy
from bot.incidents.flows import IncidentFlows
from bot.incidents.publisher import PublishError
from bot.incidents.service import IncidentError, IncidentRecord
from bot.incidents.severity import Severity
from bot.sandbox.fake_slack import FakeSlackServer
from bot.sandbox.slack_signing import block_actions_body, sign, slash_command_body
from bot.services import Services
from bot.slack.client import make_web_client
from commands import INTERACTION_FAMILIES, SUBCOMMAND_FAMILIES, register_all
from commands.router import CdcRouter
from scheduler.jobs import expire_approvals_job, register_runtime, unregister_runtime
from tests.conftest import BotServer

SECRET = "wiring-secret"
STRANGER = "U0STRANGER"


def _bot(services: Services, slack: FakeSlackServer, **kwargs: Any) -> Bot:
    return build_bot(
        services, make_web_client(token=slack.bot_token, base_url=slack.api_url), signing_secret=SECRET, **kwargs
    )


def _dispatch(app: App, body: str) -> int:
    headers = {k.lower(): [v] for k, v in sign(SECRET, body).items()}
    return app.dispatch(BoltRequest(body=body, headers=headers)).status


def test_building_the_bot_starts_no_thread_until_started(
    make_services: Callable[..., Services], slack: FakeSlackServer
) -> None:
    services = make_services()
    before = set(threading.enumerate())
    bot = _bot(services, slack)
    try:
        assert [t.name for t in threading.enumerate() if t not in before] == []
        bot.start(scheduler=True)
        started = {t.name for t in threading.enumerate() if t not in before}
        assert "cdc-workflow-sweeper" in started
        assert any(name.startswith("leader-") for name in started)
        bot.start(scheduler=True)  # idempotent: no second sweeper
        names = [t.name for t in threading.enumerate() if t not in before]
        assert names.count("cdc-workflow-sweeper") == 1
        # Let the start-up catch-up jobs finish before stopping the scheduler under them.
        deadline = time.monotonic() + 15
        while any(j.id.startswith("catch-up:") for j in bot.scheduler.get_jobs()) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        bot.close()


def test_one_approval_service_serves_the_buttons_and_the_scheduler_sweep(
    make_services: Callable[..., Services], slack: FakeSlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[ApprovalService] = []
    used_by: dict[str, list[ApprovalService]] = {"deny": [], "expire_due": []}
    init, deny, expire_due = ApprovalService.__init__, ApprovalService.deny, ApprovalService.expire_due

    def counting_init(self: ApprovalService, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        init(self, *args, **kwargs)

    def spying_deny(self: ApprovalService, *args: Any, **kwargs: Any) -> Any:
        used_by["deny"].append(self)
        return deny(self, *args, **kwargs)

    def spying_expire_due(self: ApprovalService, *args: Any, **kwargs: Any) -> int:
        used_by["expire_due"].append(self)
        return expire_due(self, *args, **kwargs)

    monkeypatch.setattr(ApprovalService, "__init__", counting_init)
    monkeypatch.setattr(ApprovalService, "deny", spying_deny)
    monkeypatch.setattr(ApprovalService, "expire_due", spying_expire_due)
    bot = _bot(make_services(), slack, lease="test-wiring-one-approval-service")
    try:
        assert built == [bot.approvals]
        # A Deny press (of a request this bot never made) is decided by that one service...
        body = block_actions_body("approval_deny", "not-an-id", STRANGER, "C0OPS", "1.1", slack.response_url())
        assert _dispatch(bot.app, body) == 200
        assert "unknown" in slack.wait_for("response_url")[0].args["text"]
        # ...and so is the scheduler's expiry sweep.
        register_runtime("test-wiring-one-approval-service", bot.scheduler.runtime)
        try:
            assert expire_approvals_job("test-wiring-one-approval-service") == 0
        finally:
            unregister_runtime("test-wiring-one-approval-service", bot.scheduler.runtime)
        assert used_by == {"deny": [bot.approvals], "expire_due": [bot.approvals]}
    finally:
        bot.close()


def _register_reversed(app: App, bot: Bot) -> CdcRouter:
    router = CdcRouter(services=bot.services, access=bot.access)
    for family in reversed(SUBCOMMAND_FAMILIES):
        family.register(router, bot.deps)
    router.register(app)
    for module in reversed(INTERACTION_FAMILIES):
        module.register_interactions(app, bot.deps)
    return router


def _table(router: CdcRouter) -> dict[str, tuple[str, str, str, str]]:
    return {
        name: (sub.summary, sub.usage, sub.required_role([]).value, sub.required_role(["ensure"]).value)
        for name, sub in router.subcommands.items()
    }


def test_registering_twice_or_in_another_order_behaves_the_same(
    make_services: Callable[..., Services], slack: FakeSlackServer
) -> None:
    bot = _bot(make_services(), slack)
    try:
        once, twice, reordered = bot.app, new_bolt_app(bot.app.client, SECRET), new_bolt_app(bot.app.client, SECRET)
        first = register_all(twice, bot.deps)
        assert _table(register_all(twice, bot.deps)) == _table(first)
        assert _table(_register_reversed(reordered, bot)) == _table(first)
        # `/cdc alarms` is one subcommand: anyone reads, only operators `ensure`.
        assert _table(first)["alarms"][2:] == ("anyone", "operator")

        requests = [
            lambda: slash_command_body("/cdc", "alarms ensure", STRANGER, response_url=slack.response_url()),
            lambda: slash_command_body("/cdc", "incident frobnicate", STRANGER, response_url=slack.response_url()),
            lambda: block_actions_body("approval_approve", "nope", STRANGER, "C0OPS", "1.1", slack.response_url()),
            lambda: block_actions_body("workflow_abort", "nope", STRANGER, "C0OPS", "1.1", slack.response_url()),
            lambda: block_actions_body("incident_snapshot", "999999", STRANGER, "C0OPS", "1.1", slack.response_url()),
        ]
        answers: list[list[str]] = []
        for app in (once, twice, reordered):
            slack.clear()
            for make_body in requests:
                assert _dispatch(app, make_body()) == 200
            replies = slack.wait_for("response_url", count=len(requests))
            # The incident reply comes from the background pool, so arrival order is not the request order.
            args = [{k: v for k, v in call.args.items() if k != "url_id"} for call in replies]
            answers.append(sorted(json.dumps(a, sort_keys=True) for a in args))
        assert answers[0] == answers[1] == answers[2]
        everything = "".join(answers[0])
        assert "operator" in everything.lower() and "`frobnicate` is not an incident command" in everything
    finally:
        bot.close()


def test_schedule_command_reads_the_scheduler_through_the_wiring(
    start_bot: Callable[[Services], BotServer], make_services: Callable[..., Services]
) -> None:
    bot = start_bot(make_services())
    assert bot.command("schedule")[0] == 200
    text = json.dumps(bot.slack.wait_for("response_url", timeout=10)[0].args)
    assert "morning report" in text and "No replica has led the scheduler yet" in text


class _RefusingPublisher:
    """An IncidentPublisher whose chat refuses every root message (the bot is in no channel)."""

    def __init__(self) -> None:
        self.tried: list[str] = []

    def post_root(self, incident: IncidentRecord, channel: str) -> tuple[str, str]:
        self.tried.append(channel)
        raise PublishError("not_in_channel")

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"nothing else is published when the root cannot be: {name}")


def test_incident_flows_declare_without_slack_closes_an_incident_nobody_can_see(
    make_services: Callable[..., Services],
) -> None:
    services = make_services()
    publisher = _RefusingPublisher()
    flows = IncidentFlows(services, publisher, approvals=None, access=AccessPolicy(services.config.access))  # type: ignore[arg-type]
    with pytest.raises(IncidentError, match="Could not post"):
        flows.declare(pipeline=None, severity=Severity.SEV3, title="lag", commander="U0OPERATOR", origin_channel="C0X")
    assert publisher.tried == [services.config.slack.ops_channel, "C0X"]
    assert flows.incidents.open_incidents() == []
