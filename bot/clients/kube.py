"""kubernetes-client adapter scoped to one namespace; kubeconfig context or in-cluster config."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypeVar, cast

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bot.clients.base import BackendError
from bot.clients.sensitive import sensitive
from bot.core.config import KubernetesSettings

T = TypeVar("T")

STRIMZI_GROUP = "kafka.strimzi.io"
STRIMZI_VERSION = "v1beta2"


def load_configuration(settings: KubernetesSettings) -> k8s.Configuration:
    """The kubeconfig's context when one is configured or present, else the in-cluster service account."""
    configuration = k8s.Configuration()
    try:
        k8s_config.load_kube_config(
            config_file=settings.kubeconfig, context=settings.context, client_configuration=configuration
        )
    except (ConfigException, FileNotFoundError, TypeError):
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise BackendError(f"no Kubernetes config: no kubeconfig context and not in a cluster ({exc})") from None
    return configuration


class KubernetesClient:
    def __init__(
        self, settings: KubernetesSettings, timeout: float = 5.0, configuration: k8s.Configuration | None = None
    ) -> None:
        self.namespace = settings.namespace
        self._timeout = timeout
        self._settings = settings
        self._configuration = configuration
        self._api: k8s.ApiClient | None = None

    @property
    def api(self) -> k8s.ApiClient:
        # Built on first use, so a missing kubeconfig only fails the checks that need Kubernetes.
        if self._api is None:
            self._api = k8s.ApiClient(self._configuration or load_configuration(self._settings))
        return self._api

    def _call(self, what: str, fn: Callable[..., T], *args: Any, missing_ok: bool = False, **kwargs: Any) -> T | None:
        try:
            return fn(*args, _request_timeout=self._timeout, **kwargs)
        except ApiException as exc:
            if missing_ok and exc.status == 404:
                return None
            raise BackendError(f"Kubernetes {what}: HTTP {exc.status} {exc.reason}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise BackendError(f"Kubernetes API unreachable for {what}: {type(exc).__name__}") from None
        except ValueError as exc:  # the client's models reject an answer they cannot deserialize
            raise BackendError(f"Kubernetes {what}: unexpected answer ({str(exc).splitlines()[0]})") from None

    def _plain(self, obj: Any) -> Any:
        return self.api.sanitize_for_serialization(obj)

    def get_deployment(self, name: str) -> dict[str, Any] | None:
        apps = k8s.AppsV1Api(self.api)
        found = self._call(
            f"get deployment {name}", apps.read_namespaced_deployment, name, self.namespace, missing_ok=True
        )
        return self._plain(found) if found is not None else None

    def list_deployments(self) -> list[dict[str, Any]]:
        apps = k8s.AppsV1Api(self.api)
        return self._plain(self._call("list deployments", apps.list_namespaced_deployment, self.namespace))["items"]

    def list_statefulsets(self) -> list[dict[str, Any]]:
        apps = k8s.AppsV1Api(self.api)
        return self._plain(self._call("list statefulsets", apps.list_namespaced_stateful_set, self.namespace))["items"]

    def list_services(self) -> list[dict[str, Any]]:
        core = k8s.CoreV1Api(self.api)
        return self._plain(self._call("list services", core.list_namespaced_service, self.namespace))["items"]

    def list_pods(self, label_selector: str | None = None) -> list[dict[str, Any]]:
        core = k8s.CoreV1Api(self.api)
        kwargs: dict[str, Any] = {"label_selector": label_selector} if label_selector else {}
        return self._plain(self._call("list pods", core.list_namespaced_pod, self.namespace, **kwargs))["items"]

    def list_events(self, field_selector: str | None = None) -> list[dict[str, Any]]:
        core = k8s.CoreV1Api(self.api)
        kwargs: dict[str, Any] = {"field_selector": field_selector} if field_selector else {}
        return self._plain(self._call("list events", core.list_namespaced_event, self.namespace, **kwargs))["items"]

    def read_pod_log(self, name: str, tail_lines: int = 50, container: str | None = None) -> str:
        core = k8s.CoreV1Api(self.api)
        kwargs: dict[str, Any] = {"tail_lines": tail_lines}
        if container:
            kwargs["container"] = container
        return self._call(f"read log of pod {name}", core.read_namespaced_pod_log, name, self.namespace, **kwargs) or ""

    def delete_pod(self, name: str, uid: str | None = None) -> None:
        # With a uid, the API refuses (409) to delete a different pod that took the same name since.
        core = k8s.CoreV1Api(self.api)
        body = k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid=uid)) if uid else None
        kwargs: dict[str, Any] = {"body": body} if body is not None else {}
        self._call(f"delete pod {name}", core.delete_namespaced_pod, name, self.namespace, **kwargs)

    def patch_deployment(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        # The client sends a dict body as a strategic merge patch, as `kubectl patch` does by
        # default: container and env lists merge by name.
        apps = k8s.AppsV1Api(self.api)
        return self._plain(
            self._call(f"patch deployment {name}", apps.patch_namespaced_deployment, name, self.namespace, patch)
        )

    def scale_deployment(self, name: str, replicas: int) -> None:
        apps = k8s.AppsV1Api(self.api)
        self._call(
            f"scale deployment {name}",
            apps.patch_namespaced_deployment_scale,
            name,
            self.namespace,
            {"spec": {"replicas": replicas}},
        )

    def get_custom(self, plural: str, name: str) -> dict[str, Any] | None:
        custom = k8s.CustomObjectsApi(self.api)
        # The custom-objects API answers with the object's JSON (typed `object` by the client).
        return cast(
            "dict[str, Any] | None",
            self._call(
                f"get {plural}/{name}",
                custom.get_namespaced_custom_object,
                STRIMZI_GROUP,
                STRIMZI_VERSION,
                self.namespace,
                plural,
                name,
                missing_ok=True,
            ),
        )

    def patch_custom(self, plural: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        custom = k8s.CustomObjectsApi(self.api)
        # Custom objects take a JSON merge patch (`kubectl patch --type merge`).
        patched = cast(
            "dict[str, Any] | None",
            self._call(
                f"patch {plural}/{name}",
                custom.patch_namespaced_custom_object,
                STRIMZI_GROUP,
                STRIMZI_VERSION,
                self.namespace,
                plural,
                name,
                patch,
            ),
        )
        return patched or {}

    def get_secret(self, name: str) -> dict[str, Any] | None:
        core = k8s.CoreV1Api(self.api)
        found = self._call(f"get secret {name}", core.read_namespaced_secret, name, self.namespace, missing_ok=True)
        return self._plain(found) if found is not None else None

    def replace_secret(self, name: str, string_data: dict[str, str]) -> None:
        core = k8s.CoreV1Api(self.api)
        current = self._call(f"get secret {name}", core.read_namespaced_secret, name, self.namespace)
        assert current is not None
        current.data = {k: base64.b64encode(v.encode()).decode() for k, v in string_data.items()}
        # Replace carries the resourceVersion read above, so a concurrent edit fails instead of being lost.
        self._call(f"replace secret {name}", core.replace_namespaced_secret, name, self.namespace, current)

    def update_secret(self, name: str, string_data: dict[str, str], annotations: dict[str, str] | None = None) -> None:
        """Set some keys of a Secret and keep the others; fails on a concurrent edit instead of losing it."""
        core = k8s.CoreV1Api(self.api)
        with sensitive():
            current = self._call(f"get secret {name}", core.read_namespaced_secret, name, self.namespace)
            assert current is not None
            data = dict(current.data or {})
            data.update({k: base64.b64encode(v.encode()).decode() for k, v in string_data.items()})
            current.data = data
            if annotations and current.metadata is not None:
                current.metadata.annotations = {**(current.metadata.annotations or {}), **annotations}
            # The object read above carries its resourceVersion: replace is compare-and-set.
            self._call(f"replace secret {name}", core.replace_namespaced_secret, name, self.namespace, current)

    def get_configmap(self, name: str) -> dict[str, Any] | None:
        core = k8s.CoreV1Api(self.api)
        found = self._call(
            f"get configmap {name}", core.read_namespaced_config_map, name, self.namespace, missing_ok=True
        )
        return self._plain(found) if found is not None else None

    def apply_configmap(self, name: str, data: dict[str, str]) -> None:
        core = k8s.CoreV1Api(self.api)
        body = k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name=name, namespace=self.namespace), data=data)
        if self.get_configmap(name) is None:
            self._call(f"create configmap {name}", core.create_namespaced_config_map, self.namespace, body)
        else:
            self._call(f"replace configmap {name}", core.replace_namespaced_config_map, name, self.namespace, body)

    def delete_configmap(self, name: str) -> None:
        core = k8s.CoreV1Api(self.api)
        self._call(f"delete configmap {name}", core.delete_namespaced_config_map, name, self.namespace, missing_ok=True)
