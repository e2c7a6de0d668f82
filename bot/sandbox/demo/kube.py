"""Kubernetes seeding: the Strimzi Connect cluster, the connector and the pii-masking deployment."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.demo.names import CONNECT_CLUSTER, CONNECTOR, NAMESPACE, STREAMS
from bot.sandbox.fake_kube import FakeKubeServer


def seed_kube(
    kube: FakeKubeServer, namespace: str = NAMESPACE, streams_replicas: int = 3, connect_replicas: int = 1
) -> None:
    """The runbook's namespace: the pii-masking deployment, Strimzi Connect pods and KafkaConnector."""
    kube.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    kube.put(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": STREAMS, "namespace": namespace, "labels": {"app": STREAMS}},
            "spec": {
                "replicas": streams_replicas,
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
                                    {"name": "KAFKA_LINGER_MS", "value": "5"},
                                ],
                            }
                        ]
                    },
                },
            },
        }
    )
    kube.put(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnect",
            "metadata": {
                "name": CONNECT_CLUSTER,
                "namespace": namespace,
                "annotations": {"strimzi.io/use-connector-resources": "true"},
            },
            "spec": {
                "replicas": connect_replicas,
                "version": "3.5.1",
                "bootstrapServers": "msk:9098",
                "build": {
                    "plugins": [
                        {
                            "name": "debezium-oracle",
                            "artifacts": [
                                {
                                    "type": "tgz",
                                    "url": "https://repo1.maven.org/debezium-connector-oracle-2.4.0.Final-plugin.tar.gz",
                                }
                            ],
                        }
                    ]
                },
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "replicas": connect_replicas},
        }
    )
    for index in range(connect_replicas):
        kube.put(connect_pod(namespace, index))
    kube.put(
        {
            "apiVersion": "kafka.strimzi.io/v1beta2",
            "kind": "KafkaConnector",
            "metadata": {"name": CONNECTOR, "namespace": namespace, "labels": {"strimzi.io/cluster": CONNECT_CLUSTER}},
            "spec": {
                "class": "io.debezium.connector.oracle.OracleConnector",
                "tasksMax": 1,
                "state": "running",
                "config": {
                    "database.hostname": "oracle.example.internal",
                    "database.user": "debezium",
                    "database.password": "${secrets:kafka/debezium-credentials:password}",
                    "topic.prefix": "oracle",
                    "table.include.list": "INVENTORY.CUSTOMERS,INVENTORY.PRODUCTS,INVENTORY.ORDERS",
                },
            },
            "status": connector_status("RUNNING", ["RUNNING"]),
        }
    )
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": "debezium-credentials", "namespace": namespace},
            "stringData": {"username": "debezium", "password": secrets.token_urlsafe(18)},
        }
    )
    kube.put(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": f"{CONNECT_CLUSTER}-connect-api", "namespace": namespace},
            "spec": {
                "ports": [{"port": 8083, "name": "rest-api"}],
                "selector": {"strimzi.io/cluster": CONNECT_CLUSTER},
            },
        }
    )


def connect_pod(
    namespace: str, index: int, ready: bool = True, waiting_reason: str | None = None, restarts: int = 0
) -> dict[str, Any]:
    name = f"{CONNECT_CLUSTER}-connect-{index}"
    state: dict[str, Any] = (
        {"waiting": {"reason": waiting_reason}}
        if waiting_reason
        else {"running": {"startedAt": datetime.now(UTC).isoformat()}}
    )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                "strimzi.io/cluster": CONNECT_CLUSTER,
                "strimzi.io/kind": "KafkaConnect",
                "strimzi.io/name": f"{CONNECT_CLUSTER}-connect",
            },
            "ownerReferences": [
                {
                    "apiVersion": "core.strimzi.io/v1beta2",
                    "kind": "StrimziPodSet",
                    "name": f"{CONNECT_CLUSTER}-connect",
                    "uid": "podset-1",
                }
            ],
        },
        "spec": {"containers": [{"name": f"{CONNECT_CLUSTER}-connect", "image": "example/debezium-connect:2.4"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {
                    "name": f"{CONNECT_CLUSTER}-connect",
                    "ready": ready,
                    "restartCount": restarts,
                    "state": state,
                    "image": "example/debezium-connect:2.4",
                    "imageID": "docker-pullable://example/debezium-connect@sha256:5eed",
                }
            ],
        },
    }


def connector_status(state: str, task_states: list[str], trace: str | None = None) -> dict[str, Any]:
    tasks = []
    for task_id, task_state in enumerate(task_states):
        task: dict[str, Any] = {"id": task_id, "state": task_state, "worker_id": "10.0.1.23:8083"}
        if task_state == "FAILED":
            task["trace"] = trace or "org.apache.kafka.connect.errors.ConnectException: failed"
        tasks.append(task)
    ready = state == "RUNNING" and all(t == "RUNNING" for t in task_states)
    return {
        "connectorStatus": {
            "name": CONNECTOR,
            "connector": {"state": state, "worker_id": "10.0.1.23:8083"},
            "tasks": tasks,
            "type": "source",
        },
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": None if ready else "ConnectorNotRunning",
            }
        ],
        "tasksMax": len(task_states),
    }
