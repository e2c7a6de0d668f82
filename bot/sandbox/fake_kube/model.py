"""Resource types, API errors answered as `Status` objects, and small helpers on stored objects."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]
# (key, operator, values); "=" and "!=" are stored as single-value "in" / "notin".
Requirement = tuple[str, str, frozenset[str]]

CONTROLLER_ANNOTATION = "sandbox.cdc-bot/controller"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Kubernetes builds generated name suffixes from this alphabet (no vowels, no look-alikes).
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
NODE_NAME = "sandbox-node"
NODE_IP = "10.0.0.10"
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives in the URL space and which subresources it has."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True
    status: bool = True  # has a /status subresource, so main-resource writes keep the stored status
    scale: bool = False
    custom: bool = False  # CRD-backed: no strategic merge patch, resourceVersion required on PUT

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def resource(self) -> str:
        # the name the API server uses in error messages: "pods", "deployments.apps"
        return f"{self.plural}.{self.group}" if self.group else self.plural


BUILTIN_RESOURCES = (
    ResourceType("v1", "Namespace", "namespaces", namespaced=False),
    ResourceType("v1", "Pod", "pods"),
    ResourceType("v1", "Service", "services"),
    ResourceType("v1", "Event", "events", status=False),
    ResourceType("v1", "Secret", "secrets", status=False),
    ResourceType("v1", "ConfigMap", "configmaps", status=False),
    ResourceType("v1", "Endpoints", "endpoints", status=False),
    ResourceType("v1", "ServiceAccount", "serviceaccounts", status=False),
    ResourceType("apps/v1", "Deployment", "deployments", scale=True),
    ResourceType("apps/v1", "StatefulSet", "statefulsets", scale=True),
    ResourceType("apps/v1", "ReplicaSet", "replicasets", scale=True),
    ResourceType("coordination.k8s.io/v1", "Lease", "leases", status=False),
    ResourceType("kafka.strimzi.io/v1beta2", "KafkaConnector", "kafkaconnectors", custom=True),
    ResourceType("kafka.strimzi.io/v1beta2", "KafkaConnect", "kafkaconnects", custom=True),
    ResourceType("kafka.strimzi.io/v1beta2", "Kafka", "kafkas", custom=True),
    ResourceType("kafka.strimzi.io/v1beta2", "KafkaTopic", "kafkatopics", custom=True),
    ResourceType("core.strimzi.io/v1beta2", "StrimziPodSet", "strimzipodsets", custom=True),
)


class ApiError(Exception):
    """An API failure, answered as a `Status` object so the client raises ApiException."""

    def __init__(self, code: int, message: str, reason: str | None = None, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason or REASONS.get(code, "Unknown")
        self.message = message
        self.details = details

    def body(self) -> Obj:
        return status_body(self.code, self.reason, self.message, self.details)


def status_body(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def status_details(rt: ResourceType, name: str, uid: str | None = None) -> Obj:
    details: Obj = {"name": name, "kind": rt.plural}
    if rt.group:
        details["group"] = rt.group
    if uid:
        details["uid"] = uid
    return details


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, f'{rt.resource} "{name}" not found', details=status_details(rt, name))


def conflict(rt: ResourceType, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {rt.resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        details=status_details(rt, name),
    )


def invalid(rt: ResourceType, name: str, field: str, why: str) -> ApiError:
    kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    return ApiError(422, f'{kind} "{name}" is invalid: {field}: {why}', details=status_details(rt, name))


def now_timestamp() -> str:
    # Kubernetes timestamps have second precision and always say Z
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def labels_of(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def annotations_of(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def uid_of(obj: Obj) -> str:
    return str(obj["metadata"].get("uid", ""))


def controller_on(obj: Obj) -> bool:
    return str(annotations_of(obj).get(CONTROLLER_ANNOTATION, "")).lower() != "off"


def pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def is_strimzi_pod(pod: Obj) -> bool:
    owners = pod["metadata"].get("ownerReferences") or []
    return "strimzi.io/cluster" in labels_of(pod) and any(o.get("kind") == "StrimziPodSet" for o in owners)


def owner_reference(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def hash_of_template(template: Any) -> str:
    # stands in for the pod-template-hash label: stable for an unchanged template
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in digest[:10])


def int_or_none(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(400, f"invalid integer {value!r}") from exc
