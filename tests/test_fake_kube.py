"""The sandbox Kubernetes API server, exercised only through the real `kubernetes` client over HTTP."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from bot.sandbox.fake_kube import CONTROLLER_ANNOTATION, FakeKubeServer

NS = "kafka"
CONNECT_CLUSTER = "debezium-connect-cluster"
CONNECT_SELECTOR = f"strimzi.io/cluster={CONNECT_CLUSTER}"
STRIMZI = ("kafka.strimzi.io", "v1beta2")


@pytest.fixture
def server() -> Iterator[FakeKubeServer]:
    with FakeKubeServer() as fake:
        yield fake


@pytest.fixture
def api(server: FakeKubeServer) -> Iterator[client.ApiClient]:
    with client.ApiClient(server.configuration()) as api_client:
        yield api_client


def _deployment(name: str, replicas: int, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "annotations": annotations or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "tier": "streams"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.local/{name}:1.4",
                            "env": [{"name": "KEEP", "value": "1"}, {"name": "MASK_MODE", "value": "hash"}],
                        },
                        {"name": "metrics", "image": "registry.local/jmx-exporter:0.20"},
                    ]
                },
            },
        },
    }


def _strimzi_pod(name: str, cluster: str, podset: dict[str, Any], namespace: str = NS) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"strimzi.io/cluster": cluster, "strimzi.io/kind": "KafkaConnect"},
            "ownerReferences": [
                {
                    "apiVersion": "core.strimzi.io/v1beta2",
                    "kind": "StrimziPodSet",
                    "name": podset["metadata"]["name"],
                    "uid": podset["metadata"]["uid"],
                    "controller": True,
                }
            ],
        },
        "spec": {"containers": [{"name": "connect", "image": "quay.io/strimzi/kafka:0.43.0-kafka-3.8.0"}]},
    }


def _seed_pipeline(server: FakeKubeServer) -> None:
    """The pipeline's pods: Strimzi Connect workers, a Kafka broker, pii-masking and a stray pod."""
    podset = server.put(
        {
            "apiVersion": "core.strimzi.io/v1beta2",
            "kind": "StrimziPodSet",
            "metadata": {"name": f"{CONNECT_CLUSTER}-connect", "namespace": NS},
            "spec": {"pods": []},
        }
    )
    for index in range(3):
        server.put(_strimzi_pod(f"{CONNECT_CLUSTER}-connect-{index}", CONNECT_CLUSTER, podset))
    broker = _strimzi_pod("my-cluster-kafka-0", "my-cluster", podset)
    broker["metadata"]["ownerReferences"] = []
    server.put(broker)
    server.put({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "toolbox", "namespace": NS}})
    # same label, other namespace: namespaced calls must never reach it
    server.put(_strimzi_pod(f"{CONNECT_CLUSTER}-connect-0", CONNECT_CLUSTER, podset, namespace="staging"))
    server.put(_deployment("pii-masking", 2))


def _wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def _pod_ready(pod: client.V1Pod) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _status_reason(exc: ApiException) -> str:
    return str(json.loads(exc.body)["reason"])


# --- lists and selectors ----------------------------------------------------------------------------------


def test_label_and_field_selectors_on_list(server: FakeKubeServer, api: client.ApiClient) -> None:
    _seed_pipeline(server)
    core = client.CoreV1Api(api)

    def names(**kwargs: Any) -> list[str]:
        return [p.metadata.name for p in core.list_namespaced_pod(NS, **kwargs).items]

    connect = [f"{CONNECT_CLUSTER}-connect-{i}" for i in range(3)]
    assert names(label_selector=CONNECT_SELECTOR) == connect
    assert names(label_selector="strimzi.io/cluster in (my-cluster, nope)") == ["my-cluster-kafka-0"]
    assert names(label_selector="strimzi.io/cluster") == connect + ["my-cluster-kafka-0"]
    assert "toolbox" in names(label_selector="!strimzi.io/cluster")
    not_connect = names(label_selector=f"strimzi.io/cluster!={CONNECT_CLUSTER}")
    assert "toolbox" in not_connect and "my-cluster-kafka-0" in not_connect and connect[0] not in not_connect
    assert names(label_selector="strimzi.io/cluster notin (my-cluster),strimzi.io/kind=KafkaConnect") == connect
    masking = names(label_selector="app=pii-masking,tier==streams")
    assert len(masking) == 2 and all(name.startswith("pii-masking-") for name in masking)
    assert names(field_selector=f"metadata.name={connect[1]}") == [connect[1]]
    assert len(names(field_selector="status.phase=Running")) == 7
    assert names(field_selector="status.phase!=Running") == []

    everywhere = core.list_pod_for_all_namespaces(label_selector=CONNECT_SELECTOR).items
    assert sorted({p.metadata.namespace for p in everywhere}) == ["kafka", "staging"] and len(everywhere) == 4

    listed = core.list_namespaced_pod(NS)
    assert listed.kind == "PodList" and listed.api_version == "v1" and listed.metadata.resource_version
    first = core.list_namespaced_pod(NS, limit=4)
    rest = core.list_namespaced_pod(NS, limit=4, _continue=first.metadata._continue)
    assert [p.metadata.name for p in first.items + rest.items] == [p.metadata.name for p in listed.items]

    with pytest.raises(ApiException) as bad:
        core.list_namespaced_pod(NS, label_selector="app in (")
    assert bad.value.status == 400
    with pytest.raises(ApiException) as watch:
        core.list_namespaced_pod(NS, watch=True, _preload_content=False)
    assert watch.value.status == 400


def test_label_scoped_delete_leaves_other_pods_untouched(server: FakeKubeServer, api: client.ApiClient) -> None:
    _seed_pipeline(server)
    core = client.CoreV1Api(api)

    def snapshot() -> dict[tuple[str, str], tuple[str, str]]:
        pods = core.list_pod_for_all_namespaces().items
        return {(p.metadata.namespace, p.metadata.name): (p.metadata.uid, p.metadata.resource_version) for p in pods}

    before = snapshot()
    targets = {(NS, f"{CONNECT_CLUSTER}-connect-{i}") for i in range(3)}
    others = {key: value for key, value in before.items() if key not in targets}
    assert len(others) == 5  # broker, toolbox, two pii-masking pods, the staging pod

    # 1) one by one, as the bot restarts Connect: list by label, delete each listed pod
    server.requests.clear()
    for pod in core.list_namespaced_pod(NS, label_selector=CONNECT_SELECTOR).items:
        deleted = core.delete_namespaced_pod(pod.metadata.name, NS)
        assert deleted.metadata.deletion_timestamp is not None
    deletes = {path for method, path in server.requests if method == "DELETE"}
    assert deletes == {f"/api/v1/namespaces/{NS}/pods/{name}" for _, name in targets}
    after = snapshot()
    assert {key: after[key] for key in others} == others  # same uid and resourceVersion
    for key in targets:  # Strimzi brought each back under its name, as a new pod
        assert after[key][0] != before[key][0]
        pod = core.read_namespaced_pod(key[1], NS)
        assert _pod_ready(pod) and pod.status.container_statuses[0].restart_count == 0

    # 2) all at once with deletecollection and the same selector
    core.delete_collection_namespaced_pod(NS, label_selector=CONNECT_SELECTOR)
    final = snapshot()
    assert {key: final[key] for key in others} == others
    assert all(final[key][0] != after[key][0] for key in targets)


# --- deployments --------------------------------------------------------------------------------------------


def test_scale_subresource_changes_replicas_and_pods(server: FakeKubeServer, api: client.ApiClient) -> None:
    _seed_pipeline(server)
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)

    scale = apps.read_namespaced_deployment_scale("pii-masking", NS)
    assert scale.kind == "Scale" and scale.spec.replicas == 2 and scale.status.selector == "app=pii-masking"
    patched = apps.patch_namespaced_deployment_scale("pii-masking", NS, {"spec": {"replicas": 4}})
    assert patched.spec.replicas == 4
    pods = core.list_namespaced_pod(NS, label_selector="app=pii-masking").items
    assert len(pods) == 4 and all(_pod_ready(p) for p in pods)
    assert all(p.metadata.owner_references[0].kind == "ReplicaSet" for p in pods)
    deployment = apps.read_namespaced_deployment("pii-masking", NS)
    assert deployment.spec.replicas == 4
    assert (deployment.status.replicas, deployment.status.ready_replicas, deployment.status.available_replicas) == (
        4,
        4,
        4,
    )
    assert deployment.status.observed_generation == deployment.metadata.generation == 2

    body = apps.read_namespaced_deployment_scale("pii-masking", NS)
    body.spec.replicas = 1
    apps.replace_namespaced_deployment_scale("pii-masking", NS, body)
    assert len(core.list_namespaced_pod(NS, label_selector="app=pii-masking").items) == 1
    assert apps.read_namespaced_deployment_status("pii-masking", NS).status.ready_replicas == 1

    # deleting a pod of a Deployment gets it replaced under a new name
    (survivor,) = core.list_namespaced_pod(NS, label_selector="app=pii-masking").items
    core.delete_namespaced_pod(survivor.metadata.name, NS)
    (replacement,) = core.list_namespaced_pod(NS, label_selector="app=pii-masking").items
    assert replacement.metadata.name != survivor.metadata.name

    with pytest.raises(ApiException) as stale:
        body.spec.replicas = 3  # body still carries the resourceVersion read before the first replace
        apps.replace_namespaced_deployment_scale("pii-masking", NS, body)
    assert stale.value.status == 409


def test_merge_and_strategic_merge_patches(server: FakeKubeServer, api: client.ApiClient) -> None:
    server.put(_deployment("pii-masking", 2, annotations={"owner": "data-platform"}))
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    pods_before = {p.metadata.name for p in core.list_namespaced_pod(NS).items}

    merged = apps.patch_namespaced_deployment(
        "pii-masking",
        NS,
        {"metadata": {"annotations": {"cdc-bot/paused-by": "alice"}}},
        _content_type="application/merge-patch+json",
    )
    assert merged.metadata.annotations["cdc-bot/paused-by"] == "alice"
    assert merged.metadata.annotations["owner"] == "data-platform"
    assert merged.metadata.generation == 1  # metadata-only: no new generation, no rollout
    assert {p.metadata.name for p in core.list_namespaced_pod(NS).items} == pods_before
    removed = apps.patch_namespaced_deployment(
        "pii-masking", NS, {"metadata": {"annotations": {"owner": None}}}, _content_type="application/merge-patch+json"
    )
    assert "owner" not in removed.metadata.annotations

    # a dict body is sent as a strategic merge patch: containers and env merge by name
    env_patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "env": [{"name": "MASK_MODE", "value": "redact"}, {"name": "NEW_FLAG", "value": "on"}],
                        }
                    ]
                }
            }
        }
    }
    patched = apps.patch_namespaced_deployment("pii-masking", NS, env_patch)
    containers = {c.name: c for c in patched.spec.template.spec.containers}
    assert set(containers) == {"app", "metrics"}
    assert containers["app"].image == "registry.local/pii-masking:1.4"
    assert [(e.name, e.value) for e in containers["app"].env] == [
        ("KEEP", "1"),
        ("MASK_MODE", "redact"),
        ("NEW_FLAG", "on"),
    ]
    assert patched.metadata.generation == 2
    # the template changed, so the pods were rolled
    pods_after = core.list_namespaced_pod(NS).items
    assert len(pods_after) == 2 and not {p.metadata.name for p in pods_after} & pods_before
    assert all({e.name: e.value for e in p.spec.containers[0].env}["MASK_MODE"] == "redact" for p in pods_after)

    # the shape `kubectl set env` sends: ordering directives plus a `$patch: delete` item
    kubectl_style = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "app"}, {"name": "metrics"}],
                    "containers": [
                        {
                            "name": "app",
                            "$setElementOrder/env": [{"name": "KEEP"}, {"name": "MASK_MODE"}],
                            "env": [{"$patch": "delete", "name": "NEW_FLAG"}],
                        }
                    ],
                }
            }
        }
    }
    unset = apps.patch_namespaced_deployment("pii-masking", NS, kubectl_style)
    assert [e.name for e in unset.spec.template.spec.containers[0].env] == ["KEEP", "MASK_MODE"]

    # a list body is a JSON patch
    apps.patch_namespaced_deployment("pii-masking", NS, [{"op": "replace", "path": "/spec/replicas", "value": 3}])
    assert len(core.list_namespaced_pod(NS).items) == 3
    with pytest.raises(ApiException) as failed_test_op:
        apps.patch_namespaced_deployment("pii-masking", NS, [{"op": "test", "path": "/spec/replicas", "value": 9}])
    assert failed_test_op.value.status == 422


def test_rollout_restart_replaces_pods(server: FakeKubeServer, api: client.ApiClient) -> None:
    server.put(_deployment("pii-masking", 3))
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    before = {p.metadata.uid for p in core.list_namespaced_pod(NS).items}
    old_rs = apps.list_namespaced_replica_set(NS).items

    restarted_at = datetime.now(UTC).isoformat()
    restart = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": restarted_at}}}}}
    apps.patch_namespaced_deployment("pii-masking", NS, restart)

    pods = core.list_namespaced_pod(NS, label_selector="app=pii-masking").items
    assert len(pods) == 3 and not {p.metadata.uid for p in pods} & before
    assert all(_pod_ready(p) for p in pods)
    assert all(p.metadata.annotations["kubectl.kubernetes.io/restartedAt"] == restarted_at for p in pods)
    deployment = apps.read_namespaced_deployment("pii-masking", NS)
    assert deployment.status.observed_generation == deployment.metadata.generation
    assert deployment.status.updated_replicas == deployment.status.ready_replicas == 3
    replica_sets = {rs.metadata.name: rs for rs in apps.list_namespaced_replica_set(NS).items}
    assert len(replica_sets) == 2 and replica_sets[old_rs[0].metadata.name].spec.replicas == 0

    # deleting the Deployment takes its ReplicaSets and pods with it
    apps.delete_namespaced_deployment("pii-masking", NS)
    assert core.list_namespaced_pod(NS).items == [] and apps.list_namespaced_replica_set(NS).items == []


def test_controller_delay_and_opt_out() -> None:
    with FakeKubeServer(controller_delay=0.5) as server, client.ApiClient(server.configuration()) as api:
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        server.put(_deployment("pii-masking", 1))
        _wait_for(lambda: all(_pod_ready(p) for p in core.list_namespaced_pod(NS).items))
        (old,) = core.list_namespaced_pod(NS).items

        apps.patch_namespaced_deployment_scale("pii-masking", NS, {"spec": {"replicas": 2}})
        pods = core.list_namespaced_pod(NS).items
        assert len(pods) == 2 and sorted(_pod_ready(p) for p in pods) == [False, True]
        new = next(p for p in pods if not _pod_ready(p))
        assert new.status.phase == "Pending"
        assert apps.read_namespaced_deployment("pii-masking", NS).status.ready_replicas == 1
        _wait_for(lambda: apps.read_namespaced_deployment("pii-masking", NS).status.ready_replicas == 2)

        # a rollout keeps the old pods until the new ones are Ready
        restart = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}}
        apps.patch_namespaced_deployment("pii-masking", NS, restart)
        assert old.metadata.name in {p.metadata.name for p in core.list_namespaced_pod(NS).items}
        _wait_for(lambda: old.metadata.name not in {p.metadata.name for p in core.list_namespaced_pod(NS).items})
        assert len(core.list_namespaced_pod(NS).items) == 2

        # a Strimzi pod comes back not Ready, then turns Ready
        podset = server.put(
            {
                "apiVersion": "core.strimzi.io/v1beta2",
                "kind": "StrimziPodSet",
                "metadata": {"name": "c", "namespace": NS},
            }
        )
        server.put(_strimzi_pod("connect-0", CONNECT_CLUSTER, podset))
        core.delete_namespaced_pod("connect-0", NS)
        assert not _pod_ready(core.read_namespaced_pod("connect-0", NS))
        _wait_for(lambda: _pod_ready(core.read_namespaced_pod("connect-0", NS)))

        # controller off: a seeded Deployment keeps 1 of 3 replicas ready whatever happens
        stuck = _deployment("stuck", 3, annotations={CONTROLLER_ANNOTATION: "off"})
        stuck["status"] = {"replicas": 3, "readyReplicas": 1, "availableReplicas": 1, "unavailableReplicas": 2}
        server.put(stuck)
        ready_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stuck-a", "namespace": NS}}
        ready_pod["metadata"]["labels"] = {"app": "stuck"}
        server.put(ready_pod)
        for name in ("stuck-b", "stuck-c"):
            pending = dict(ready_pod, metadata={"name": name, "namespace": NS, "labels": {"app": "stuck"}})
            pending["status"] = {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}
            server.put(pending)
        apps.patch_namespaced_deployment_scale("stuck", NS, {"spec": {"replicas": 5}})
        core.delete_namespaced_pod("stuck-c", NS)
        status = apps.read_namespaced_deployment("stuck", NS).status
        assert (status.replicas, status.ready_replicas) == (3, 1)
        stuck_pods = core.list_namespaced_pod(NS, label_selector="app=stuck").items
        assert sorted(p.metadata.name for p in stuck_pods) == ["stuck-a", "stuck-b"]
        assert [_pod_ready(p) for p in stuck_pods] == [True, False]


# --- custom objects, secrets, configmaps, logs, events, leases ---------------------------------------------


def test_kafka_connector_custom_object(server: FakeKubeServer, api: client.ApiClient) -> None:
    custom = client.CustomObjectsApi(api)
    connector = {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaConnector",
        "metadata": {"name": "oracle-cdc", "namespace": NS, "labels": {"strimzi.io/cluster": CONNECT_CLUSTER}},
        "spec": {"class": "io.debezium.connector.oracle.OracleConnector", "tasksMax": 1, "state": "running"},
        "status": {
            "connectorStatus": {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    server.put(connector)

    got = custom.get_namespaced_custom_object(*STRIMZI, NS, "kafkaconnectors", "oracle-cdc")
    assert got["spec"]["state"] == "running" and got["metadata"]["generation"] == 1
    listed = custom.list_namespaced_custom_object(*STRIMZI, NS, "kafkaconnectors", label_selector=CONNECT_SELECTOR)
    assert listed["kind"] == "KafkaConnectorList" and [i["metadata"]["name"] for i in listed["items"]] == ["oracle-cdc"]

    paused = custom.patch_namespaced_custom_object(
        *STRIMZI, NS, "kafkaconnectors", "oracle-cdc", {"spec": {"state": "paused"}, "status": {"bogus": True}}
    )
    assert paused["spec"]["state"] == "paused" and paused["spec"]["tasksMax"] == 1
    assert paused["metadata"]["generation"] == 2
    assert "bogus" not in paused["status"]  # the main resource cannot write status

    status = custom.get_namespaced_custom_object_status(*STRIMZI, NS, "kafkaconnectors", "oracle-cdc")
    assert status["status"]["connectorStatus"]["connector"]["state"] == "RUNNING"
    custom.patch_namespaced_custom_object_status(
        *STRIMZI,
        NS,
        "kafkaconnectors",
        "oracle-cdc",
        {"status": {"connectorStatus": {"connector": {"state": "PAUSED"}}}},
    )
    after = server.get("kafka.strimzi.io/v1beta2", "KafkaConnector", NS, "oracle-cdc")
    assert after is not None
    assert after["status"]["connectorStatus"]["connector"]["state"] == "PAUSED"
    assert after["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert after["metadata"]["generation"] == 2 and after["spec"]["state"] == "paused"

    json_patched = custom.patch_namespaced_custom_object(
        *STRIMZI,
        NS,
        "kafkaconnectors",
        "oracle-cdc",
        [{"op": "replace", "path": "/spec/state", "value": "stopped"}],
        _content_type="application/json-patch+json",
    )
    assert json_patched["spec"]["state"] == "stopped"
    with pytest.raises(ApiException) as strategic:
        custom.patch_namespaced_custom_object(
            *STRIMZI,
            NS,
            "kafkaconnectors",
            "oracle-cdc",
            {"spec": {}},
            _content_type="application/strategic-merge-patch+json",
        )
    assert strategic.value.status == 415
    unversioned = {k: v for k, v in json_patched.items() if k != "metadata"} | {"metadata": {"name": "oracle-cdc"}}
    with pytest.raises(ApiException) as invalid:
        custom.replace_namespaced_custom_object(*STRIMZI, NS, "kafkaconnectors", "oracle-cdc", unversioned)
    assert invalid.value.status == 422

    created = custom.create_namespaced_custom_object(
        *STRIMZI, NS, "kafkaconnectors", {**connector, "metadata": {"name": "second", "namespace": NS}}
    )
    assert created["metadata"]["uid"] and "status" not in created  # status is not writable on create
    custom.delete_namespaced_custom_object(*STRIMZI, NS, "kafkaconnectors", "second")
    assert server.get("kafka.strimzi.io/v1beta2", "KafkaConnector", NS, "second") is None


def test_secret_create_replace_read(server: FakeKubeServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    encoded = base64.b64encode(b"s3cret").decode()
    created = core.create_namespaced_secret(
        NS,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="oracle-credentials"),
            data={"password": encoded},
            string_data={"user": "cdc"},
        ),
    )
    assert created.type == "Opaque" and created.string_data is None
    read = core.read_namespaced_secret("oracle-credentials", NS)
    assert {k: base64.b64decode(v).decode() for k, v in read.data.items()} == {"password": "s3cret", "user": "cdc"}

    stale = core.read_namespaced_secret("oracle-credentials", NS)
    read.data["password"] = base64.b64encode(b"rotated").decode()
    replaced = core.replace_namespaced_secret("oracle-credentials", NS, read)
    assert replaced.metadata.resource_version != stale.metadata.resource_version
    assert replaced.metadata.uid == created.metadata.uid
    assert base64.b64decode(core.read_namespaced_secret("oracle-credentials", NS).data["password"]) == b"rotated"
    with pytest.raises(ApiException) as conflict:
        core.replace_namespaced_secret("oracle-credentials", NS, stale)
    assert conflict.value.status == 409 and _status_reason(conflict.value) == "Conflict"
    with pytest.raises(ApiException) as bad:
        core.create_namespaced_secret(NS, {"metadata": {"name": "broken"}, "data": {"k": "not base64!"}})
    assert bad.value.status == 400
    with pytest.raises(ApiException) as exists:
        core.create_namespaced_secret(NS, {"metadata": {"name": "oracle-credentials"}})
    assert exists.value.status == 409 and _status_reason(exists.value) == "AlreadyExists"


def test_configmap_create_and_patch(server: FakeKubeServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cdc-bot", labels={"app": "cdc-bot"}), data={"a": "1"})
    created = core.create_namespaced_config_map(NS, body)
    assert created.metadata.labels == {"app": "cdc-bot"} and created.metadata.creation_timestamp is not None
    patched = core.patch_namespaced_config_map("cdc-bot", NS, {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}
    patched = core.patch_namespaced_config_map(
        "cdc-bot", NS, {"data": {"a": None}}, _content_type="application/merge-patch+json"
    )
    assert patched.data == {"b": "2"}
    assert core.read_namespaced_config_map("cdc-bot", NS).data == {"b": "2"}
    core.delete_namespaced_config_map("cdc-bot", NS)
    with pytest.raises(ApiException) as gone:
        core.delete_namespaced_config_map("cdc-bot", NS)
    assert gone.value.status == 404


def test_pod_log_tail_and_container(server: FakeKubeServer, api: client.ApiClient) -> None:
    _seed_pipeline(server)
    core = client.CoreV1Api(api)
    pod = f"{CONNECT_CLUSTER}-connect-0"
    server.set_pod_log(NS, pod, "".join(f"line {i}\n" for i in range(1, 6)))
    assert core.read_namespaced_pod_log(pod, NS) == "line 1\nline 2\nline 3\nline 4\nline 5\n"
    assert core.read_namespaced_pod_log(pod, NS, tail_lines=2) == "line 4\nline 5\n"
    assert core.read_namespaced_pod_log("toolbox", NS) == ""  # no log set: empty, not the pod JSON

    masking = core.list_namespaced_pod(NS, label_selector="app=pii-masking").items[0].metadata.name
    server.set_pod_log(NS, masking, "masked 42 records\n", container="app")
    server.set_pod_log(NS, masking, "jmx up\n", container="metrics")
    assert core.read_namespaced_pod_log(masking, NS, container="app", tail_lines=10) == "masked 42 records\n"
    assert core.read_namespaced_pod_log(masking, NS, container="metrics") == "jmx up\n"
    with pytest.raises(ApiException) as ambiguous:
        core.read_namespaced_pod_log(masking, NS)  # two containers and none named
    assert ambiguous.value.status == 400
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod_log("no-such-pod", NS)
    assert missing.value.status == 404


def test_events_field_selector(server: FakeKubeServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    now = datetime.now(UTC)
    for index, (obj, kind, type_, reason) in enumerate(
        [
            ("connect-0", "Pod", "Warning", "BackOff"),
            ("connect-0", "Pod", "Normal", "Pulled"),
            ("pii-masking", "Deployment", "Warning", "ProgressDeadlineExceeded"),
        ]
    ):
        core.create_namespaced_event(
            NS,
            client.CoreV1Event(
                metadata=client.V1ObjectMeta(name=f"event-{index}"),
                involved_object=client.V1ObjectReference(kind=kind, name=obj, namespace=NS),
                reason=reason,
                type=type_,
                message=f"{reason} on {obj}",
                first_timestamp=now,
                last_timestamp=now,
                count=1,
            ),
        )

    def reasons(selector: str) -> list[str]:
        return [e.reason for e in core.list_namespaced_event(NS, field_selector=selector).items]

    assert reasons("involvedObject.name=connect-0") == ["BackOff", "Pulled"]
    assert reasons("type=Warning") == ["BackOff", "ProgressDeadlineExceeded"]
    assert reasons("type=Warning,involvedObject.kind=Deployment") == ["ProgressDeadlineExceeded"]
    assert reasons("involvedObject.name!=connect-0") == ["ProgressDeadlineExceeded"]
    assert len(core.list_event_for_all_namespaces(field_selector="type=Warning").items) == 2


def test_lease_optimistic_concurrency(server: FakeKubeServer, api: client.ApiClient) -> None:
    coordination = client.CoordinationV1Api(api)
    server.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    now = datetime.now(UTC)
    lease = coordination.create_namespaced_lease(
        NS,
        client.V1Lease(
            metadata=client.V1ObjectMeta(name="cdc-bot-leader"),
            spec=client.V1LeaseSpec(
                holder_identity="bot-a", lease_duration_seconds=15, acquire_time=now, renew_time=now
            ),
        ),
    )
    seen_by_b = coordination.read_namespaced_lease("cdc-bot-leader", NS)
    lease.spec.renew_time = datetime.now(UTC)
    renewed = coordination.replace_namespaced_lease("cdc-bot-leader", NS, lease)  # bot-a renews: current version
    assert renewed.spec.holder_identity == "bot-a"
    assert int(renewed.metadata.resource_version) > int(seen_by_b.metadata.resource_version)

    seen_by_b.spec.holder_identity = "bot-b"  # bot-b tries to take over from a stale read
    with pytest.raises(ApiException) as conflict:
        coordination.replace_namespaced_lease("cdc-bot-leader", NS, seen_by_b)
    assert conflict.value.status == 409
    assert coordination.read_namespaced_lease("cdc-bot-leader", NS).spec.holder_identity == "bot-a"
    with pytest.raises(ApiException) as exists:
        coordination.create_namespaced_lease(NS, {"metadata": {"name": "cdc-bot-leader"}, "spec": {}})
    assert exists.value.status == 409


# --- errors, failures, latency, kubeconfig ----------------------------------------------------------------


def test_missing_objects_are_404(server: FakeKubeServer, api: client.ApiClient) -> None:
    core, apps, custom = client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)
    calls: list[Callable[[], Any]] = [
        lambda: core.read_namespaced_pod("ghost", "default"),
        lambda: core.delete_namespaced_pod("ghost", "default"),
        lambda: apps.read_namespaced_deployment("ghost", "default"),
        lambda: apps.patch_namespaced_deployment_scale("ghost", "default", {"spec": {"replicas": 1}}),
        lambda: custom.get_namespaced_custom_object(*STRIMZI, "default", "kafkaconnectors", "ghost"),
        lambda: core.read_namespace("ghost"),
        lambda: core.create_namespaced_config_map("ghost", {"metadata": {"name": "x"}}),  # no such namespace
        lambda: custom.list_namespaced_custom_object("example.com", "v1", "default", "widgets"),
    ]
    for call in calls:
        with pytest.raises(ApiException) as missing:
            call()
        assert missing.value.status == 404 and _status_reason(missing.value) == "NotFound"
    assert json.loads(missing.value.body)["kind"] == "Status"

    created = core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="ghost")))
    assert created.status.phase == "Active"
    assert "ghost" in {n.metadata.name for n in core.list_namespace().items}
    assert client.VersionApi(api).get_code().git_version.startswith("v1.")


def test_injected_failure_and_latency(server: FakeKubeServer, api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    server.set_failure(500)
    with pytest.raises(ApiException) as failed:
        core.list_namespaced_pod("default")
    assert failed.value.status == 500 and _status_reason(failed.value) == "InternalError"
    server.set_failure(None)
    assert core.list_namespaced_pod("default").items == []

    server.set_latency(1.0)
    started = time.monotonic()
    with pytest.raises((urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.MaxRetryError)):
        core.list_namespaced_pod("default", _request_timeout=0.2)
    assert time.monotonic() - started < 1.5  # urllib3 retries reads, but each attempt times out at 0.2 s
    server.set_latency(0)
    assert core.list_namespaced_pod("default", _request_timeout=2).items == []
    assert ("GET", "/api/v1/namespaces/default/pods") in server.requests


def test_kubeconfig(server: FakeKubeServer, tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    server.write_kubeconfig(str(path), context="sandbox", namespace=NS)
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=cfg)
    assert cfg.host == server.url
    _, active = config.list_kube_config_contexts(config_file=str(path))
    assert active["name"] == "sandbox" and active["context"]["namespace"] == NS
    with client.ApiClient(cfg) as api:
        names = {n.metadata.name for n in client.CoreV1Api(api).list_namespace().items}
    assert {"default", "kube-system"} <= names
