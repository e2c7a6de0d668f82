"""The shipped Role (deploy/base/role.yaml), enforced by the fake API server like kube-apiserver would.

The whole suite runs with the Role enforced on the sandbox (tests/conftest.py): a bot request
outside it fails the session, and after the whole suite so does a grant no request used.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes
import pytest

from bot.clients.base import BackendError
from bot.clients.kube import KubernetesClient
from bot.core.config import KubernetesSettings
from bot.sandbox.fake_kube import FakeKubeServer
from bot.sandbox.kube_rbac import Authorizer, load_roles, request_attributes
from bot.services import Services

ROLE = Path(__file__).resolve().parent.parent / "deploy" / "base" / "role.yaml"
NS = "kafka"


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/kafka/pods", {}, ("list", "", "pods", "", "")),
        ("GET", "/api/v1/namespaces/kafka/pods", {"watch": "true"}, ("watch", "", "pods", "", "")),
        ("DELETE", "/api/v1/namespaces/kafka/pods", {}, ("deletecollection", "", "pods", "", "")),
        ("DELETE", "/api/v1/namespaces/kafka/pods/p-0", {}, ("delete", "", "pods", "", "p-0")),
        ("GET", "/api/v1/namespaces/kafka/pods/p-0/log", {}, ("get", "", "pods", "log", "p-0")),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/kafka/deployments/d/scale",
            {},
            ("patch", "apps", "deployments", "scale", "d"),
        ),
        ("PUT", "/api/v1/namespaces/kafka/secrets/s", {}, ("update", "", "secrets", "", "s")),
        ("POST", "/api/v1/namespaces/kafka/configmaps", {}, ("create", "", "configmaps", "", "")),
        (
            "GET",
            "/apis/kafka.strimzi.io/v1beta2/namespaces/kafka/kafkaconnectors/c",
            {},
            ("get", "kafka.strimzi.io", "kafkaconnectors", "", "c"),
        ),
    ],
)
def test_request_attributes_as_kube_apiserver_derives_them(
    method: str, path: str, query: dict[str, str], expected: tuple[str, ...]
) -> None:
    attrs = request_attributes(method, path, query)
    assert attrs is not None
    assert (attrs.verb, attrs.api_group, attrs.resource, attrs.subresource, attrs.name) == expected
    assert attrs.namespace == NS


def test_discovery_paths_are_not_resource_requests() -> None:
    assert request_attributes("GET", "/api", {}) is None
    assert request_attributes("GET", "/apis/apps/v1", {}) is None
    assert request_attributes("GET", "/version", {}) is None


@pytest.fixture
def enforced(tmp_path: Path) -> Iterator[tuple[FakeKubeServer, Authorizer, KubernetesClient]]:
    """A fresh fake API server enforcing the shipped Role, and the bot's client on it (its own kubeconfig)."""
    with FakeKubeServer() as kube:
        authorizer = Authorizer(load_roles([ROLE]))
        kube.rbac = authorizer
        kube.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "debezium-credentials", "namespace": NS}})
        kube.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cdc-bot", "namespace": NS}})
        kubeconfig = tmp_path / "kubeconfig"
        kube.write_kubeconfig(str(kubeconfig), namespace=NS)
        client = KubernetesClient(KubernetesSettings(kubeconfig=str(kubeconfig), context="sandbox", namespace=NS))
        yield kube, authorizer, client


def test_the_bots_allowed_calls_pass(enforced: tuple[FakeKubeServer, Authorizer, KubernetesClient]) -> None:
    _kube, authorizer, client = enforced
    assert client.get_secret("debezium-credentials") is not None
    assert client.list_pods("strimzi.io/cluster=x") == []
    client.apply_configmap("maintenance-mode", {"enabled": "true"})
    client.apply_configmap("maintenance-mode", {"enabled": "false"})  # exists now: replaced (update)
    assert (client.get_configmap("maintenance-mode") or {})["data"] == {"enabled": "false"}
    client.delete_configmap("maintenance-mode")
    assert authorizer.denied == []


def test_a_call_outside_the_role_gets_403_forbidden_like_kube_apiserver(
    enforced: tuple[FakeKubeServer, Authorizer, KubernetesClient],
) -> None:
    _kube, authorizer, client = enforced
    with pytest.raises(BackendError, match="HTTP 403 Forbidden"):
        client.get_secret("cdc-bot")  # another Secret than the credentials one: resourceNames
    with pytest.raises(BackendError, match="HTTP 403"):
        client.apply_configmap("not-maintenance", {"a": "b"})  # create is allowed; the read before it is not
    assert authorizer.denied == [
        "get core secrets cdc-bot in kafka",
        "get core configmaps not-maintenance in kafka",
    ]

    core = kubernetes.client.CoreV1Api(client.api)
    with pytest.raises(kubernetes.client.ApiException) as raised:
        core.delete_collection_namespaced_pod(NS)
    assert raised.value.status == 403
    body: dict[str, Any] = json.loads(raised.value.body)
    assert body["kind"] == "Status" and body["reason"] == "Forbidden" and body["code"] == 403
    assert body["message"] == (
        'pods is forbidden: User "system:serviceaccount:cdc-bot:cdc-bot" cannot deletecollection '
        'resource "pods" in API group "" in the namespace "kafka"'
    )
    with pytest.raises(kubernetes.client.ApiException) as raised:
        kubernetes.client.AppsV1Api(client.api).delete_namespaced_deployment("pii-masking", NS)
    assert raised.value.status == 403
    with pytest.raises(kubernetes.client.ApiException) as raised:
        core.list_pod_for_all_namespaces()  # a Role grants nothing at cluster scope
    assert raised.value.status == 403
    assert "at the cluster scope" in json.loads(raised.value.body)["message"]


def test_other_actors_are_not_the_bot(enforced: tuple[FakeKubeServer, Authorizer, KubernetesClient]) -> None:
    """Tests acting as an operator or Strimzi use the fake's own configuration: not checked."""
    kube, authorizer, _client = enforced
    core = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(kube.configuration()))
    assert core.read_namespaced_secret("cdc-bot", NS).metadata.name == "cdc-bot"
    assert authorizer.denied == []


def test_rbac_is_off_by_default() -> None:
    with FakeKubeServer() as kube:
        assert kube.rbac is None


def test_maintenance_configmap_replaced_on_the_sandbox(make_services: Callable[..., Services]) -> None:
    """The update path of apply_configmap (a window started while the ConfigMap exists), enforced."""
    name = f"mm-{uuid.uuid4().hex[:8]}"
    services = make_services({"kubernetes": {"maintenance_configmap": name}})
    kube = services.clients(services.config.pipelines[0]).kube
    kube.apply_configmap(name, {"enabled": "true"})
    kube.apply_configmap(name, {"enabled": "true", "by": "U0OPERATOR"})
    assert (kube.get_configmap(name) or {})["data"]["by"] == "U0OPERATOR"
    kube.delete_configmap(name)
