"""Maintenance windows as guided, resumable workflows, end to end on the real local backends.

Each test builds its own pipeline in namespace `kafka-maint` (deployment, KafkaConnector, Connect pod,
ConfigMap name, topic, consumer group, staging table, all uniquely named) and plays the parts nothing
plays in the sandbox: Strimzi copying the connector's requested state into its status (through the
real kubernetes client, on the /status subresource), Debezium producing change events while the
connector runs, and the `pii-masking` consumer: a real confluent-kafka consumer on the Tansu broker,
idle until the test lets it catch up while the bot waits for the drain.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import kubernetes
import pytest
import yaml
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as KafkaTopicPartition
from slack_sdk import WebClient

from bot.actions.maintenance import split_start_words
from bot.actions.service import ApprovalRecord, ApprovalState
from bot.app.cli import main
from bot.app.server import make_wsgi
from bot.app.wiring import build_bot
from bot.core.results import Status
from bot.reports.morning import build_morning_report
from bot.sandbox.demo import Sandbox, connector_status, seed_kafka
from bot.sandbox.fake_slack import FakeSlackServer
from bot.services import Services
from bot.slack.client import make_web_client
from bot.store.workflows import get_workflow, lease_name
from tests.conftest import SIGNING_SECRET, BotServer, _serve_until_closed

NS = "kafka-maint"
OPERATOR, APPROVER, LEAD, STRANGER = "U0OPERATOR", "U0APPROVER", "U0LEAD", "U0STRANGER"
FAST_ACTIONS = {"timeout": "5s", "poll_interval": "0.05s", "progress_interval": "0s"}
FAST_MAINTENANCE = {"poll_interval": "0.05s", "lease": "1.5s", "drain_timeout": "20s", "verify_timeout": "15s"}
CHANNEL = "C0OPS"
FINAL = {s.value for s in ApprovalState} - {"pending", "approved", "running"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- the pipeline under test, and the parts the test plays -----------------------------------------------


@dataclass
class Pipeline:
    sandbox: Sandbox
    deployment: str = field(default_factory=lambda: unique("streams"))
    connector: str = field(default_factory=lambda: unique("connector"))
    connect: str = field(default_factory=lambda: unique("connect"))
    configmap: str = field(default_factory=lambda: unique("maintenance-mode"))
    topic: str = field(default_factory=lambda: unique("mw.inventory.orders"))
    group: str = field(default_factory=lambda: unique("mw-masking-app"))
    table: str = field(default_factory=lambda: f"mw_{uuid.uuid4().hex[:8]}")

    def overrides(self) -> dict[str, Any]:
        return {
            "kubernetes": {
                "namespace": NS,
                "streams_deployment": self.deployment,
                "connector": self.connector,
                "connect_cluster": self.connect,
                "maintenance_configmap": self.configmap,
            },
            "consumer_groups": [self.group],
            "topics": [self.topic],
            "freshness": [{"table": f"staging.{self.table}", "warn_after": "5m", "error_after": "15m"}],
        }

    @property
    def kube(self) -> Any:
        return self.sandbox.kube

    def create(self, replicas: int = 3, lag_per_partition: int = 100) -> None:
        # The API server's request log is session-wide: this pipeline's requests come after here.
        self.first_request = len(self.kube.requests)
        self.kube.put(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": self.deployment, "namespace": NS, "labels": {"app": self.deployment}},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": {"app": self.deployment}},
                    "template": {
                        "metadata": {"labels": {"app": self.deployment}},
                        "spec": {"containers": [{"name": "app", "image": "example/pii-masking:1"}]},
                    },
                },
            }
        )
        self.kube.put(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{self.connect}-connect-0",
                    "namespace": NS,
                    "labels": {"strimzi.io/cluster": self.connect, "strimzi.io/kind": "KafkaConnect"},
                },
                "spec": {"containers": [{"name": "connect", "image": "example/debezium-connect:2.4"}]},
            }
        )
        self.kube.put(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaConnector",
                "metadata": {"name": self.connector, "namespace": NS, "labels": {"strimzi.io/cluster": self.connect}},
                "spec": {"class": "io.debezium.connector.oracle.OracleConnector", "tasksMax": 1, "state": "running"},
                "status": connector_status("RUNNING", ["RUNNING"]),
            }
        )
        seed_kafka(
            self.sandbox.kafka.bootstrap_servers,
            {self.topic: 600},
            group=self.group,
            lag_per_partition={self.topic: lag_per_partition},
        )
        self.sandbox.redshift.execute(
            f"CREATE TABLE staging.{self.table} (id bigint, kafka_timestamp timestamp); "
            f"INSERT INTO staging.{self.table} VALUES (1, now() AT TIME ZONE 'UTC')"
        )

    def connector_obj(self) -> dict[str, Any]:
        found = self.kube.get("kafka.strimzi.io/v1beta2", "KafkaConnector", NS, self.connector)
        assert found is not None
        return found

    def deployment_obj(self) -> dict[str, Any]:
        found = self.kube.get("apps/v1", "Deployment", NS, self.deployment)
        assert found is not None
        return found

    def configmap_data(self) -> dict[str, str] | None:
        found = self.kube.get("v1", "ConfigMap", NS, self.configmap)
        return None if found is None else dict(found.get("data") or {})

    def requests(self, method: str, suffix: str) -> int:
        mine = self.kube.requests[self.first_request :]
        return sum(1 for m, p in mine if m == method and p.endswith(suffix))


class Strimzi(threading.Thread):
    """Copies the KafkaConnector's requested state into its status, as the operator does after a reconcile."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(daemon=True)
        self.pipeline = pipeline
        self.stopped = threading.Event()
        self.api = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(pipeline.kube.configuration()))

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            obj = self.pipeline.connector_obj()
            wanted = "PAUSED" if (obj.get("spec") or {}).get("state") == "paused" else "RUNNING"
            if obj["status"]["connectorStatus"]["connector"]["state"] != wanted:
                self.api.patch_namespaced_custom_object_status(
                    "kafka.strimzi.io",
                    "v1beta2",
                    NS,
                    "kafkaconnectors",
                    self.pipeline.connector,
                    {"status": connector_status(wanted, [wanted])},
                )


class Debezium(threading.Thread):
    """Produces change events while the connector is asked to run; one record per batch (exact Tansu offsets)."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(daemon=True)
        self.pipeline = pipeline
        self.stopped = threading.Event()
        self.produced = 0
        self.producer = Producer(
            {"bootstrap.servers": pipeline.sandbox.kafka.bootstrap_servers, "linger.ms": 0, "batch.num.messages": 1}
        )

    def run(self) -> None:
        while not self.stopped.wait(0.03):
            if (self.pipeline.connector_obj().get("spec") or {}).get("state") != "running":
                continue
            self.producer.produce(self.pipeline.topic, value=b'{"op":"c"}', partition=self.produced % 3)
            self.producer.flush(5)
            self.produced += 1
        self.producer.flush(5)
        del self.producer  # librdkafka's client goes now, not at some later garbage collection


class Masking(threading.Thread):
    """The streams app's consumer group: idle until `go()`, then reads and commits, a few records at a time."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(daemon=True)
        self.stopped, self.consuming = threading.Event(), threading.Event()
        self.consumed = 0
        self.consumer = Consumer(
            {
                "bootstrap.servers": pipeline.sandbox.kafka.bootstrap_servers,
                "group.id": pipeline.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        # assign (no group join): starts from the group's committed offsets at once.
        self.consumer.assign([KafkaTopicPartition(pipeline.topic, p) for p in range(3)])

    def go(self) -> None:
        self.consuming.set()

    def run(self) -> None:
        while not self.stopped.is_set():
            if not self.consuming.wait(0.05):
                continue
            messages = [m for m in self.consumer.consume(num_messages=15, timeout=0.05) if not m.error()]
            if messages:
                self.consumed += len(messages)
                self.consumer.commit(asynchronous=False)
                time.sleep(0.05)  # ~300 records/s: the drain takes a few polls, as a real one takes minutes
        self.consumer.close()


@pytest.fixture
def world(sandbox: Sandbox) -> Iterator[Callable[..., tuple[Pipeline, Masking]]]:
    threads: list[Any] = []

    def build(replicas: int = 3) -> tuple[Pipeline, Masking]:
        pipeline = Pipeline(sandbox)
        pipeline.create(replicas=replicas)
        masking = Masking(pipeline)
        threads.extend([Strimzi(pipeline), Debezium(pipeline), masking])
        for thread in threads[-3:]:
            thread.start()
        return pipeline, masking

    yield build
    for thread in threads:
        thread.stopped.set()
        if isinstance(thread, Masking):
            thread.consuming.set()
    for thread in threads:
        thread.join(timeout=5)


# --- driving the bot --------------------------------------------------------------------------------------------


@dataclass
class Bot:
    """One bot instance (its own Services, bolt app and HTTP server) on a shared fake Slack."""

    server: BotServer
    http: Any
    stopped: bool = False

    @property
    def services(self) -> Services:
        return self.server.services

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            assert self.server.wired is not None
            self.server.wired.close()
            self.http.close()


@pytest.fixture
def bots(slack: FakeSlackServer) -> Iterator[Callable[[Services], Bot]]:
    started: list[Bot] = []

    def start(services: Services) -> Bot:
        from waitress.server import create_server

        client = make_web_client(token=slack.bot_token, base_url=slack.api_url)
        wired = build_bot(services, client=client, signing_secret=SIGNING_SECRET).start(scheduler=False)
        http = create_server(make_wsgi(services, wired.app), host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=_serve_until_closed, args=(http,), daemon=True).start()
        bot = Bot(BotServer(f"http://127.0.0.1:{http.effective_port}", services, slack, wired), http)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()


def services_for(make_services: Callable[..., Services], pipeline: Pipeline, **maintenance: str) -> Services:
    return make_services(pipeline.overrides(), actions=FAST_ACTIONS, maintenance={**FAST_MAINTENANCE, **maintenance})


def blocks_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def is_approval(call: Any) -> bool:
    return any(
        e.get("action_id") == "approval_approve"
        for b in call.args.get("blocks") or []
        if b.get("type") == "actions"
        for e in b["elements"]
    )


def request(bot: Bot, text: str, user: str = OPERATOR) -> ApprovalRecord:
    slack = bot.server.slack
    before = len([c for c in slack.calls_to("chat.postMessage") if is_approval(c)])
    status, _ = bot.server.command(text, user_id=user)
    assert status == 200
    posted = slack.wait_for("chat.postMessage", count=before + 1, timeout=10, predicate=is_approval)[-1]
    approval_id = next(e["value"] for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    return wait_for(lambda: _record(bot, approval_id) if _record(bot, approval_id).message_ts else None, 5)


def _record(bot: Bot, approval_id: str) -> ApprovalRecord:
    row = bot.services.store.approvals.get(approval_id)
    assert row is not None
    return ApprovalRecord.model_validate(row)


def approve(bot: Bot, approval: ApprovalRecord, user: str = APPROVER) -> None:
    assert approval.message_ts
    assert bot.server.press("approval_approve", approval.id, user, approval.message_ts)[0] == 200


def wait_for(probe: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_final(bot: Bot, approval_id: str, timeout: float = 20.0) -> ApprovalRecord:
    record = wait_for(
        lambda: (r := _record(bot, approval_id)).state.value in FINAL and r, timeout, f"approval {approval_id} final"
    )
    # The final chat.update of the approval message lands just after the state is stored.
    slack = bot.server.slack
    headers = {"succeeded": "Done", "failed": "Failed", "drifted": "Not run"}
    slack.wait_for(
        "chat.update",
        predicate=lambda c: (
            c.args.get("ts") == record.message_ts
            and headers.get(record.state.value, "") in c.args["blocks"][0]["text"]["text"]
        ),
    )
    return record


def thread(slack: FakeSlackServer, parent_ts: str) -> list[dict[str, Any]]:
    replies = WebClient(token=slack.bot_token, base_url=slack.api_url).conversations_replies(
        channel=CHANNEL, ts=parent_ts
    )
    return list(replies["messages"])[1:]


def step_messages(slack: FakeSlackServer, parent_ts: str, title: str) -> list[dict[str, Any]]:
    return [m for m in thread(slack, parent_ts) if title in m.get("text", "") and ": step " in m.get("text", "")]


def wait_step(services: Services, approval_id: str, step: str, state: str = "running") -> None:
    def there() -> bool:
        wf = get_workflow(services.store, approval_id)
        return wf is not None and wf.step == step and wf.step_state(step) == state

    wait_for(there, 10, f"step {step} {state}")


def button(message: dict[str, Any], action_id: str) -> str:
    return next(
        e["value"]
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


# --- the whole cycle ---------------------------------------------------------------------------------------------


def test_start_drain_end_cycle_on_real_backends(
    world: Callable[..., tuple[Pipeline, Masking]],
    make_services: Callable[..., Services],
    bots: Callable[[Services], Bot],
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pipeline, masking = world()
    bot = bots(services_for(make_services, pipeline))
    slack = bot.server.slack

    start = request(bot, f"maintenance start Oracle patching --duration 2h {bot.services.config.pipeline().name}")
    preview = blocks_text(slack.message(CHANNEL, start.message_ts))  # type: ignore[arg-type]
    assert start.args["reason"] == "Oracle patching" and start.pipeline == "sandbox"
    assert f"Pause KafkaConnector {pipeline.connector}: now RUNNING" in preview
    assert f"{pipeline.group} " in preview and "behind" in preview  # the group's lag now
    assert f"Scale deployment {pipeline.deployment} 3 → 0" in preview
    assert "The bot drains first, then scales down." in preview
    assert "/cdc maintenance start Oracle patching --duration 2h sandbox" in preview

    approve(bot, start)
    wait_step(bot.services, start.id, "drain")
    # Debezium has stopped (the connector is paused); the lag is what the consumer has not read yet.
    time.sleep(0.3)
    assert pipeline.connector_obj()["spec"]["state"] == "paused"
    assert pipeline.deployment_obj()["spec"]["replicas"] == 3  # not scaled down before the drain
    masking.go()
    record = wait_final(bot, start.id)
    assert record.state is ApprovalState.SUCCEEDED, record.error
    assert masking.consumed > 0

    # The thread: every step posted once, then updated in place to done.
    steps = step_messages(slack, start.message_ts, "Maintenance start")  # type: ignore[arg-type]
    assert len(steps) == 4
    for message, title in zip(
        steps,
        ["Enable maintenance mode", "Pause the connector", "Wait for the pipeline to drain", "Scale the streams"],
        strict=True,
    ):
        text = blocks_text(message)
        assert title in text and ":white_check_mark:" in text and "edited" in message
    assert "drained: 0 behind" in blocks_text(steps[2])
    drain_updates = [
        json.dumps(c.args["blocks"]) for c in slack.calls_to("chat.update") if c.args.get("ts") == steps[2]["ts"]
    ]
    assert any("draining" in u and "left" in u for u in drain_updates), drain_updates  # rate and time left
    assert any("Maintenance window open until" in blocks_text(m) for m in thread(slack, start.message_ts))  # type: ignore[arg-type]

    # The window is open: the ConfigMap the checks read, the connector paused, the deployment at 0.
    data = pipeline.configmap_data()
    assert data is not None and data["enabled"] == "true" and data["started_by"] == OPERATOR
    assert data["message"] == "Oracle patching" and data["approved_by"] == APPROVER
    until = datetime.fromisoformat(data["until"].replace("Z", "+00:00"))
    assert timedelta(hours=1, minutes=59) < until - datetime.now(UTC) <= timedelta(hours=2)
    assert pipeline.deployment_obj()["spec"]["replicas"] == 0

    # During the window, `cdc-bot check` sees maintenance, not failures.
    config = bot.services.config.model_dump(mode="json", exclude_none=True)
    path = tmp_path / "window.yml"
    path.write_text(yaml.safe_dump(config))
    code = main(["check", "connector", "kubernetes_workloads", "--config", str(path), "--format", "json"])
    checked = json.loads(capsys.readouterr().out)
    by_name = {c["name"]: c for c in checked["checks"]}
    assert code == 0 and checked["status"] == "OK"
    assert by_name["connector"]["status"] == "OK" and "(maintenance)" in by_name["connector"]["summary"]
    assert by_name["kubernetes_workloads"]["status"] == "OK"
    assert f"{pipeline.deployment} 0/0 ready (maintenance)" in by_name["kubernetes_workloads"]["summary"]
    assert any(f"maintenance window open by {OPERATOR} until" in n for n in checked["notes"])
    # ... and so does the morning report.
    morning = build_morning_report(bot.services).pipelines[0].health
    assert morning.check("connector").status is Status.OK  # type: ignore[union-attr]
    assert morning.check("kubernetes_workloads").status is Status.OK  # type: ignore[union-attr]
    assert any("Oracle patching" in n for n in morning.notes)

    bot.server.command("maintenance status")
    status = slack.wait_for("chat.postMessage", predicate=lambda c: "Maintenance window open on" in c.args["text"])
    assert "Oracle patching" in json.dumps(status[-1].args["blocks"])
    bot.server.command("maintenance start again")
    slack.wait_for("response_url", predicate=lambda c: "A maintenance window is already open" in json.dumps(c.args))

    # End: resume, scale back to the 3 recorded at start, clear the ConfigMap, verify, report.
    end = request(bot, "maintenance end")
    assert f"0 → 3 (recorded when {OPERATOR}'s window opened at" in blocks_text(slack.message(CHANNEL, end.message_ts))  # type: ignore[arg-type]
    approve(bot, end, LEAD)
    record = wait_final(bot, end.id)
    assert record.state is ApprovalState.SUCCEEDED, record.error
    assert pipeline.connector_obj()["spec"]["state"] == "running"
    assert pipeline.connector_obj()["status"]["connectorStatus"]["connector"]["state"] == "RUNNING"
    deployment = pipeline.deployment_obj()
    assert deployment["spec"]["replicas"] == 3 and deployment["status"]["readyReplicas"] == 3
    assert pipeline.configmap_data() is None
    end_thread = thread(slack, end.message_ts)  # type: ignore[arg-type]
    end_steps = step_messages(slack, end.message_ts, "Maintenance end")  # type: ignore[arg-type]
    assert len(end_steps) == 5 and all(":white_check_mark:" in blocks_text(m) for m in end_steps)
    assert "data flows: connector RUNNING" in blocks_text(end_steps[3])
    assert any("Post-maintenance check: sandbox" in m.get("text", "") for m in end_thread)
    bot.server.command("maintenance status")
    slack.wait_for("chat.postMessage", predicate=lambda c: "No maintenance window on sandbox" in c.args["text"])


# --- a restart in the middle of the drain ---------------------------------------------------------------------


def test_restart_mid_drain_resumes_the_same_workflow_without_repeating_steps(
    world: Callable[..., tuple[Pipeline, Masking]],
    make_services: Callable[..., Services],
    bots: Callable[[Services], Bot],
) -> None:
    pipeline, masking = world()
    first = bots(services_for(make_services, pipeline))
    slack = first.server.slack
    start = request(first, "maintenance start kernel upgrade")
    approve(first, start)
    wait_step(first.services, start.id, "drain")
    done_before = get_workflow(first.services.store, start.id)
    assert done_before is not None
    assert [done_before.step_state(s) for s in ("configmap", "pause")] == ["done", "done"]

    # A second replica on the same database leaves a workflow alone while its runner holds the lease.
    second = bots(services_for(make_services, pipeline))
    time.sleep(2.0)  # longer than the lease: the first runner keeps renewing it
    lease = second.services.store.lease(lease_name(start.id))
    assert lease is not None and lease.holder.startswith(first.services.instance_id)

    first.stop()  # the first bot goes away mid-drain
    wait_for(lambda: any("Picked up again" in blocks_text(m) for m in thread(slack, start.message_ts)), 10)  # type: ignore[arg-type]
    lease = second.services.store.lease(lease_name(start.id))
    assert lease is not None and lease.holder.startswith(second.services.instance_id)
    masking.go()
    record = wait_final(second, start.id)
    assert record.state is ApprovalState.SUCCEEDED, record.error

    after = get_workflow(second.services.store, start.id)
    assert after is not None and after.status.value == "succeeded"
    for name in ("configmap", "pause"):  # finished before the restart: not run again
        assert after.steps[name]["finished_at"] == done_before.steps[name]["finished_at"]
    configmaps = f"/namespaces/{NS}/configmaps"
    assert pipeline.requests("POST", configmaps) + pipeline.requests("PUT", f"{configmaps}/{pipeline.configmap}") == 1
    assert pipeline.requests("PATCH", f"/kafkaconnectors/{pipeline.connector}") == 1
    assert pipeline.requests("PATCH", f"/deployments/{pipeline.deployment}/scale") == 1
    steps = step_messages(slack, start.message_ts, "Maintenance start")  # type: ignore[arg-type]
    assert len(steps) == 4  # the drain's message was updated again, not posted twice
    note = next(blocks_text(m) for m in thread(slack, start.message_ts) if "Picked up again" in blocks_text(m))  # type: ignore[arg-type]
    assert "continuing at step 3/4" in note and "Enable maintenance mode, 2. Pause the connector" in note
    events = [
        e.event for e in reversed(second.services.store.recent_audit(50)) if e.details.get("approval") == start.id
    ]
    assert events.count("action.started") == 1 and events.count("action.resumed") == 1
    assert events[-1] == "action.succeeded"


# --- stopping part-way --------------------------------------------------------------------------------------


def test_abort_during_the_drain_says_where_things_stand_and_offers_the_way_back(
    world: Callable[..., tuple[Pipeline, Masking]],
    make_services: Callable[..., Services],
    bots: Callable[[Services], Bot],
) -> None:
    pipeline, masking = world()
    bot = bots(services_for(make_services, pipeline))
    slack = bot.server.slack
    start = request(bot, "maintenance start")
    approve(bot, start)
    wait_step(bot.services, start.id, "drain")
    drain = wait_for(
        lambda: next((m for m in thread(slack, start.message_ts) if "workflow_abort" in blocks_text(m)), None),  # type: ignore[arg-type]
        5,
        "the Abort button",
    )
    assert button(drain, "workflow_abort") == start.id
    bot.server.press("workflow_abort", start.id, STRANGER, drain["ts"])
    slack.wait_for("response_url", predicate=lambda c: "Only operators" in json.dumps(c.args))
    bot.server.press("workflow_abort", start.id, OPERATOR, drain["ts"])

    record = wait_final(bot, start.id)
    assert record.state is ApprovalState.FAILED
    assert (
        record.error and "stopped at step 3/4 (Wait for the pipeline to drain): aborted by U0OPERATOR" in record.error
    )
    # Nothing was undone or done after the abort: maintenance mode on, connector paused, still 3 replicas.
    assert pipeline.configmap_data() is not None and pipeline.connector_obj()["spec"]["state"] == "paused"
    assert pipeline.deployment_obj()["spec"]["replicas"] == 3
    note = wait_for(
        lambda: next(
            (m for m in thread(slack, start.message_ts) if "maintenance_resume_pipeline" in blocks_text(m)), None
        ),  # type: ignore[arg-type]
        5,
        "the stop note",
    )
    text = blocks_text(note)
    assert "State now" in text and "maintenance window open by U0OPERATOR" in text
    assert f"Connector {pipeline.connector}: PAUSED (requested paused)" in text
    assert f"Deployment {pipeline.deployment}: 3 replicas, 3 ready" in text
    wf = get_workflow(bot.services.store, start.id)
    assert wf is not None and wf.status.value == "aborted" and wf.step_state("drain") == "aborted"
    assert wf.step_state("scale_down") is None

    # "Resume pipeline" asks for `maintenance end` in the same thread; approved, it puts things back.
    before = len([c for c in slack.calls_to("chat.postMessage") if is_approval(c)])
    bot.server.press("maintenance_resume_pipeline", start.id, OPERATOR, note["ts"])
    posted = slack.wait_for("chat.postMessage", count=before + 1, predicate=is_approval)[-1]
    assert posted.args["thread_ts"] == start.message_ts
    end = _record(bot, button(posted.args, "approval_approve"))
    end = wait_for(lambda: _record(bot, end.id) if _record(bot, end.id).message_ts else None, 5)
    assert end.action == "maintenance-end" and end.requester == OPERATOR
    masking.go()
    approve(bot, end)
    final = wait_final(bot, end.id)
    assert final.state is ApprovalState.SUCCEEDED, final.error
    assert pipeline.configmap_data() is None and pipeline.connector_obj()["spec"]["state"] == "running"
    assert pipeline.deployment_obj()["spec"]["replicas"] == 3
    assert step_messages(slack, start.message_ts, "Maintenance end")  # type: ignore[arg-type]  # same thread


def test_a_drain_that_times_out_stops_before_scaling_down(
    world: Callable[..., tuple[Pipeline, Masking]],
    make_services: Callable[..., Services],
    bots: Callable[[Services], Bot],
) -> None:
    pipeline, _masking = world()  # the consumer never runs
    bot = bots(services_for(make_services, pipeline, drain_timeout="1s"))
    start = request(bot, "maintenance start --duration 30m")
    approve(bot, start)
    record = wait_final(bot, start.id)
    assert record.state is ApprovalState.FAILED
    assert record.error and "the pipeline did not drain within 1s" in record.error
    state_now = (record.result or {}).get("state_now") or []
    assert any(s.startswith("Drain: ") and "behind" in s for s in state_now), state_now
    assert pipeline.deployment_obj()["spec"]["replicas"] == 3
    wf = get_workflow(bot.services.store, start.id)
    assert wf is not None and wf.status.value == "failed" and wf.step_state("drain") == "failed"


# --- parsing ----------------------------------------------------------------------------------------------------


def test_start_words_take_a_trailing_pipeline_only_when_it_names_one() -> None:
    names = ["prod", "dr"]
    assert split_start_words(["Oracle", "patching", "--duration", "2h", "dr"], names) == (
        ["Oracle", "patching", "--duration", "2h"],
        "dr",
    )
    assert split_start_words(["Oracle patching"], names) == (["Oracle patching"], None)
    assert split_start_words(["--pipeline", "prod", "patching"], names) == (["patching"], "prod")
    with pytest.raises(Exception, match="Is `prd` the pipeline `prod`"):
        split_start_words(["patching", "prd"], names)
    assert split_start_words(["patching", "prd"], ["prod"]) == (["patching", "prd"], None)


# --- a window past its end, and the renderers' limits ------------------------------------------------------


def test_a_window_past_its_end_time_is_flagged(sandbox: Sandbox, make_services: Callable[..., Services]) -> None:
    pipeline = Pipeline(sandbox)
    pipeline.create(replicas=0)
    obj = pipeline.connector_obj()
    sandbox.kube.put(
        {**obj, "spec": {**obj["spec"], "state": "paused"}, "status": connector_status("PAUSED", ["PAUSED"])}
    )
    ended = (datetime.now(UTC) - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sandbox.kube.put(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": pipeline.configmap, "namespace": NS},
            "data": {"enabled": "true", "message": "patching", "started_by": OPERATOR, "until": ended},
        }
    )
    report = services_for(make_services, pipeline).health(names=["connector", "kubernetes_workloads"])
    connector, workloads = report.checks
    assert connector.status is Status.WARN and workloads.status is Status.WARN
    assert any("PAST ITS END TIME" in f.text for f in workloads.findings)
    assert f"{pipeline.deployment} 0/0 ready (maintenance)" in workloads.summary
    assert report.notes and "PAST ITS END TIME" in report.notes[0]


def test_workflow_messages_stay_within_slack_limits() -> None:
    from bot.actions.workflows import StepView, WorkflowNote
    from bot.render.maintenance import render_workflow_note, render_workflow_step
    from tests.test_render import assert_within_limits

    now = datetime.now(UTC)
    step = StepView("wf", "Maintenance start", 3, 4, "drain", "Wait <&> drain", "running", "x" * 10_000, True, now)
    message = render_workflow_step(step)
    assert_within_limits(message)
    assert "workflow_abort" in json.dumps(message.blocks) and "&lt;&amp;&gt;" in json.dumps(message.blocks)
    done = render_workflow_step(StepView("wf", "M", 3, 4, "drain", "Drain", "done", "ok", True, now, now))
    assert "workflow_abort" not in json.dumps(done.blocks)  # no Abort once the step is over
    note = WorkflowNote("aborted", "y" * 5_000, [f"line {i} " + "z" * 200 for i in range(500)], "Resume pipeline")
    rendered = render_workflow_note("wf", note)
    assert_within_limits(rendered)
    assert "maintenance_resume_pipeline" in json.dumps(rendered.blocks) and "State now" in json.dumps(rendered.blocks)
