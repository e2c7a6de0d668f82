"""Runbook actions behind approval buttons, end to end: signed requests into the bot's HTTP endpoint,
the real client libraries against the session's local backends, effects checked on those backends.

Every test makes its own objects (namespace `kafka-actions`, unique names, its own nodegroup, topics
and backup prefix), so the seeded pipeline that other tests assert on is never touched.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.actions.base import fingerprint_changes
from bot.actions.service import ApprovalRecord, ApprovalState, request_action
from bot.app.wiring import build_services
from bot.backups.topics import list_backup_dates, parse_backup_date, read_topic_backup, write_topic_backup
from bot.clients.base import TopicInfo
from bot.core.config import Config
from bot.sandbox.demo import EKS_CLUSTER, MSK_ROLE, Sandbox, aws_session, connector_status
from bot.sandbox.fake_kube import FakeKubeServer
from bot.services import Services
from bot.slack.approval_publisher import SlackApprovalPublisher
from bot.store.state import Approval
from scheduler.jobs import SchedulerRuntime, expire_approvals_job, register_runtime, unregister_runtime
from tests.conftest import BotServer

NS = "kafka-actions"
FAST = {"timeout": "3s", "poll_interval": "0.02s", "progress_interval": "0s"}
OPERATOR, APPROVER, LEAD, STRANGER = "U0OPERATOR", "U0APPROVER", "U0LEAD", "U0STRANGER"

StartBot = Callable[[Services], BotServer]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- backend objects ---------------------------------------------------------------------------------


def put_deployment(
    kube: FakeKubeServer,
    name: str,
    replicas: int = 2,
    env: list[dict[str, Any]] | None = None,
    annotations: dict[str, str] | None = None,
    status: dict[str, Any] | None = None,
) -> None:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}, "annotations": annotations or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "example/pii-masking:1", "env": env or []}]},
            },
        },
    }
    if status is not None:
        obj["status"] = status
    kube.put(obj)


def put_connect_pod(kube: FakeKubeServer, cluster: str, name: str) -> None:
    # Owned by a StrimziPodSet, so the fake API server recreates it under the same name, as Strimzi does.
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": NS,
                "labels": {"strimzi.io/cluster": cluster, "strimzi.io/kind": "KafkaConnect"},
                "ownerReferences": [
                    {"apiVersion": "core.strimzi.io/v1beta2", "kind": "StrimziPodSet", "name": cluster, "uid": cluster}
                ],
            },
            "spec": {"containers": [{"name": "connect", "image": "example/debezium-connect:2.4"}]},
        }
    )


def pods(kube: FakeKubeServer, selector: str, namespace: str = NS) -> dict[str, str]:
    """name → uid of the pods a selector matches."""
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in kube.list("v1", "Pod", namespace, selector)}


def deployment(kube: FakeKubeServer, name: str) -> dict[str, Any]:
    found = kube.get("apps/v1", "Deployment", NS, name)
    assert found is not None
    return found


def patches_of(kube: FakeKubeServer, name: str) -> int:
    path = f"/apis/apps/v1/namespaces/{NS}/deployments/{name}"
    return sum(1 for method, p in kube.requests if method == "PATCH" and p == path)


# --- the Slack side ----------------------------------------------------------------------------------------


@dataclass
class Posted:
    id: str
    ts: str


@dataclass
class Flow:
    """Drives one bot through signed requests and reads what the fake Slack and the store saw."""

    bot: BotServer

    @property
    def services(self) -> Services:
        return self.bot.services

    def request(self, text: str, user: str = OPERATOR) -> Posted:
        before = len(self.bot.slack.calls_to("chat.postMessage"))
        status, _ = self.bot.command(f"action {text}", user_id=user)
        assert status == 200
        posted = self.bot.slack.wait_for("chat.postMessage", count=before + 1, timeout=10)[-1]
        buttons = [
            e for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"] if e["type"] == "button"
        ]
        assert [b["action_id"] for b in buttons] == ["approval_approve", "approval_deny"]
        values = {b["value"] for b in buttons}
        assert len(values) == 1
        approval_id = values.pop()
        return Posted(approval_id, self.message_ts(approval_id))

    def message_ts(self, approval_id: str) -> str:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            row = self.services.store.approvals.get(approval_id)
            if row is not None and row.message_ts:
                return row.message_ts
            time.sleep(0.01)
        raise AssertionError("the approval never got its message ts")

    def press(self, posted: Posted, user: str, action: str = "approve", value: str | None = None) -> int:
        return self.bot.press(f"approval_{action}", posted.id if value is None else value, user, posted.ts)[0]

    def private_replies(self, count: int) -> list[str]:
        calls = self.bot.slack.wait_for("response_url", count=count, timeout=10)
        return [json.dumps(c.args, ensure_ascii=False) for c in calls]

    def state(self, approval_id: str) -> str:
        row = self.services.store.approvals.get(approval_id)
        assert row is not None
        return row.state

    def wait_final(self, approval_id: str, timeout: float = 10) -> ApprovalRecord:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self.services.store.approvals.get(approval_id)
            if row is not None and row.state in {s.value for s in ApprovalState} - {"pending", "approved", "running"}:
                self.wait_message_shows(row.state, str(row.message_ts))
                return ApprovalRecord.model_validate(row)
            time.sleep(0.02)
        raise AssertionError(f"approval {approval_id} is still {self.state(approval_id)}")

    def wait_message_shows(self, state: str, ts: str) -> None:
        # The final chat.update of this approval's message lands just after the state is stored.
        headers = {
            "succeeded": "Done",
            "failed": "Failed",
            "denied": "Denied",
            "expired": "Expired",
            "drifted": "Not run",
        }

        def shows(call: Any) -> bool:
            return call.args.get("ts") == ts and headers[state] in call.args["blocks"][0]["text"]["text"]

        self.bot.slack.wait_for("chat.update", predicate=shows, timeout=5)

    def message(self, posted: Posted) -> dict[str, Any]:
        found = self.bot.slack.message("C0OPS", posted.ts)
        assert found is not None
        return found

    def audit_events(self, approval_id: str) -> list[str]:
        entries = reversed(self.services.store.recent_audit(500))
        return [e.event for e in entries if (e.details or {}).get("approval") == approval_id]


def has_buttons(message: dict[str, Any]) -> bool:
    return any(b["type"] == "actions" for b in message.get("blocks", []))


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


@pytest.fixture
def action_services(make_services: Callable[..., Services]) -> Callable[..., Services]:
    def build(kubernetes: dict[str, Any] | None = None, pipeline: dict[str, Any] | None = None, **top: Any) -> Services:
        overrides = {"kubernetes": {"namespace": NS, **(kubernetes or {})}, **(pipeline or {})}
        return make_services(overrides, actions=FAST, **top)

    return build


@pytest.fixture
def flow(start_bot: StartBot) -> Callable[[Services], Flow]:
    return lambda services: Flow(start_bot(services))


# --- requesting ---------------------------------------------------------------------------------------------


def test_action_list_and_argument_errors_are_private_and_post_nothing(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name, replicas=2)
    f = flow(action_services({"streams_deployment": name}, {"backups": {"prefix": f"{unique('none')}/"}}))
    f.bot.command("action")
    listing = f.private_replies(1)[0]
    for action in (
        "restart-streams",
        "restart-connect",
        "scale-streams N",
        "scale-nodegroup N",
        "tune-streams",
        "enable-metrics",
        "pause-connector",
        "resume-connector",
        "rotate-credentials",
        "recreate-topics",
    ):
        assert f"/cdc action {action}" in listing
    cases = {
        "scale-streams 50": "above the limit of 10",
        "scale-streams two": "not a whole number",
        "scale-streams 2": "already has 2 replicas",
        "scale-nodegroup 1": "outside nodegroup debezium-cdc-cluster/debezium-nodes's min 2 / max 10",
        "recreate-topics 2020-01-01": "No topic backup for 2020-01-01",
        "recreate-topics yesterday": "not a date",
        "tune-streams JAVA_OPTS=-Xmx9g": "cannot be set here",
        "restart-stream": "Did you mean `restart-streams`?",
        "restart-streams sandbx": "Did you mean `sandbox`?",
    }
    for count, (text, expected) in enumerate(cases.items(), start=2):
        f.bot.command(f"action {text}")
        reply = f.private_replies(count)[-1]
        assert expected in reply, (text, reply)
        assert '"response_type": "ephemeral"' in reply
    assert not f.bot.slack.calls_to("chat.postMessage")
    assert f.services.store.recent_audit(5) == []


def test_non_operator_cannot_request(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name)
    f = flow(action_services({"streams_deployment": name}))
    f.bot.command("action restart-streams", user_id=STRANGER)
    assert "Only operators" in f.private_replies(1)[0]
    f.bot.command("audit", user_id=STRANGER)
    assert "Only operators" in f.private_replies(2)[-1]
    time.sleep(0.2)
    assert not f.bot.slack.calls_to("chat.postMessage")
    assert patches_of(sandbox.kube, name) == 0


def test_user_groups_can_request_and_approve_but_not_their_own_request(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name, replicas=1)
    # The on-call group (S0ONCALL: U0ONCALL1, U0ONCALL2 in the fake Slack) both asks and approves.
    access = {"operators": ["S0ONCALL"], "approvers": ["S0ONCALL"], "approval_ttl_minutes": 15}
    f = flow(action_services({"streams_deployment": name}, access=access))
    posted = f.request("scale-streams 2", user="U0ONCALL1")
    f.press(posted, "U0ONCALL1")
    assert "someone else has to approve" in f.private_replies(1)[0]
    f.press(posted, APPROVER)  # an approver by the sandbox's lists, but not by this config's
    assert "Only approvers" in f.private_replies(2)[-1]
    f.press(posted, "U0ONCALL2")
    assert f.wait_final(posted.id).state is ApprovalState.SUCCEEDED
    assert deployment(sandbox.kube, name)["spec"]["replicas"] == 2


def test_request_in_a_thread_from_another_feature(
    sandbox: Sandbox, action_services: Callable[..., Services], slack: Any
) -> None:
    from bot.slack.client import make_web_client

    name = unique("streams")
    put_deployment(sandbox.kube, name)
    services = action_services({"streams_deployment": name})
    publisher = SlackApprovalPublisher(make_web_client(token=slack.bot_token, base_url=slack.api_url))
    record = request_action(
        services,
        publisher,
        action="scale-streams",
        words=["3"],
        requester=OPERATOR,
        channel="C0OPS",
        thread_ts="1700000000.000100",
    )
    posted = slack.wait_for("chat.postMessage")[0]
    assert posted.args["thread_ts"] == "1700000000.000100"
    assert record.message_ts and slack.message("C0OPS", record.message_ts)["thread_ts"] == "1700000000.000100"
    assert services.store.approvals.get(record.id).thread_ts == "1700000000.000100"  # type: ignore[union-attr]


# --- each action, run and observed on its backend ----------------------------------------------------------


def test_restart_streams_runs_once_approved_by_someone_else(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name, replicas=2)
    pods_before = pods(sandbox.kube, f"app={name}")
    f = flow(action_services({"streams_deployment": name}))
    # An approver asks (approvers may do what operators do), so the four-eyes rule is what stops them.
    posted = f.request("restart-streams", user=APPROVER)
    pending = f.message(posted)
    assert "Approval needed" in text_of(pending) and "<@U0APPROVER> asks" in text_of(pending)
    for pod in pods_before:
        assert pod in text_of(pending)  # the preview names the pods that will be replaced
    assert "Risk" in text_of(pending) and "expires" in text_of(pending)

    assert f.press(posted, APPROVER) == 200
    assert "someone else has to approve" in f.private_replies(1)[0]
    assert f.press(posted, OPERATOR) == 200
    assert "Only approvers" in f.private_replies(2)[-1]
    assert f.state(posted.id) == "pending" and patches_of(sandbox.kube, name) == 0

    assert f.press(posted, LEAD) == 200
    record = f.wait_final(posted.id)
    assert record.state is ApprovalState.SUCCEEDED, record.error
    template = deployment(sandbox.kube, name)["spec"]["template"]
    restarted_at = template["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    assert record.result and record.result["details"]["restarted_at"] == restarted_at
    pods_after = pods(sandbox.kube, f"app={name}")
    assert len(pods_after) == 2 and not set(pods_after) & set(pods_before)
    final = f.message(posted)
    assert not has_buttons(final)
    assert "Before" in text_of(final) and "After" in text_of(final) and "took" in text_of(final)
    events = f.audit_events(posted.id)
    assert events[0] == "action.requested" and events[-3:] == ["action.approved", "action.started", "action.succeeded"]
    assert events.count("action.press_rejected") == 2

    f.bot.command("audit 3")
    audit = f.private_replies(3)[-1]
    assert "action.succeeded" in audit and "restart-streams" in audit


def test_restart_connect_deletes_exactly_the_previewed_pods(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    cluster, other = unique("connect"), unique("other-connect")
    for index in range(2):
        put_connect_pod(sandbox.kube, cluster, f"{cluster}-connect-{index}")
    put_connect_pod(sandbox.kube, other, f"{other}-connect-0")  # same namespace, other cluster label
    matching_before = pods(sandbox.kube, f"strimzi.io/cluster={cluster}")
    bystander_before = pods(sandbox.kube, f"strimzi.io/cluster={other}")
    f = flow(action_services({"connect_cluster": cluster}))
    posted = f.request("restart-connect")
    preview = text_of(f.message(posted))
    assert all(name in preview for name in matching_before) and other not in preview

    f.press(posted, APPROVER)
    record = f.wait_final(posted.id)
    assert record.state is ApprovalState.SUCCEEDED, record.error
    matching_after = pods(sandbox.kube, f"strimzi.io/cluster={cluster}")
    # Same names (Strimzi recreates them), new pods, and the other cluster's pod untouched.
    assert set(matching_after) == set(matching_before)
    assert all(matching_after[n] != matching_before[n] for n in matching_before)
    assert pods(sandbox.kube, f"strimzi.io/cluster={other}") == bystander_before
    deletes = [p for m, p in sandbox.kube.requests if m == "DELETE" and f"/namespaces/{NS}/pods/" in p]
    assert sorted(p.rsplit("/", 1)[1] for p in deletes if cluster in p and other not in p) == sorted(matching_before)
    assert not [p for p in deletes if other in p]


def test_restart_connect_drift_after_the_preview_runs_nothing(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    cluster = unique("connect")
    put_connect_pod(sandbox.kube, cluster, f"{cluster}-connect-0")
    f = flow(action_services({"connect_cluster": cluster}))
    posted = f.request("restart-connect")
    put_connect_pod(sandbox.kube, cluster, f"{cluster}-connect-1")  # the world moves on
    before = pods(sandbox.kube, f"strimzi.io/cluster={cluster}")
    f.press(posted, APPROVER)
    record = f.wait_final(posted.id)
    assert record.state is ApprovalState.DRIFTED
    assert pods(sandbox.kube, f"strimzi.io/cluster={cluster}") == before  # nothing deleted
    final = text_of(f.message(posted))
    assert f"+{cluster}-connect-1" in final and "request again" in final and not has_buttons(f.message(posted))
    assert f.audit_events(posted.id)[-1] == "action.drifted"


def test_scale_streams_runs_and_a_changed_replica_count_is_drift(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name, replicas=2)
    f = flow(action_services({"streams_deployment": name}))
    posted = f.request("scale-streams 4")
    assert "2 → 4 replicas" in text_of(f.message(posted))
    f.press(posted, LEAD)
    assert f.wait_final(posted.id).state is ApprovalState.SUCCEEDED
    scaled = deployment(sandbox.kube, name)
    assert scaled["spec"]["replicas"] == 4 and scaled["status"]["readyReplicas"] == 4

    drifting = f.request("scale-streams 0")
    sandbox.kube.put({**scaled, "spec": {**scaled["spec"], "replicas": 3}})  # someone scaled it meanwhile
    f.press(drifting, APPROVER)
    record = f.wait_final(drifting.id)
    assert record.state is ApprovalState.DRIFTED
    assert record.result and record.result["changes"] == ["replicas: 4 → 3"]
    assert deployment(sandbox.kube, name)["spec"]["replicas"] == 3


def test_scale_nodegroup_resizes_it_in_eks(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    client = aws_session(sandbox.aws.endpoint_url)
    role = client("iam").get_role(RoleName=MSK_ROLE)["Role"]["Arn"]
    nodegroup = unique("nodes")
    client("eks").create_nodegroup(
        clusterName=EKS_CLUSTER,
        nodegroupName=nodegroup,
        nodeRole=role,
        subnets=["subnet-a"],
        scalingConfig={"minSize": 1, "maxSize": 6, "desiredSize": 2},
    )
    f = flow(action_services(pipeline={"eks": {"cluster": EKS_CLUSTER, "nodegroup": nodegroup}}))
    f.bot.command("action scale-nodegroup 7")
    assert "outside nodegroup" in f.private_replies(1)[0] and "max 6" in f.private_replies(1)[0]
    posted = f.request("scale-nodegroup 5")
    assert "desired 2 → 5" in text_of(f.message(posted))
    f.press(posted, APPROVER)
    assert f.wait_final(posted.id).state is ApprovalState.SUCCEEDED
    scaling = client("eks").describe_nodegroup(clusterName=EKS_CLUSTER, nodegroupName=nodegroup)["nodegroup"]
    assert scaling["scalingConfig"]["desiredSize"] == 5


def test_tune_streams_sets_env_and_keeps_the_other_variables(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    env = [{"name": "KAFKA_BATCH_SIZE", "value": "16384"}, {"name": "APP_MODE", "value": "mask"}]
    put_deployment(sandbox.kube, name, env=env)
    f = flow(action_services({"streams_deployment": name}))
    posted = f.request("tune-streams KAFKA_LINGER_MS=150")
    preview = text_of(f.message(posted))
    assert "KAFKA_BATCH_SIZE 16384 → 1000000" in preview and "KAFKA_LINGER_MS (unset) → 150" in preview
    f.press(posted, APPROVER)
    assert f.wait_final(posted.id).state is ApprovalState.SUCCEEDED
    container = deployment(sandbox.kube, name)["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"]: e["value"] for e in container["env"]} == {
        "KAFKA_BATCH_SIZE": "1000000",
        "APP_MODE": "mask",
        "KAFKA_LINGER_MS": "150",
    }


def test_enable_metrics_annotates_the_deployment(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name, annotations={"team": "cdc", "prometheus.io/scrape": "false"})
    f = flow(action_services({"streams_deployment": name}))
    posted = f.request("enable-metrics")
    assert "prometheus.io/scrape: false → true" in text_of(f.message(posted))
    f.press(posted, APPROVER)
    assert f.wait_final(posted.id).state is ApprovalState.SUCCEEDED
    annotations = deployment(sandbox.kube, name)["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "8080"
    assert annotations["team"] == "cdc"
    f.bot.command("action enable-metrics")
    assert "nothing to do" in f.private_replies(1)[0]


@pytest.mark.parametrize("spec_field", ["state", "pause"])
def test_pause_and_resume_connector(
    spec_field: str, sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("connector")
    spec = {"state": "running"} if spec_field == "state" else {"pause": False}
    sandbox.kube.put(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnector",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"class": "io.debezium.connector.oracle.OracleConnector", "tasksMax": 1, **spec},
            "status": connector_status("RUNNING", ["RUNNING"]),
        }
    )
    f = flow(action_services({"connector": name}))
    posted = f.request("pause-connector")
    assert "Connector: RUNNING; tasks: task 0 RUNNING" in text_of(f.message(posted))
    f.press(posted, APPROVER)
    assert f.wait_final(posted.id).state is ApprovalState.SUCCEEDED
    paused = sandbox.kube.get("kafka.strimzi.io/v1beta2", "KafkaConnector", NS, name)
    assert paused is not None
    if spec_field == "state":
        assert paused["spec"]["state"] == "paused"
    else:  # an older Strimzi resource keeps its older field
        assert paused["spec"]["pause"] is True and "state" not in paused["spec"]
    resumed = f.request("resume-connector")
    f.press(resumed, LEAD)
    assert f.wait_final(resumed.id).state is ApprovalState.SUCCEEDED
    spec_now = sandbox.kube.get("kafka.strimzi.io/v1beta2", "KafkaConnector", NS, name)["spec"]  # type: ignore[index]
    assert spec_now.get("state", "running") == "running" and not spec_now.get("pause")


def test_rotate_credentials_changes_the_secret_and_shows_the_password_to_no_one(
    sandbox: Sandbox,
    action_services: Callable[..., Services],
    flow: Callable[[Services], Flow],
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret, cluster, sm_secret = unique("creds"), unique("connect"), unique("cdc/debezium")
    old_password = "Old-Password-" + uuid.uuid4().hex
    sandbox.kube.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret, "namespace": NS},
            "stringData": {"username": "debezium", "password": old_password},
        }
    )
    put_connect_pod(sandbox.kube, cluster, f"{cluster}-connect-0")
    connect_before = pods(sandbox.kube, f"strimzi.io/cluster={cluster}")
    secrets_manager = aws_session(sandbox.aws.endpoint_url)("secretsmanager")
    secrets_manager.create_secret(
        Name=sm_secret, SecretString=json.dumps({"username": "debezium", "password": old_password})
    )
    caplog.set_level(logging.DEBUG)
    f = flow(
        action_services({"credentials_secret": secret, "connect_cluster": cluster, "secrets_manager_secret": sm_secret})
    )
    posted = f.request("rotate-credentials")
    preview = text_of(f.message(posted))
    assert "keys password, username" in preview and sm_secret in preview and old_password not in preview
    f.press(posted, APPROVER)
    record = f.wait_final(posted.id)
    assert record.state is ApprovalState.SUCCEEDED, record.error
    logged = "\n".join(
        [r.getMessage() for r in caplog.records] + [caplog.text]
    )  # taken before this test reads the secret back itself

    stored = sandbox.kube.get("v1", "Secret", NS, secret)
    assert stored is not None
    data = {k: base64.b64decode(v).decode() for k, v in stored["data"].items()}
    new_password = data["password"]
    assert data["username"] == "debezium" and new_password != old_password and len(new_password) >= 24
    in_aws = json.loads(secrets_manager.get_secret_value(SecretId=sm_secret)["SecretString"])
    assert in_aws == {"username": "debezium", "password": new_password}
    connect_after = pods(sandbox.kube, f"strimzi.io/cluster={cluster}")
    assert connect_after.keys() == connect_before.keys() and connect_after != connect_before  # restarted
    # The Oracle side is the operator's: the result says how to finish without showing the value.
    assert "ALTER USER" in text_of(f.message(posted)) and "kubectl get secret" in text_of(f.message(posted))

    forms = [new_password, base64.b64encode(new_password.encode()).decode()]
    slack_seen = json.dumps([c.args for c in f.bot.slack.calls]) + repr(f.bot.slack.uploaded_files)
    store_seen = json.dumps(
        [[e.event, e.details] for e in f.services.store.recent_audit(100)]
        + [record.preview, record.result, record.error, record.args],
        default=str,
    )
    for form in forms:
        assert form not in slack_seen
        assert form not in logged
        assert form not in store_seen
    assert "botocore" in logged  # DEBUG logging was on, so the absence above means something


def test_recreate_topics_creates_only_the_missing_ones(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    prefix = f"{unique('backups')}/"
    f = flow(action_services(pipeline={"backups": {"bucket": "demo-rt-the-one-backups", "prefix": prefix}}))
    aws = f.services.clients(f.services.config.pipeline()).aws
    kafka = f.services.clients(f.services.config.pipeline()).kafka
    missing_a, missing_b = unique("restore.orders"), unique("restore.audit")
    day = date(2026, 11, 20)
    write_topic_backup(
        aws,
        "demo-rt-the-one-backups",
        prefix,
        "sandbox",
        [
            TopicInfo("oracle.inventory.customers", 12, 1),  # exists (3 partitions): must stay as it is
            TopicInfo(missing_a, 4, 1),
            TopicInfo(missing_b, 1, 1, {"cleanup.policy": "compact"}),
        ],
        taken_at=datetime(2026, 11, 20, 18, 0, tzinfo=UTC),
        day=day,
    )
    write_topic_backup(aws, "demo-rt-the-one-backups", prefix, "sandbox", [], day=date(2026, 11, 19))
    f.bot.command("action recreate-topics 2026-11-18")
    reply = f.private_replies(1)[0]
    assert "No topic backup for 2026-11-18" in reply and "2026-11-20, 2026-11-19" in reply

    posted = f.request("recreate-topics 20261120")
    preview = text_of(f.message(posted))
    assert f"{missing_a}: 4 partitions, replication 1" in preview and "Missing now (2)" in preview
    assert "oracle.inventory.customers:" not in preview
    f.press(posted, APPROVER)
    record = f.wait_final(posted.id)
    assert record.state is ApprovalState.SUCCEEDED, record.error
    topics = kafka.list_topics()
    assert topics[missing_a].partitions == 4 and topics[missing_b].partitions == 1
    assert topics["oracle.inventory.customers"].partitions == 3
    f.bot.command("action recreate-topics 2026-11-20")
    assert "nothing to recreate" in f.private_replies(2)[-1]


# --- who may press, when, and how often ---------------------------------------------------------------------


def test_expired_request_cannot_be_approved(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name)
    f = flow(action_services({"streams_deployment": name}))
    posted = f.request("restart-streams")
    with f.services.store.session() as session:  # fifteen minutes pass
        session.execute(
            update(Approval).where(Approval.id == posted.id).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    f.press(posted, STRANGER)  # a wrong-person press changes nothing, not even the expiry
    assert "Only approvers" in f.private_replies(1)[0] and f.state(posted.id) == "pending"
    f.press(posted, APPROVER)
    assert "expired" in f.private_replies(2)[-1]
    record = f.wait_final(posted.id)
    assert record.state is ApprovalState.EXPIRED
    assert "Expired" in text_of(f.message(posted)) and not has_buttons(f.message(posted))
    f.press(posted, LEAD)
    assert "expired" in f.private_replies(3)[-1]
    assert patches_of(sandbox.kube, name) == 0


def test_deny_and_withdraw_are_final(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name)
    f = flow(action_services({"streams_deployment": name}))
    denied, withdrawn = f.request("restart-streams"), f.request("scale-streams 3")
    f.press(denied, STRANGER, "deny")
    assert "Only approvers" in f.private_replies(1)[0]
    f.press(denied, LEAD, "deny")
    f.press(withdrawn, OPERATOR, "deny")
    assert f.wait_final(denied.id).state is ApprovalState.DENIED
    assert f.wait_final(withdrawn.id).state is ApprovalState.DENIED
    assert "Denied by <@U0LEAD>" in text_of(f.message(denied))
    assert "Withdrawn by the requester" in text_of(f.message(withdrawn))
    f.press(denied, APPROVER)
    assert "already denied" in f.private_replies(2)[-1]
    assert patches_of(sandbox.kube, name) == 0 and deployment(sandbox.kube, name)["spec"]["replicas"] == 2


def test_forged_or_altered_button_values_run_nothing(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name)
    f = flow(action_services({"streams_deployment": name}))
    posted = f.request("restart-streams")
    f.press(posted, APPROVER, value="not-an-approval")
    f.press(posted, APPROVER, value=posted.id + "x")
    f.press(posted, APPROVER, value=json.dumps({"action": "restart-streams", "pipeline": "sandbox"}))
    # The right id pressed on some other message is not this approval's button either.
    f.bot.press("approval_approve", posted.id, APPROVER, "1111111111.000001")
    replies = f.private_replies(4)
    assert all("unknown" in r for r in replies)
    time.sleep(0.2)
    assert f.state(posted.id) == "pending" and patches_of(sandbox.kube, name) == 0
    assert len(f.services.store.recent_audit(20)) == 5  # the request, and four rejected presses


def test_double_click_and_two_approvers_at_once_run_once(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name)
    f = flow(action_services({"streams_deployment": name}))
    posted = f.request("restart-streams")
    presses = [APPROVER, APPROVER, LEAD, LEAD, APPROVER, LEAD]
    barrier = threading.Barrier(len(presses))
    statuses: list[int] = []

    def press(user: str) -> None:
        barrier.wait()
        statuses.append(f.press(posted, user))

    threads = [threading.Thread(target=press, args=(user,)) for user in presses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(presses)
    assert f.wait_final(posted.id).state is ApprovalState.SUCCEEDED
    assert patches_of(sandbox.kube, name) == 1
    events = f.audit_events(posted.id)
    assert events.count("action.approved") == 1 and events.count("action.started") == 1
    assert sum("already" in r for r in f.private_replies(len(presses) - 1)) == len(presses) - 1


def test_two_bots_on_one_postgresql_database_run_once(
    sandbox: Sandbox, make_config: Callable[..., Config], start_bot: StartBot, pg_url: str
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name)
    config = make_config({"kubernetes": {"namespace": NS, "streams_deployment": name}}, actions=FAST)
    first = Flow(start_bot(build_services(config, database_url=pg_url)))
    second = Flow(start_bot(build_services(config, database_url=pg_url)))
    posted = first.request("restart-streams")
    presses = [(first, APPROVER), (second, LEAD), (second, APPROVER), (first, LEAD)]
    barrier = threading.Barrier(len(presses))

    def press(bot: Flow, user: str) -> None:
        barrier.wait()
        bot.press(posted, user)

    threads = [threading.Thread(target=press, args=p) for p in presses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = second.wait_final(posted.id)
    assert record.state is ApprovalState.SUCCEEDED
    time.sleep(0.3)  # a second runner, if there were one, would have patched by now
    assert patches_of(sandbox.kube, name) == 1
    events = first.audit_events(posted.id)
    assert events.count("action.approved") == 1 and events.count("action.started") == 1
    assert events.count("action.succeeded") == 1


# --- progress and failure ------------------------------------------------------------------------------------


def test_progress_is_shown_while_a_rollout_is_waited_for(
    make_config: Callable[..., Config], start_bot: StartBot, tmp_path: Any
) -> None:
    # A cluster whose controller takes its time, so the wait loop really waits.
    with FakeKubeServer(controller_delay=0.4) as slow:
        kubeconfig = tmp_path / "slow-kubeconfig"
        slow.write_kubeconfig(str(kubeconfig), context="slow", namespace=NS)
        put_deployment(slow, "pii-masking", replicas=2)
        time.sleep(0.6)
        config = make_config(
            {"kubernetes": {"kubeconfig": str(kubeconfig), "context": "slow", "namespace": NS}}, actions=FAST
        )
        f = Flow(start_bot(build_services(config, database_url=f"sqlite:///{tmp_path}/slow.db")))
        posted = f.request("restart-streams")
        f.press(posted, APPROVER)
        record = f.wait_final(posted.id)
        assert record.state is ApprovalState.SUCCEEDED, record.error
        progress = [
            json.dumps(c.args["blocks"])
            for c in f.bot.slack.calls_to("chat.update")
            if "Running" in c.args["blocks"][0]["text"]["text"]
        ]
        assert any("rollout: 2 old replicas pending termination" in p for p in progress), progress
        assert (record.result or {}).get("duration_ms", 0) >= 300


def test_a_rollout_that_never_finishes_fails_and_says_where_things_stand(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("stuck")
    counts = {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "observedGeneration": 1}
    put_deployment(sandbox.kube, name, annotations={"sandbox.cdc-bot/controller": "off"}, status=counts)
    f = flow(action_services({"streams_deployment": name}))
    posted = f.request("restart-streams")
    f.press(posted, APPROVER)
    record = f.wait_final(posted.id, timeout=15)
    assert record.state is ApprovalState.FAILED
    assert record.error and "timed out after 3s waiting for rollout" in record.error
    final = text_of(f.message(posted))
    assert "State now" in final and "waiting for the deployment controller" in final
    assert f.audit_events(posted.id)[-1] == "action.failed"


# --- pure helpers ---------------------------------------------------------------------------------------------


def test_backup_format_round_trip_and_dates(sandbox: Sandbox, make_services: Callable[..., Services]) -> None:
    services = make_services()
    aws = services.clients(services.config.pipeline()).aws
    prefix = f"{unique('fmt')}/"
    key = write_topic_backup(
        aws,
        "demo-rt-the-one-backups",
        prefix,
        "sandbox",
        [TopicInfo("b.topic", 2, 1, {"retention.ms": "1000"}), TopicInfo("__consumer_offsets", 50, 1)],
        taken_at=datetime(2026, 11, 26, 2, 0, tzinfo=UTC),
    )
    assert key == f"{prefix}topics-20261126.json"
    aws.put_object("demo-rt-the-one-backups", f"{prefix}old/topics-20200101.json", b"{}")
    assert list_backup_dates(aws, "demo-rt-the-one-backups", prefix) == [date(2026, 11, 26)]
    backup = read_topic_backup(aws, "demo-rt-the-one-backups", prefix, date(2026, 11, 26))
    assert backup.pipeline == "sandbox" and backup.topics == [TopicInfo("b.topic", 2, 1, {"retention.ms": "1000"})]
    document = json.loads(aws.get_object("demo-rt-the-one-backups", key))
    assert set(document) == {"taken_at", "pipeline", "topics"}
    assert document["topics"][0] == {
        "name": "b.topic",
        "partitions": 2,
        "replication_factor": 1,
        "configs": {"retention.ms": "1000"},
    }
    assert parse_backup_date("2026-11-26") == parse_backup_date("20261126") == date(2026, 11, 26)
    with pytest.raises(ValueError):
        parse_backup_date("26/11/2026")


def test_fingerprint_changes_read_like_a_diff() -> None:
    before = {"replicas": 3, "pods": ["a", "b"], "env": {"app": {"X": "1"}}}
    after = {"replicas": 4, "pods": ["b", "c"], "env": {"app": {"X": None}}}
    assert fingerprint_changes(before, after) == ["env.app.X: 1 → (none)", "pods: +c -a", "replicas: 3 → 4"]
    assert fingerprint_changes(before, json.loads(json.dumps(before))) == []


def scheduler_runtime(f: Flow) -> SchedulerRuntime:
    """The scheduler runtime the wiring built for this bot: its sweep uses the buttons' ApprovalService."""
    assert f.bot.wired is not None
    return f.bot.wired.scheduler.runtime


def test_sweep_expires_a_pending_request_nobody_pressed(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name)
    f = flow(action_services({"streams_deployment": name}))
    stale, fresh = f.request("restart-streams"), f.request("scale-streams 3")
    with f.services.store.session() as session:  # fifteen minutes pass for one of them
        session.execute(
            update(Approval).where(Approval.id == stale.id).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    lease = f"test-expiry-{name}"
    runtime = scheduler_runtime(f)
    register_runtime(lease, runtime)
    try:
        assert expire_approvals_job(lease) == 1
        assert expire_approvals_job(lease) == 0  # already final: a second sweep changes nothing
    finally:
        unregister_runtime(lease, runtime)
    assert f.wait_final(stale.id).state is ApprovalState.EXPIRED
    assert "Expired" in text_of(f.message(stale)) and not has_buttons(f.message(stale))
    assert f.state(fresh.id) == "pending" and has_buttons(f.message(fresh))
    assert patches_of(sandbox.kube, name) == 0


def test_sweep_ends_requests_whose_bot_stopped_under_them(
    sandbox: Sandbox, action_services: Callable[..., Services], flow: Callable[[Services], Flow]
) -> None:
    name = unique("streams")
    put_deployment(sandbox.kube, name)
    f = flow(action_services({"streams_deployment": name}))
    never_started, left_running = f.request("restart-streams"), f.request("scale-streams 3")
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    with f.services.store.session() as session:  # a bot approved one and started the other, then died
        session.execute(
            update(Approval)
            .where(Approval.id == never_started.id)
            .values(state="approved", decided_by=APPROVER, decided_at=long_ago)
        )
        session.execute(
            update(Approval)
            .where(Approval.id == left_running.id)
            .values(state="running", decided_by=APPROVER, decided_at=long_ago, started_at=long_ago)
        )
    lease = f"test-abandoned-{name}"
    runtime = scheduler_runtime(f)
    register_runtime(lease, runtime)
    try:
        assert expire_approvals_job(lease) == 2
        assert expire_approvals_job(lease) == 0
    finally:
        unregister_runtime(lease, runtime)
    first, second = f.wait_final(never_started.id), f.wait_final(left_running.id)
    assert first.state is ApprovalState.FAILED and "nothing was run" in (first.error or "")
    assert second.state is ApprovalState.FAILED and "outcome is unknown" in (second.error or "")
    assert "nothing was run" in text_of(f.message(never_started)) and not has_buttons(f.message(never_started))
    assert patches_of(sandbox.kube, name) == 0
