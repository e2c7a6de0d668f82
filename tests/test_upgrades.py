"""Version upgrades: `/cdc upgrade msk-versions` on moto (which lacks ListKafkaVersions), and `debezium-rebuild`
followed to the end while the test plays Strimzi (annotation taken, build pod with a log, Connect pods rolled).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import kubernetes
import pytest

from bot.actions.rebuild import FORCE_REBUILD
from bot.actions.service import ApprovalRecord, ApprovalState
from bot.actions.upgrades import evaluate_versions, version_key
from bot.sandbox.fake_kube import FakeKubeServer
from bot.services import Services
from tests.conftest import BotServer

NS = "kafka-upgrades"
OPERATOR, APPROVER = "U0OPERATOR", "U0APPROVER"
FAST_ACTIONS = {"timeout": "3s", "poll_interval": "0.05s", "progress_interval": "0s", "build_timeout": "10s"}
FINAL = {s.value for s in ApprovalState} - {"pending", "approved", "running"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def put_connect(kube: FakeKubeServer, cluster: str, build: bool = True, replicas: int = 2) -> list[str]:
    spec: dict[str, Any] = {"replicas": replicas, "version": "3.5.1", "bootstrapServers": "msk:9098"}
    if build:
        spec["build"] = {
            "output": {"type": "docker", "image": f"registry.example/{cluster}:latest"},
            "plugins": [
                {
                    "name": "debezium-oracle",
                    "artifacts": [{"type": "tgz", "url": "https://repo1.maven.org/debezium-oracle-2.5.0.Final.tgz"}],
                }
            ],
        }
    kube.put(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnect",
            "metadata": {"name": cluster, "namespace": NS},
            "spec": spec,
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    names = [f"{cluster}-connect-{i}" for i in range(replicas)]
    for name in names:
        # Owned by a StrimziPodSet: the API server brings a deleted one back under its name, as Strimzi does.
        kube.put(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": NS,
                    "labels": {
                        "strimzi.io/cluster": cluster,
                        "strimzi.io/kind": "KafkaConnect",
                        "strimzi.io/name": f"{cluster}-connect",
                    },
                    "ownerReferences": [
                        {
                            "apiVersion": "core.strimzi.io/v1beta2",
                            "kind": "StrimziPodSet",
                            "name": cluster,
                            "uid": cluster,
                        }
                    ],
                },
                "spec": {"containers": [{"name": "connect", "image": f"registry.example/{cluster}:old"}]},
            }
        )
    return names


class StrimziBuild(threading.Thread):
    """What the Strimzi operator does on `strimzi.io/force-rebuild=true`: a build pod, its log, then a roll."""

    def __init__(self, kube: FakeKubeServer, cluster: str, pods: list[str], fail: bool = False) -> None:
        super().__init__(daemon=True)
        self.kube, self.cluster, self.pods, self.fail = kube, cluster, pods, fail
        self.stopped = threading.Event()
        self.build_pod = f"{cluster}-connect-build"
        self.api = kubernetes.client.CustomObjectsApi(kubernetes.client.ApiClient(kube.configuration()))

    def _pod(self, phase: str) -> None:
        self.kube.put(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": self.build_pod,
                    "namespace": NS,
                    "labels": {
                        "strimzi.io/cluster": self.cluster,
                        "strimzi.io/kind": "KafkaConnect",
                        "strimzi.io/name": self.build_pod,
                    },
                },
                "spec": {"containers": [{"name": self.build_pod, "image": "quay.io/strimzi/kaniko-executor:0.38"}]},
                "status": {"phase": phase},
            }
        )

    def _log(self, *lines: str) -> None:
        self.kube.set_pod_log(NS, self.build_pod, "".join(f"{line}\n" for line in lines))

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            obj = self.kube.get("kafka.strimzi.io/v1beta2", "KafkaConnect", NS, self.cluster)
            if obj and (obj["metadata"].get("annotations") or {}).get(FORCE_REBUILD) == "true":
                break
        else:
            return
        # Strimzi takes the annotation off when it starts building.
        self.api.patch_namespaced_custom_object(
            "kafka.strimzi.io",
            "v1beta2",
            NS,
            "kafkaconnects",
            self.cluster,
            {"metadata": {"annotations": {FORCE_REBUILD: None}}},
        )
        self._pod("Pending")
        time.sleep(0.2)
        log = ["INFO Retrieving image manifest quay.io/strimzi/kafka:0.38.0-kafka-3.5.1"]
        self._log(*log)
        self._pod("Running")
        time.sleep(0.3)
        if self.fail:
            self._log(*log, "ERROR Failed to download https://repo1.maven.org/debezium-oracle-2.5.0.Final.tgz: 404")
            self._pod("Failed")
            return
        log += ["INFO Unpacking debezium-oracle-2.5.0.Final.tgz", "INFO Pushing image to registry.example"]
        self._log(*log)
        time.sleep(0.3)
        self._log(*log, "INFO Pushed image registry.example@sha256:5eed")
        self._pod("Succeeded")
        time.sleep(0.2)
        for name in self.pods:  # the rolling update onto the new image
            self.kube.delete("v1", "Pod", NS, name)
            time.sleep(0.1)


@pytest.fixture
def strimzi(sandbox: Any) -> Iterator[Callable[..., StrimziBuild]]:
    started: list[StrimziBuild] = []

    def start(cluster: str, pods: list[str], fail: bool = False) -> StrimziBuild:
        thread = StrimziBuild(sandbox.kube, cluster, pods, fail)
        thread.start()
        started.append(thread)
        return thread

    yield start
    for thread in started:
        thread.stopped.set()
        thread.join(timeout=5)


def _bot(make_services: Callable[..., Services], start_bot: Callable[[Services], BotServer], cluster: str) -> BotServer:
    services = make_services({"kubernetes": {"namespace": NS, "connect_cluster": cluster}}, actions=FAST_ACTIONS)
    return start_bot(services)


def _request(bot: BotServer, text: str) -> ApprovalRecord:
    status, _ = bot.command(text, user_id=OPERATOR)
    assert status == 200
    posted = bot.slack.wait_for("chat.postMessage", predicate=lambda c: "approval_approve" in json.dumps(c.args))[-1]
    approval_id = next(e["value"] for b in posted.args["blocks"] if b["type"] == "actions" for e in b["elements"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        row = bot.services.store.approvals.get(approval_id)
        if row is not None and row.message_ts:
            return ApprovalRecord.model_validate(row)
        time.sleep(0.01)
    raise AssertionError("the approval never got its message ts")


def _final(bot: BotServer, approval_id: str, timeout: float = 15) -> ApprovalRecord:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = bot.services.store.approvals.get(approval_id)
        if row is not None and row.state in FINAL:
            return ApprovalRecord.model_validate(row)
        time.sleep(0.02)
    raise AssertionError(f"approval {approval_id} did not finish")


def _pods(kube: FakeKubeServer, cluster: str) -> dict[str, str]:
    found = kube.list("v1", "Pod", NS, f"strimzi.io/cluster={cluster}")
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in found if not p["metadata"]["name"].endswith("-build")}


def test_msk_versions_degrades_clearly_where_the_api_is_missing(
    sandbox: Any, make_services: Any, start_bot: Any
) -> None:
    bot = start_bot(make_services())  # the seeded pipeline, read only: MSK on moto, KafkaConnect in `kafka`
    bot.command("upgrade msk-versions", user_id="U0ANYONE")
    posted = bot.slack.wait_for("chat.postMessage", predicate=lambda c: "MSK Kafka versions" in c.args["text"])[-1]
    text = json.dumps(posted.args["blocks"])
    assert "ListKafkaVersions" in text and "unavailable" in text and "HTTP 404" in text
    assert "runs Kafka `3.5.1`" in text and "DescribeCluster" in text  # the cluster's version, from describe
    assert "Kafka Connect debezium-connect-cluster `3.5.1`" in text
    assert "ListKafkaVersions unavailable" in posted.args["text"]
    bot.command("upgrade msk-version", user_id="U0ANYONE")
    assert "Usage" in json.dumps(bot.slack.wait_for("response_url")[-1].args)


def test_version_candidates_are_newer_active_and_judged_against_the_clients() -> None:
    offered = [
        ("3.4.0", "ACTIVE"),
        ("3.5.1", "ACTIVE"),
        ("3.6.0", "DEPRECATED"),
        ("3.7.x.kraft", "ACTIVE"),
        ("3.9.x", "ACTIVE"),
        ("4.0.x.kraft", "ACTIVE"),
    ]
    options, skipped = evaluate_versions("3.5.1", offered, [("Kafka Connect c", "3.5.1")])
    assert [o.version for o in options] == ["3.7.x.kraft", "3.9.x", "4.0.x.kraft"] and skipped == 3
    assert all(o.supported for o in options) and "KIP-896" in options[-1].note
    old_client, _ = evaluate_versions("3.5.1", offered, [("Kafka Connect c", "2.0.1")])
    assert [o.supported for o in old_client] == [True, True, False] and "2.0.1" in old_client[-1].note
    assert version_key("3.7.x.kraft") == (3, 7) < version_key("3.9.x") < version_key("4.0.x.kraft")


def test_debezium_rebuild_follows_the_build_until_connect_is_back(
    sandbox: Any, make_services: Any, start_bot: Any, strimzi: Callable[..., StrimziBuild]
) -> None:
    cluster = unique("connect")
    names = put_connect(sandbox.kube, cluster)
    before = _pods(sandbox.kube, cluster)
    bot = _bot(make_services, start_bot, cluster)
    approval = _request(bot, "upgrade debezium-rebuild")
    preview = json.dumps(bot.slack.message("C0OPS", approval.message_ts), ensure_ascii=False)
    assert "debezium-oracle: tgz https://repo1.maven.org/debezium-oracle-2.5.0.Final.tgz" in preview
    assert f"{FORCE_REBUILD}: (unset) → true" in preview and f"strimzi.io/name={cluster}-connect-build" in preview
    strimzi(cluster, names)
    bot.press("approval_approve", approval.id, APPROVER, approval.message_ts)  # type: ignore[arg-type]
    record = _final(bot, approval.id)
    assert record.state is ApprovalState.SUCCEEDED, (record.error, record.result)

    after = _pods(sandbox.kube, cluster)
    assert after.keys() == before.keys() and all(after[n] != before[n] for n in before)  # rolled onto the new image
    connect = sandbox.kube.get("kafka.strimzi.io/v1beta2", "KafkaConnect", NS, cluster)
    assert FORCE_REBUILD not in (connect["metadata"].get("annotations") or {})  # taken by "Strimzi"
    # The approval message followed the build in place: phase, log tail, then the Connect pods.
    updates = [
        json.dumps(c.args["blocks"])
        for c in bot.slack.calls_to("chat.update")
        if c.args.get("ts") == approval.message_ts
    ]
    assert any(f"build pod {cluster}-connect-build: Running" in u and "Retrieving image manifest" in u for u in updates)
    assert any("Pushing image" in u for u in updates)
    assert any(f"build pod {cluster}-connect-build: Succeeded" in u for u in updates)
    assert "Pushed image registry.example@sha256:5eed" in " ".join(record.result["after"])  # type: ignore[index]
    assert "replaced and Ready" in (record.result or {}).get("summary", "")


def test_debezium_rebuild_whose_build_fails_says_so_and_keeps_the_old_pods(
    sandbox: Any, make_services: Any, start_bot: Any, strimzi: Callable[..., StrimziBuild]
) -> None:
    cluster = unique("connect")
    names = put_connect(sandbox.kube, cluster)
    before = _pods(sandbox.kube, cluster)
    bot = _bot(make_services, start_bot, cluster)
    approval = _request(bot, "action debezium-rebuild")
    strimzi(cluster, names, fail=True)
    bot.press("approval_approve", approval.id, APPROVER, approval.message_ts)  # type: ignore[arg-type]
    record = _final(bot, approval.id)
    assert record.state is ApprovalState.FAILED
    assert record.error == f"the build pod {cluster}-connect-build failed"
    state_now = " ".join((record.result or {}).get("state_now") or [])
    assert "404" in state_now and "Connect pods unchanged (old image)" in state_now
    assert _pods(sandbox.kube, cluster) == before

    plain = unique("connect")
    put_connect(sandbox.kube, plain, build=False, replicas=1)
    other = _bot(make_services, start_bot, plain)
    other.command("upgrade debezium-rebuild", user_id=OPERATOR)
    assert "has no `spec.build`" in json.dumps(other.slack.wait_for("response_url")[-1].args)
