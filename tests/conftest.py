"""Session-scoped real local backends, per TESTING.md, seeded once as the sandbox pipeline.

Tests that need special conditions (a lagging group, a failed connector, a stale table) make
their own resources next to the seeded ones (another group, namespace or table) and point a
pipeline config at them, so tests do not disturb each other.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.handlers
import pytest

from bot.app.server import make_wsgi
from bot.app.wiring import Bot, build_bot, build_services
from bot.clients.kube import KubernetesClient
from bot.core.config import Config
from bot.sandbox.demo import Sandbox
from bot.sandbox.fake_slack import FakeSlackServer
from bot.sandbox.kube_rbac import Authorizer, load_roles
from bot.sandbox.slack_signing import block_actions_body, post_signed, slash_command_body
from bot.services import Services
from bot.slack.client import make_web_client
from tests.local_postgres import LocalPostgres, fresh_schema

os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

ROOT = Path(__file__).resolve().parent.parent


# --- least privilege, proven (deploy/base/role.yaml, deploy/iam-policy.json) --------------------------

# The shipped Role is enforced by the sandbox's fake API server on every request the bot makes.
KUBE_RBAC = Authorizer(load_roles([ROOT / "deploy" / "base" / "role.yaml"]))
# Unused grants are only reported when the whole suite ran (every tests/test_*.py module).
ALL_TEST_MODULES = {path.stem for path in (ROOT / "tests").glob("test_*.py")}

# Every AWS operation the bot's adapter (bot/clients/aws.py) performs, as "service:Operation" -> count.
# botocore registers BUILTIN_HANDLERS on every Session it creates, so this observes each client the
# bot builds without touching it; operations the sandbox or tests perform themselves are not counted.
AWS_OPERATIONS: dict[str, int] = {}
_AWS_ADAPTER = str(ROOT / "bot" / "clients" / "aws.py")


def _record_aws_operation(model: Any = None, **_: Any) -> None:
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename != _AWS_ADAPTER:
        frame = frame.f_back
    if frame is not None and model is not None:
        key = f"{model.service_model.service_name}:{model.name}"
        AWS_OPERATIONS[key] = AWS_OPERATIONS.get(key, 0) + 1


botocore.handlers.BUILTIN_HANDLERS.append(("before-call.*.*", _record_aws_operation))


@pytest.fixture(scope="session", autouse=True)
def _kube_role_follows_config() -> Iterator[None]:
    """Tests name their own objects (kubernetes.* config keys): the Role is checked as an overlay
    would render it for that config, with those names in place of the runbook's."""
    original = KubernetesClient.__init__

    def init(self: KubernetesClient, settings: Any, *args: Any, **kwargs: Any) -> None:
        KUBE_RBAC.follow_config(settings)
        original(self, settings, *args, **kwargs)

    KubernetesClient.__init__ = init  # type: ignore[method-assign]
    yield
    KubernetesClient.__init__ = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _enforce_kube_role(request: pytest.FixtureRequest) -> None:
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").kube.rbac = KUBE_RBAC


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.test_iam_policy import policy_gaps

    ran = {Path(str(item.fspath)).stem for item in session.items}
    whole_suite = ran >= ALL_TEST_MODULES and exitstatus == 0
    problems = [f"Kubernetes request outside deploy/base/role.yaml: {d}" for d in KUBE_RBAC.denied]
    not_allowed, unused = policy_gaps(AWS_OPERATIONS)
    problems += [f"AWS operation deploy/iam-policy.json does not allow: {a}" for a in not_allowed]
    if whole_suite:
        problems += [f"deploy/base/role.yaml grants what no request used: {u}" for u in KUBE_RBAC.unused_grants()]
        problems += [f"deploy/iam-policy.json allows what no operation used: {a}" for a in unused]
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.section("least privilege")
            for line in problems:
                reporter.line(line, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Threads the bot starts (sweepers, the scheduler, leader loops, worker pools, claim renewals).
BOT_THREAD_PREFIXES = ("cdc-", "leader-", "APScheduler")
# How long a test's leftover threads get to finish after its teardown before they count as leaked.
THREAD_GRACE_SECONDS = 5.0


def _leftover(thread: threading.Thread) -> bool:
    return thread.is_alive() and (not thread.daemon or thread.name.startswith(BOT_THREAD_PREFIXES))


@pytest.fixture(autouse=True)
def no_threads_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves a bot thread or a non-daemon thread running after its teardown.

    Autouse, so it is set up before and torn down after the test's other function fixtures; threads
    of session fixtures started during the test (the sandbox's servers) are daemons with other names.
    """
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_GRACE_SECONDS
    leaked = [t for t in threading.enumerate() if t not in before and _leftover(t)]
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = [t for t in leaked if _leftover(t)]
    if leaked:
        names = ", ".join(sorted(f"{t.name}{'' if t.daemon else ' (non-daemon)'}" for t in leaked))
        pytest.fail(f"{request.node.nodeid} left threads running: {names}", pytrace=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """PostgreSQL for the state store's multi-replica tests, started by the suite (no system server needed)."""
    server = LocalPostgres(database="state").start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(postgres: LocalPostgres) -> Iterator[str]:
    """A state store URL on that PostgreSQL in a schema of this test's own, dropped with its rows afterwards."""
    with fresh_schema(postgres.url) as url:
        yield url


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    box = Sandbox(workdir=tmp_path_factory.mktemp("sandbox"))
    box.start()
    yield box
    box.stop()


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


@pytest.fixture
def make_config(sandbox: Sandbox) -> Callable[..., Config]:
    """A validated Config for the sandbox, with pipeline fields overridden (deep-merged)."""

    def build(pipeline: dict[str, Any] | None = None, **top: Any) -> Config:
        data = sandbox.config()
        data["pipelines"] = [_merge(sandbox.pipeline_config(), pipeline or {})]
        data.update(top)
        return Config.model_validate(data)

    return build


@pytest.fixture
def make_services(make_config: Callable[..., Config], tmp_path: Any) -> Callable[..., Services]:
    def build(pipeline: dict[str, Any] | None = None, **top: Any) -> Services:
        return build_services(make_config(pipeline, **top), database_url=f"sqlite:///{tmp_path}/state.db")

    return build


@pytest.fixture
def slack() -> Iterator[FakeSlackServer]:
    with FakeSlackServer(user_groups={"S0ONCALL": ["U0ONCALL1", "U0ONCALL2"]}) as server:
        yield server


SIGNING_SECRET = "test-signing-secret"


@dataclass
class BotServer:
    """The bot's real HTTP stack (waitress + bolt + probes) on a loopback port, talking to a fake Slack."""

    url: str
    services: Services
    slack: FakeSlackServer
    # What the wiring built for this bot (its one ApprovalService, sweepers, scheduler runtime).
    wired: Bot | None = None

    def command(self, text: str, user_id: str = "U0OPERATOR", channel_id: str = "C0OPS") -> tuple[int, bytes]:
        body = slash_command_body(
            "/cdc", text, user_id=user_id, channel_id=channel_id, response_url=self.slack.response_url()
        )
        status, _headers, payload = post_signed(f"{self.url}/slack/events", body, SIGNING_SECRET)
        return status, payload

    def press(
        self,
        action_id: str,
        value: str,
        user_id: str,
        message_ts: str,
        channel_id: str = "C0OPS",
        message: dict[str, Any] | None = None,
    ) -> tuple[int, bytes]:
        body = block_actions_body(
            action_id,
            value,
            user_id=user_id,
            channel_id=channel_id,
            message_ts=message_ts,
            response_url=self.slack.response_url(),
            message=message,
        )
        status, _headers, payload = post_signed(f"{self.url}/slack/events", body, SIGNING_SECRET)
        return status, payload


def _serve_until_closed(server: Any) -> None:
    # Closing the server from the test thread ends its select loop with EBADF: that is the stop.
    with contextlib.suppress(OSError):
        server.run()


@pytest.fixture
def start_bot(slack: FakeSlackServer) -> Iterator[Callable[[Services], BotServer]]:
    servers: list[Any] = []
    bots: list[Bot] = []

    def start(services: Services) -> BotServer:
        from waitress.server import create_server

        client = make_web_client(token=slack.bot_token, base_url=slack.api_url)
        wired = build_bot(services, client=client, signing_secret=SIGNING_SECRET).start(scheduler=False)
        server = create_server(make_wsgi(services, wired.app), host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=_serve_until_closed, args=(server,), daemon=True).start()
        servers.append(server)
        bots.append(wired)
        return BotServer(f"http://127.0.0.1:{server.effective_port}", services, slack, wired)

    yield start
    for server in servers:
        server.close()
    for bot in bots:
        bot.close()
