"""Incidents end to end: signed requests into the bot's HTTP endpoint, the real client libraries against
the session's local backends, what Slack would show read back from the fake Web API.

Every test builds its own pipeline next to the seeded one: a namespace of its own in the fake
Kubernetes (with runbook names inside it: a `pii-masking` deployment, Strimzi Connect pods, an
`oracle-cdc-connector` with a FAILED task), its own topic and lagging consumer group, its own
CloudWatch alarm. The seeded `kafka` namespace, group, tables and alarms are only ever read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clients.base import SampledMessage
from bot.core.redaction import REDACTED, redact, redact_text
from bot.incidents.diff import diff_snapshots
from bot.incidents.service import IncidentService, parse_ref
from bot.incidents.severity import Severity
from bot.incidents.verify import shape
from bot.sandbox.demo import (
    CONNECT_CLUSTER,
    CONNECTOR,
    STREAMS,
    Sandbox,
    aws_session,
    commit_offsets,
    connect_pod,
    connector_status,
    seed_kafka,
)
from bot.sandbox.fake_slack import FakeSlackServer, RecordedCall
from bot.sandbox.slack_signing import post_signed, view_submission_body
from bot.services import Services
from tests.conftest import SIGNING_SECRET, BotServer

OPERATOR, APPROVER, STRANGER = "U0OPERATOR", "U0APPROVER", "U0STRANGER"
CHANNEL = "C0OPS"
FAST = {"timeout": "3s", "poll_interval": "0.02s", "progress_interval": "0s"}
SECRET = "Sup3rS3cret!"
SEEDED_TOKEN = "xoxb-4242-9999-SeededSecretToken"
CONNECT_POD = f"{CONNECT_CLUSTER}-connect-0"
TRACE = (
    "org.apache.kafka.connect.errors.ConnectException: ORA-01017: invalid username/password; logon denied "
    f"(user=debezium password={SECRET})\n"
    "\tat io.debezium.connector.oracle.OracleConnectorTask.start(OracleConnectorTask.java:79)\n"
    "\tat org.apache.kafka.connect.runtime.WorkerSourceTask.initializeAndStart(WorkerSourceTask.java:225)"
)

StartBot = Callable[[Services], BotServer]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- the test's own pipeline ----------------------------------------------------------------------------------


@dataclass
class World:
    sandbox: Sandbox
    namespace: str
    topic: str
    group: str
    alarm: str
    env_secret: str

    @property
    def bootstrap(self) -> str:
        return self.sandbox.kafka.bootstrap_servers

    def connector(self, state: str, tasks: list[str]) -> None:
        self.sandbox.kube.put(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaConnector",
                "metadata": {
                    "name": CONNECTOR,
                    "namespace": self.namespace,
                    "labels": {"strimzi.io/cluster": CONNECT_CLUSTER},
                },
                "spec": {
                    "class": "io.debezium.connector.oracle.OracleConnector",
                    "tasksMax": 1,
                    "state": "running",
                    "config": {
                        "database.hostname": "oracle.example.internal",
                        "database.user": "debezium",
                        "database.password": SECRET,
                        "database.url": f"jdbc:oracle:thin:debezium/{SECRET}@oracle.example.internal:1521/ORCL",
                        "topic.prefix": "oracle",
                    },
                },
                "status": connector_status(state, tasks, trace=TRACE),
            }
        )

    def connect_pod(self, ready: bool, restarts: int) -> None:
        reason = None if ready else "CrashLoopBackOff"
        self.sandbox.kube.put(connect_pod(self.namespace, 0, ready=ready, waiting_reason=reason, restarts=restarts))

    def set_alarm(self, state: str) -> None:
        aws_session(self.sandbox.aws.endpoint_url)("cloudwatch").set_alarm_state(
            AlarmName=self.alarm, StateValue=state, StateReason=f"test sets {state}"
        )

    def pipeline(self) -> dict[str, Any]:
        return {
            "kubernetes": {"namespace": self.namespace},
            "consumer_groups": [self.group],
            "topics": ["oracle.inventory.customers", self.topic],
            "thresholds": {"lag_warn": 10, "lag_crit": 100},
            "alarms": [self.alarm],
        }


@pytest.fixture
def world(sandbox: Sandbox) -> World:
    """A SEV1-looking pipeline: a FAILED connector task, a crash-looping Connect pod, a group 240 behind."""
    kube = sandbox.kube
    w = World(
        sandbox=sandbox,
        namespace=unique("incident"),
        topic=unique("incident.inventory.orders"),
        group=unique("incident-masking-app"),
        alarm=unique("CDC-HighConsumerLag-incident"),
        env_secret="EnvOnly-" + uuid.uuid4().hex,
    )
    kube.put(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": STREAMS,
                "namespace": w.namespace,
                "labels": {"app": STREAMS},
                # kubectl apply keeps the whole spec here, env values included: it must never be shown.
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"env": w.env_secret}),
                    "team": "cdc",
                },
            },
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": STREAMS}},
                "template": {
                    "metadata": {"labels": {"app": STREAMS}},
                    "spec": {
                        "containers": [
                            {
                                "name": STREAMS,
                                "image": "example/pii-masking:1.4.2",
                                "env": [
                                    {"name": "KAFKA_BATCH_SIZE", "value": "16384"},
                                    {"name": "DB_PASSWORD", "value": w.env_secret},
                                    {"name": "ALERT_HOOK", "value": SEEDED_TOKEN},
                                    {
                                        "name": "MASKING_SALT",
                                        "valueFrom": {"secretKeyRef": {"name": "salt", "key": "v"}},
                                    },
                                ],
                            }
                        ]
                    },
                },
            },
        }
    )
    w.connect_pod(ready=False, restarts=4)
    kube.set_pod_log(
        w.namespace,
        CONNECT_POD,
        "INFO Starting Debezium Oracle connector\n"
        f"ERROR Connection refused: jdbc url with password={SECRET} rejected\n"
        f"WARN notifying Slack with token {SEEDED_TOKEN}\n"
        "ERROR Task threw an uncaught and unrecoverable exception\n",
    )
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{CONNECT_CLUSTER}-connect-api", "namespace": w.namespace},
            "spec": {
                "ports": [{"port": 8083, "name": "rest-api"}],
                "selector": {"strimzi.io/cluster": CONNECT_CLUSTER},
            },
        }
    )
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": unique("backoff"), "namespace": w.namespace},
            "type": "Warning",
            "reason": "BackOff",
            "message": "Back-off restarting failed container",
            "involvedObject": {"kind": "Pod", "name": CONNECT_POD, "namespace": w.namespace},
            "lastTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "count": 7,
        }
    )
    # A Secret in the namespace: a snapshot must not read it.
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "debezium-credentials", "namespace": w.namespace},
            "stringData": {"password": SECRET},
        }
    )
    w.connector("RUNNING", ["FAILED"])
    seed_kafka(w.bootstrap, {w.topic: 300}, group=w.group, lag_per_partition={w.topic: 80})
    cloudwatch = aws_session(sandbox.aws.endpoint_url)("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=w.alarm,
        MetricName="ConsumerLag",
        Namespace="CustomMetrics/CDC",
        Statistic="Maximum",
        Period=300,
        Threshold=100.0,
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
    )
    w.set_alarm("ALARM")
    return w


@pytest.fixture
def incident_services(make_services: Callable[..., Services], world: World) -> Callable[..., Services]:
    def build(**top: Any) -> Services:
        slack = {"ops_channel": CHANNEL, "alerts_channel": "#cdc-pipeline-alerts", "timezone": "Asia/Singapore"}
        return make_services(world.pipeline(), slack=slack, actions=FAST, **top)

    return build


# --- reading what Slack saw ------------------------------------------------------------------------------------


@dataclass
class Thread:
    bot: BotServer

    @property
    def slack(self) -> FakeSlackServer:
        return self.bot.slack

    def declare(self, text: str = 'sev1 "no data flowing"', user: str = OPERATOR) -> tuple[int, str]:
        uploads = len(self.slack.calls_to("files.completeUploadExternal"))
        status, body = self.bot.command(f"incident declare {text}", user_id=user)
        assert status == 200 and b"Declaring" in body
        self.wait_uploads(uploads + 1)
        root = self.roots()[-1]
        value = next(e["value"] for b in root["blocks"] if b["type"] == "actions" for e in b["elements"])
        return int(value), root["ts"]

    def wait_uploads(self, count: int) -> None:
        self.slack.wait_for("files.completeUploadExternal", count=count, timeout=20)

    def roots(self) -> list[dict[str, Any]]:
        top_level = [m for m in self._messages() if m.get("thread_ts", m["ts"]) == m["ts"]]
        return [m for m in top_level if "INC-" in m["text"]]

    def _messages(self) -> list[dict[str, Any]]:
        with self.slack._cond:
            messages = [json.loads(json.dumps(m)) for (c, _), m in self.slack.messages.items() if c == CHANNEL]
        return sorted(messages, key=lambda m: float(m["ts"]))

    def replies(self, root_ts: str) -> list[dict[str, Any]]:
        return [m for m in self._messages() if m.get("thread_ts") == root_ts and m["ts"] != root_ts]

    def wait_reply(self, root_ts: str, needle: str, count: int = 1, timeout: float = 15) -> dict[str, Any]:
        def has(call: RecordedCall) -> bool:
            return call.args.get("thread_ts") == root_ts and needle in json.dumps(
                call.args.get("blocks"), ensure_ascii=False
            )

        self.slack.wait_for("chat.postMessage", count=count, predicate=has, timeout=timeout)
        return [m for m in self.replies(root_ts) if needle in text(m)][count - 1]

    def private(self, count: int) -> list[str]:
        return [json.dumps(c.args) for c in self.slack.wait_for("response_url", count=count, timeout=15)]

    def files(self, root_ts: str) -> list[dict[str, Any]]:
        return [f for f in self.slack.uploaded_files if f["thread_ts"] == root_ts]

    def step_button(self, root_ts: str, key: str) -> tuple[str, str]:
        for message in self.replies(root_ts):
            for block in message.get("blocks") or []:
                for element in block.get("elements") or []:
                    if element.get("action_id") == f"incident_step_{key}":
                        return element["value"], message["ts"]
        raise AssertionError(f"no checklist button {key} in the thread")

    def press_step(self, root_ts: str, key: str, user: str = OPERATOR) -> None:
        value, ts = self.step_button(root_ts, key)
        assert self.bot.press(f"incident_step_{key}", value, user, ts)[0] == 200


def text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or message.get("text"), ensure_ascii=False)


def everything_slack_saw(slack: FakeSlackServer) -> str:
    files = [f["content"].decode("utf-8", "replace") + f["filename"] + f["title"] for f in slack.uploaded_files]
    return json.dumps([c.args for c in slack.calls], ensure_ascii=False, default=str) + "\n".join(files)


def wait_until(probe: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


# --- declaring --------------------------------------------------------------------------------------------------


def test_sev1_declared_names_the_failed_task_and_the_lagging_group_and_uploads_the_snapshot(
    world: World, incident_services: Callable[..., Services], start_bot: StartBot
) -> None:
    bot = start_bot(incident_services())
    thread = Thread(bot)
    incident_id, root_ts = thread.declare('sev1 "no data flowing" sandbox')

    root = next(m for m in thread.roots() if m["ts"] == root_ts)
    shown = text(root)
    for expected in (
        f"INC-{incident_id}",
        "SEV1",
        "no data flowing",
        "Complete pipeline failure",
        "<@U0OPERATOR>",
        "Open",
        "`sandbox`",
    ):
        assert expected in shown, expected
    assert [e["action_id"] for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]] == [
        "incident_snapshot",
        "incident_timeline",
        "incident_escalate",
        "incident_resolve",
    ]

    checklist = thread.wait_reply(root_ts, "SEV1 checklist")
    for step in (
        "Acknowledge the incident",
        "incident bridge",
        "Run diagnostics",
        "Identify the root cause",
        "Apply quick fixes",
        "Verify data flow",
    ):
        assert step in text(checklist), step
    assert thread.step_button(root_ts, "restart-streams") and thread.step_button(root_ts, "verify")

    summary = thread.wait_reply(root_ts, "Snapshot #1")
    wrong = text(summary)
    assert "CRIT" in wrong
    assert "task 0 FAILED" in wrong and "ORA-01017" in wrong
    assert f"{world.group}: 240 behind (crit &gt; 100)" in wrong
    # Worst first: every CRIT line before any WARN one.
    rank = {"red_circle": 3, "white_circle": 2, "large_yellow_circle": 1}
    order = [rank[e] for e in re.findall(r":(red_circle|white_circle|large_yellow_circle):", wrong)]
    assert order[0] == 3 and order == sorted(order, reverse=True) and "more findings" in wrong

    txt, js = sorted(thread.files(root_ts), key=lambda f: f["filename"].endswith(".json"))
    assert txt["filename"].startswith(f"INC-{incident_id}-snapshot-1-") and txt["filename"].endswith(".txt")
    content = txt["content"].decode()
    assert f"kubectl get all -n {world.namespace}" in content
    assert f"pod/{CONNECT_POD}" in content and "CrashLoopBackOff" in content
    assert f"deployment.apps/{STREAMS}" in content and f"service/{CONNECT_CLUSTER}-connect-api" in content
    assert "OracleConnectorTask.start(OracleConnectorTask.java:79)" in content  # the whole trace, not its first line
    assert "Task threw an uncaught and unrecoverable exception" in content  # the failing pod's log tail
    assert (
        "BackOff" in content and "aws kafka describe-cluster" in content and "oracle-cdc-pipeline-demo-msk" in content
    )
    for partition in range(3):
        assert any(
            line.split()[:3] == [world.group, world.topic, str(partition)] and line.split()[-1] == "80"
            for line in content.splitlines()
        ), partition
    assert world.alarm in content and "ALARM" in content
    document = json.loads(js["content"])
    assert {p["name"] for p in document["kubernetes"]["pods"]} >= {CONNECT_POD}
    assert document["kubernetes"]["connector"]["tasks"][0]["state"] == "FAILED"
    lag = next(c for c in document["health"]["checks"] if c["name"] == "consumer_lag")
    assert [p["lag"] for p in lag["details"]["groups"][world.group]["partitions"]] == [80, 80, 80]
    assert document["kubernetes"]["connector"]["config"]["database.password"] == REDACTED
    assert "Secret" not in json.dumps(document["kubernetes"])  # never listed, never read
    assert not [p for m, p in world.sandbox.kube.requests if "/secrets" in p and world.namespace in p]

    stored = IncidentService(bot.services).events(incident_id)
    assert [e.kind for e in stored] == ["declared", "snapshot"]
    assert stored[1].data["snapshot"] == document  # the redacted JSON is what the timeline keeps


def test_no_secret_or_customer_data_reaches_slack_files_or_logs(
    world: World,
    incident_services: Callable[..., Services],
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    services = incident_services()
    # What the verify step will sample: the latest customers (the raw topic carries e-mail and phone).
    customers = services.clients(services.config.pipeline()).kafka.sample_messages("oracle.inventory.customers", 10)
    pii = [v for m in customers for k, v in json.loads(m.value or b"{}")["after"].items() if k in ("EMAIL", "PHONE")]
    assert len(pii) == 20
    bot = start_bot(services)
    thread = Thread(bot)
    incident_id, root_ts = thread.declare('sev1 "no data flowing"')
    thread.wait_reply(root_ts, "SEV1 checklist")

    thread.press_step(root_ts, "verify")
    verify = thread.wait_reply(root_ts, "Data flow on oracle.inventory.customers")
    shown = text(verify)
    assert "ID,FIRST_NAME,LAST_NAME,EMAIL,PHONE" in shown and "create" in shown
    assert str(customers[0].offset) in shown
    thread.press_step(root_ts, "connector")
    thread.wait_reply(root_ts, "Debezium connector on sandbox")
    thread.press_step(root_ts, "health")
    thread.wait_reply(root_ts, f"INC-{incident_id}: pipeline sandbox")
    bot.command("verify oracle.inventory.customers 5 sandbox", user_id=STRANGER)
    bot.slack.wait_for("chat.postMessage", predicate=lambda c: "5 latest messages" in json.dumps(c.args), timeout=10)
    bot.command(f"incident note rotated the key, old one was password={SECRET} and {SEEDED_TOKEN}")
    note = thread.wait_reply(root_ts, "rotated the key")
    assert REDACTED in text(note)
    bot.press("incident_escalate", str(incident_id), OPERATOR, root_ts)
    escalation = thread.wait_reply(root_ts, "Escalation path")
    assert "ops-team@company.com" in text(escalation) and "architecture-team@company.com" in text(escalation)
    bot.command("incident timeline")
    timeline = thread.wait_reply(root_ts, "timeline")
    assert "escalated" in text(timeline) and "verify data flow" in text(timeline)
    thread.wait_uploads(1)
    time.sleep(0.3)  # let the last background posts land before reading the logs

    seen = everything_slack_saw(bot.slack)
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "DEBUG" in logged and "chat.postMessage" in logged  # DEBUG logging was on: absence below means something
    secrets = [SECRET, base64.b64encode(SECRET.encode()).decode(), SEEDED_TOKEN, world.env_secret]
    for secret in secrets:
        assert secret not in seen, secret
        assert secret not in logged, secret
    for value in pii:
        assert value not in seen, value
        assert value not in logged, value
    # No key material (the customers topic's keys are customer ids): not even a hash, only a length.
    assert not any(hashlib.sha256(m.key or b"").hexdigest()[:12] in shown for m in customers)
    assert f"{len(customers[0].key or b'')}-byte key" in shown
    stored = json.dumps([e.data for e in IncidentService(services).events(incident_id)], default=str)
    for secret in secrets:
        assert secret not in stored


# --- following the incident -----------------------------------------------------------------------------------


def test_second_snapshot_reports_what_changed_and_resolve_lists_the_actions(
    world: World, incident_services: Callable[..., Services], start_bot: StartBot
) -> None:
    bot = start_bot(incident_services())
    thread = Thread(bot)
    incident_id, root_ts = thread.declare('sev1 "no data flowing"')
    thread.wait_reply(root_ts, "Snapshot #1")

    bot.command("incident severity sev2")
    thread.wait_reply(root_ts, "SEV1 → SEV2")
    thread.wait_reply(root_ts, "SEV2 checklist")
    wait_until(lambda: "SEV2" in bot.slack.message(CHANNEL, root_ts)["blocks"][0]["text"]["text"])  # type: ignore[index]

    # From the checklist: scale pii-masking to 5 (asks for approval in the thread), approved by someone else.
    thread.press_step(root_ts, "scale-streams", user=OPERATOR)
    request = thread.wait_reply(root_ts, "Approval needed")
    approval_id = next(
        e["value"]
        for b in request["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "approval_approve"
    )
    assert "2 → 5 replicas" in text(request)
    assert bot.press("approval_approve", approval_id, APPROVER, request["ts"])[0] == 200
    wait_until(lambda: bot.services.store.approvals.get(approval_id).state == "succeeded")  # type: ignore[union-attr]

    # The world moves: the task recovers, the Connect pod comes back, the group catches up, the alarm clears.
    world.connector("RUNNING", ["RUNNING"])
    world.connect_pod(ready=True, restarts=5)
    commit_offsets(world.bootstrap, world.group, {(world.topic, p): 100 for p in range(3)})
    world.set_alarm("OK")
    bot.command("incident snapshot")
    second = text(thread.wait_reply(root_ts, "Snapshot #2", timeout=20))
    assert "Since snapshot #1" in second
    for change in (
        "task 0: FAILED → RUNNING",
        f"pod {CONNECT_POD} became Ready",
        "restarts 4 → 5",
        f"deployment {STREAMS}: 2/2 → 5/5 ready",
        f"lag {world.group} down 240: 240 → 0 behind",
        f"alarm {world.alarm}: ALARM → OK",
        "check connector: CRIT → OK",
    ):
        assert change in second, change
    assert "appeared" in second  # the new pii-masking pods
    thread.wait_uploads(2)

    bot.command("incident resolve task restarted after the password fix")
    closing = text(thread.wait_reply(root_ts, "resolved after"))
    assert "scale-streams 5 succeeded" in closing and "<@U0APPROVER>" in closing and "<@U0OPERATOR>" in closing
    assert (
        "SEV1 → SEV2" in closing and "Snapshots (2)" in closing and "task restarted after the password fix" in closing
    )
    wait_until(lambda: "Resolved" in text(bot.slack.message(CHANNEL, root_ts) or {}))
    final_root = text(bot.slack.message(CHANNEL, root_ts) or {})
    assert "incident_resolve" not in final_root and "incident_timeline" in final_root
    bot.command("incident snapshot")
    assert "no open incident" in thread.private(2)[-1]  # the first private answer was the declaration notice

    incident = IncidentService(bot.services).require(incident_id)
    assert incident.status.value == "resolved" and incident.severity is Severity.SEV2


def test_declare_modal_opens_and_its_submission_declares(
    world: World, incident_services: Callable[..., Services], start_bot: StartBot
) -> None:
    bot = start_bot(incident_services())
    assert bot.command("incident declare")[0] == 200
    opened = bot.slack.wait_for("views.open", timeout=10)[0]
    assert opened.args["trigger_id"] == "T.1"
    view = opened.args["view"]
    assert view["callback_id"] == "incident_declare" and view["type"] == "modal"
    severity = next(b for b in view["blocks"] if b["block_id"] == "severity")["element"]["options"]
    assert [(o["value"], o["description"]["text"]) for o in severity][:2] == [
        ("SEV1", "Complete pipeline failure, no data flowing"),
        ("SEV2", "Partial failure, degraded performance"),
    ]

    def submit(user: str, values: dict[str, Any]) -> tuple[int, bytes]:
        body = view_submission_body("incident_declare", values, user, private_metadata=view["private_metadata"])
        status, _headers, payload = post_signed(f"{bot.url}/slack/events", body, SIGNING_SECRET)
        return status, payload

    values = {
        "severity": {"severity": {"type": "static_select", "selected_option": {"value": "SEV2"}}},
        "title": {"title": {"type": "plain_text_input", "value": "lag above 100k"}},
        "pipeline": {"pipeline": {"type": "static_select", "selected_option": {"value": "sandbox"}}},
        "affected": {"affected": {"type": "plain_text_input", "value": "staging.orders_stream reports"}},
    }
    status, payload = submit(STRANGER, values)
    assert status == 200 and json.loads(payload)["response_action"] == "errors"
    status, payload = submit(OPERATOR, {**values, "title": {"title": {"type": "plain_text_input", "value": " "}}})
    assert json.loads(payload)["errors"] == {"title": "Say what is wrong in a few words."}
    assert submit(OPERATOR, values)[0] == 200

    bot.slack.wait_for("files.completeUploadExternal", timeout=20)
    (incident,) = IncidentService(bot.services).open_incidents()
    assert (incident.severity, incident.title, incident.commander) == (Severity.SEV2, "lag above 100k", OPERATOR)
    assert incident.affected == "staging.orders_stream reports" and incident.channel == CHANNEL
    root = bot.slack.message(CHANNEL, str(incident.thread_ts))
    assert root is not None and "SEV2" in text(root) and "staging.orders_stream reports" in text(root)
    Thread(bot).wait_reply(str(incident.thread_ts), "SEV2 checklist")


def test_an_incident_and_its_timeline_survive_a_restart(
    world: World, incident_services: Callable[..., Services], start_bot: StartBot
) -> None:
    first = start_bot(incident_services())
    thread = Thread(first)
    incident_id, root_ts = thread.declare('sev3 "alarm fired overnight"')
    first.command("incident note checked the dashboard")
    thread.wait_reply(root_ts, "checked the dashboard")
    first.press("incident_escalate", str(incident_id), OPERATOR, root_ts)
    thread.wait_reply(root_ts, "Escalation path")

    # A new process: new Services, new bot, the same SQLite file.
    again = incident_services()
    assert again is not first.services and again.store.url == first.services.store.url
    restored = IncidentService(again).require(incident_id)
    assert restored.is_open and restored.thread_ts == root_ts and restored.severity is Severity.SEV3
    assert [e.kind for e in IncidentService(again).events(incident_id)] == ["declared", "snapshot", "note", "escalated"]
    second = start_bot(again)
    second.command("incident timeline")
    timeline = text(Thread(second).wait_reply(root_ts, "timeline"))
    for entry in ("declared SEV3: alarm fired overnight", "snapshot #1", "checked the dashboard", "escalated"):
        assert entry in timeline, entry
    second.press("incident_snapshot", str(incident_id), OPERATOR, root_ts)
    assert "Since snapshot #1" in text(Thread(second).wait_reply(root_ts, "Snapshot #2", timeout=20))


def test_commands_find_their_incident_or_ask_which(
    world: World, incident_services: Callable[..., Services], start_bot: StartBot
) -> None:
    bot = start_bot(incident_services())
    thread = Thread(bot)
    status, ack = bot.command('incident declare sev1 "blocked"', user_id=STRANGER)
    assert status == 200 and b"Declaring" not in ack  # refused before the ack, not after
    assert "Only operators" in thread.private(1)[0]
    first_id, first_ts = thread.declare('sev4 "informational only"')
    second_id, second_ts = thread.declare("sev2 lag growing on orders")  # an unquoted title works too
    assert IncidentService(bot.services).require(second_id).title == "lag growing on orders"

    bot.command("incident note which one is this for?")
    choice = thread.private(4)[-1]  # 1 denial, 2 declaration notices, then this
    assert "Several incidents are open" in choice
    assert f"/cdc incident note INC-{first_id} which one is this for?" in choice and f"INC-{second_id}" in choice
    bot.command(f"incident note INC-{first_id} for the first one")
    thread.wait_reply(first_ts, "for the first one")
    bot.command(f"incident severity INC-{second_id} sev1")
    thread.wait_reply(second_ts, "SEV2 → SEV1")
    bot.command(f"incident severity sev1 INC-{second_id}")
    assert "already SEV1" in thread.private(5)[-1]
    bot.command("incident list", user_id=STRANGER)
    listing = thread.private(6)[-1]
    assert f"INC-{first_id}" in listing and f"INC-{second_id}" in listing
    bot.press("incident_resolve", str(first_id), STRANGER, first_ts)
    assert "Only operators" in thread.private(7)[-1]
    bot.press("incident_resolve", str(first_id), OPERATOR, "1111.2222", channel_id="C0ELSEWHERE")
    assert "does not belong" in thread.private(8)[-1]
    bot.press("incident_resolve", str(first_id), OPERATOR, first_ts)
    thread.wait_reply(first_ts, "resolved after")
    assert [i.id for i in IncidentService(bot.services).open_incidents()] == [second_id]
    bot.command("incident note now only one is open")
    thread.wait_reply(second_ts, "now only one is open")
    bot.command("verify no.such.topic")
    assert "No topic `no.such.topic`" in thread.private(9)[-1]
    assert bot.command("incident timelin")[0] == 200
    assert "not an incident command" in thread.private(10)[-1]


# --- the pure parts ---------------------------------------------------------------------------------------------


def test_redaction_by_key_and_by_pattern() -> None:
    assert redact_text(f"user=debezium password={SECRET} ok") == f"user=debezium password={REDACTED} ok"
    assert redact_text('{"database.password": "a b c"}') == f'{{"database.password": "{REDACTED}"}}'
    assert redact_text(f"hook {SEEDED_TOKEN} and xapp-1-A0-123") == f"hook {REDACTED} and {REDACTED}"
    assert redact_text("Authorization: Bearer abc.def-ghi_jkl") == f"Authorization: {REDACTED} {REDACTED}"
    assert redact_text("AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == f"{REDACTED} {REDACTED}"
    assert redact_text("postgres://admin:hunter2@db:5432/x") == f"postgres://admin:{REDACTED}@db:5432/x"
    assert (
        redact_text("jdbc:oracle:thin:debezium/Pa55!@db:1521/ORCL")
        == f"jdbc:oracle:thin:debezium/{REDACTED}@db:1521/ORCL"
    )
    assert redact_text("data: U3VwM3JTM2NyZXQhU3VwM3JTM2NyZXQh") == f"data: {REDACTED}"
    assert redact_text("mail ana.lim12@example.com at +65 91234567") == "mail [REDACTED:email] at [REDACTED:phone]"
    # Readable things stay readable: traces, image digests, timestamps, offsets, words that contain "pass".
    kept = (
        "org.apache.kafka.connect.errors.ConnectException: task failed; compass=north, bypass: yes "
        "example/debezium-connect@sha256:5eed 2026-11-26T09:00:00+00:00 offset 12345678 "
        "debezium-connect-cluster-connect-0 8f14e45fceea167a5a36dedd4bea25430a1b2c3d"  # a 40-hex git id
    )
    assert redact_text(kept) == kept
    obj = {
        "env": [
            {"name": "DB_PASSWORD", "value": "x"},
            {"name": "MODE", "value": "mask"},
            {"name": "SALT", "valueFrom": {"secretKeyRef": {"name": "salt", "key": "v"}}},
        ],
        "config": {"sasl.jaas.config": "whatever", "database.user": "debezium", "apiKey": ""},
        "nested": [{"kind": "Secret", "metadata": {"name": "creds"}, "data": {"password": "eA=="}}],
    }
    assert redact(obj) == {
        "env": [
            {"name": "DB_PASSWORD", "value": REDACTED},
            {"name": "MODE", "value": "mask"},
            {"name": "SALT", "valueFrom": {"secretKeyRef": {"name": "salt", "key": "v"}}},
        ],
        "config": {"sasl.jaas.config": REDACTED, "database.user": "debezium", "apiKey": ""},
        "nested": [{"kind": "Secret", "name": "creds", "keys": ["password"]}],
    }


def test_verify_keeps_only_the_shape_of_a_message() -> None:
    at = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    envelope = {"before": None, "after": {"ID": 1, "EMAIL": "a@b.example"}, "op": "c"}
    found = shape(SampledMessage("t", 2, 41, at, b"42", json.dumps(envelope).encode()))
    assert (found.partition, found.offset, found.op, found.after_fields, found.before_fields) == (
        2,
        41,
        "c",
        ["ID", "EMAIL"],
        None,
    )
    assert (found.key_present, found.key_length) == (True, 2) and "a@b.example" not in repr(found)
    wrapped = {"schema": {}, "payload": {"before": {"ID": 1}, "after": None, "op": "d"}}
    assert shape(SampledMessage("t", 0, 1, None, None, json.dumps(wrapped).encode())).before_fields == ["ID"]
    assert shape(SampledMessage("t", 0, 2, None, None, None)).note == "tombstone (null value)"
    assert shape(SampledMessage("t", 0, 3, None, None, b"\x00\x01avro")).note == "not JSON (Avro or binary?)"
    assert parse_ref("INC-12") == 12 and parse_ref("inc3") == 3 and parse_ref("12") is None
    assert Severity.parse("sev2") is Severity.SEV2 and Severity.parse("1") is Severity.SEV1
    assert Severity.parse("sev9") is None


def test_diff_of_two_snapshots() -> None:
    def snap(ready: bool, restarts: int, task: str, lag: int, alarm: str, pods: list[str]) -> dict[str, Any]:
        return {
            "status": "CRIT" if task == "FAILED" else "OK",
            "kubernetes": {
                "pods": [{"name": n, "is_ready": ready, "status": "Running", "restarts": restarts} for n in pods],
                "deployments": [{"name": "pii-masking", "desired": len(pods), "ready": len(pods)}],
                "connector": {"name": "c", "found": True, "state": "RUNNING", "tasks": [{"id": 0, "state": task}]},
            },
            "health": {
                "checks": [
                    {"name": "consumer_lag", "status": "OK", "details": {"groups": {"g": {"total": lag}}}},
                    {"name": "alarms", "status": "OK", "details": {"alarms": [{"name": "A", "state": alarm}]}},
                ]
            },
        }

    old = snap(False, 1, "FAILED", 500, "ALARM", ["a", "b"])
    new = snap(True, 3, "RUNNING", 20, "OK", ["a", "c"])
    changes = {c.text: c.better for c in diff_snapshots(old, new)}
    assert changes == {
        "overall: CRIT → OK": True,
        "pod c appeared, Ready": None,
        "pod b disappeared": None,
        "pod a became Ready": True,
        "pod a restarted: restarts 1 → 3": False,
        "task 0: FAILED → RUNNING": True,
        "lag g down 480: 500 → 20 behind": True,
        "alarm A: ALARM → OK": True,
    }
    assert diff_snapshots(new, new) == []
