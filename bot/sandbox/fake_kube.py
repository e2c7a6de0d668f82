"""An in-memory Kubernetes API server over loopback HTTP.

`cdc-bot sandbox` runs it as a demo cluster and the test suite uses it as its Kubernetes backend:
no kube-apiserver, kind or k3s can run on these machines, and the kmock emulator gets label
selectors, pod logs and custom objects wrong. Only the part of the API the bot touches is served,
but with the real paths, JSON shapes and status codes, so the real `kubernetes` client (typed
`CoreV1Api`, `AppsV1Api`, `CoordinationV1Api` and `CustomObjectsApi` methods) works unchanged.

A small built-in controller makes the cluster behave: Deployments own ReplicaSets and Running
pods that follow `spec.replicas` and are replaced on a template change (rollout restart), and
Strimzi-managed pods come back under the same name after they are deleted.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import http.server
import json
import random
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import kubernetes

from bot.sandbox.kube_rbac import CLUSTER_ADMIN_TOKEN, Authorizer

Obj = dict[str, Any]
# (key, operator, values); "=" and "!=" are stored as single-value "in" / "notin".
Requirement = tuple[str, str, frozenset[str]]

CONTROLLER_ANNOTATION = "sandbox.cdc-bot/controller"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"

# Kubernetes builds generated name suffixes from this alphabet (no vowels, no look-alikes).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_NODE_NAME = "sandbox-node"
_NODE_IP = "10.0.0.10"
_DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
_REASONS = {
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


_BUILTIN_RESOURCES = (
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
        self.reason = reason or _REASONS.get(code, "Unknown")
        self.message = message
        self.details = details

    def body(self) -> Obj:
        return _status_body(self.code, self.reason, self.message, self.details)


def _status_body(code: int, reason: str, message: str, details: Obj | None = None) -> Obj:
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


def _details(rt: ResourceType, name: str, uid: str | None = None) -> Obj:
    details: Obj = {"name": name, "kind": rt.plural}
    if rt.group:
        details["group"] = rt.group
    if uid:
        details["uid"] = uid
    return details


def _not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, f'{rt.resource} "{name}" not found', details=_details(rt, name))


def _conflict(rt: ResourceType, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {rt.resource} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        details=_details(rt, name),
    )


def _invalid(rt: ResourceType, name: str, field: str, why: str) -> ApiError:
    kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    return ApiError(422, f'{kind} "{name}" is invalid: {field}: {why}', details=_details(rt, name))


def _now() -> str:
    # Kubernetes timestamps have second precision and always say Z
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- label and field selectors ------------------------------------------------------------------

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SET_TERM = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")


def _split_terms(text: str) -> list[str]:
    # commas separate requirements, except inside the value set of `in (a,b)`
    terms: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term.strip() for term in terms if term.strip()]


def _check_key(key: str) -> str:
    if not _LABEL_KEY.match(key) or len(key.rpartition("/")[2]) > 63:
        raise ValueError(f"invalid label key {key!r}")
    return key


def _check_value(value: str) -> str:
    if not _LABEL_VALUE.match(value) or len(value) > 63:
        raise ValueError(f"invalid label value {value!r}")
    return value


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse `a=b,c!=d,e in (x,y),f notin (z),g,!h` into requirements (ValueError if malformed)."""
    requirements: list[Requirement] = []
    for term in _split_terms(text):
        set_term = _SET_TERM.match(term)
        if set_term:
            key, operator, raw_values = set_term.groups()
            values = frozenset(_check_value(v.strip()) for v in raw_values.split(",") if v.strip())
            if not values:
                raise ValueError(f"{term!r}: a value set must not be empty")
            requirements.append((_check_key(key), operator, values))
        elif "!=" in term:
            key, _, value = term.partition("!=")
            requirements.append((_check_key(key.strip()), "notin", frozenset({_check_value(value.strip())})))
        elif "=" in term:
            key, _, value = term.partition("==") if "==" in term else term.partition("=")
            requirements.append((_check_key(key.strip()), "in", frozenset({_check_value(value.strip())})))
        elif term.startswith("!"):
            requirements.append((_check_key(term[1:].strip()), "!", frozenset()))
        else:
            requirements.append((_check_key(term), "exists", frozenset()))
    return requirements


def labels_match(requirements: list[Requirement], labels: dict[str, str]) -> bool:
    """Kubernetes semantics: `!=` and `notin` also match objects that lack the key."""
    for key, operator, values in requirements:
        present = key in labels
        if operator == "in" and not (present and labels[key] in values):
            return False
        if operator == "notin" and present and labels[key] in values:
            return False
        if operator == "exists" and not present:
            return False
        if operator == "!" and present:
            return False
    return True


def _selector_requirements(selector: Any) -> list[Requirement]:
    """A metav1.LabelSelector (matchLabels + matchExpressions), as in Deployment.spec.selector."""
    if not isinstance(selector, dict):
        return []
    requirements: list[Requirement] = [
        (key, "in", frozenset({str(value)})) for key, value in (selector.get("matchLabels") or {}).items()
    ]
    operators = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expression in selector.get("matchExpressions") or []:
        operator = operators.get(expression.get("operator", ""))
        if operator:
            values = frozenset(str(v) for v in expression.get("values") or [])
            requirements.append((expression.get("key", ""), operator, values))
    return requirements


def _selector_string(selector: Any) -> str:
    # the `status.selector` of a Scale is the selector in its query-string form
    parts: list[str] = []
    for key, operator, values in _selector_requirements(selector):
        if operator == "in" and len(values) == 1:
            parts.append(f"{key}={next(iter(values))}")
        elif operator in ("in", "notin"):
            parts.append(f"{key} {operator} ({','.join(sorted(values))})")
        else:
            parts.append(key if operator == "exists" else f"!{key}")
    return ",".join(parts)


def parse_field_selector(text: str) -> list[tuple[str, bool, str]]:
    """Parse `metadata.name=x,status.phase!=Running` into (path, equal, value) triples."""
    terms: list[tuple[str, bool, str]] = []
    for term in _split_terms(text):
        if "!=" in term:
            path, _, value = term.partition("!=")
            terms.append((path.strip(), False, value.strip()))
        elif "=" in term:
            path, _, value = term.partition("==") if "==" in term else term.partition("=")
            terms.append((path.strip(), True, value.strip()))
        else:
            raise ValueError(f"invalid field selector term {term!r}")
    return terms


def _field_value(obj: Obj, path: str) -> str:
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(part)
    if current is None:
        return ""  # the API server compares unset fields as empty strings
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def fields_match(terms: list[tuple[str, bool, str]], obj: Obj) -> bool:
    return all((_field_value(obj, path) == value) == equal for path, equal, value in terms)


# --- patches --------------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# Lists that a strategic merge patch merges item by item (patchMergeKey in the Kubernetes types);
# every other list is replaced, as in a merge patch.
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
}


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":  # container ports merge by containerPort, service ports by port
        has_container_port = any(isinstance(item, dict) and "containerPort" in item for item in items)
        return "containerPort" if has_container_port else "port"
    return _MERGE_KEYS.get(field)


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(item) for item in value]
    return value


def _strategic_merge_list(target: list[Any], patch: list[Any], key: str) -> list[Any]:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_strip_directives(item) for item in patch if not (isinstance(item, dict) and "$patch" in item)]
    result = copy.deepcopy(target)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            result.append(_strip_directives(item))
            continue
        index = next((i for i, old in enumerate(result) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is None:
            result.append(_strip_directives(item))
        else:
            result[index] = strategic_merge_patch(result[index], item)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Kubernetes strategic merge patch, for the lists the bot edits (containers, env, volumes...).

    Like a merge patch, except that lists listed in _MERGE_KEYS merge by their key, and the
    `$patch: replace|delete` and `$deleteFromPrimitiveList/<field>` directives are honoured.
    `$setElementOrder/...` and `$retainKeys` (ordering and pruning hints) are ignored.
    """
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.partition("/")[2]
            result[field] = [item for item in result.get(field) or [] if item not in (value or [])]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = strategic_merge_patch(result.get(key), value)
        elif isinstance(value, list):
            merge_key = _merge_key(key, value)
            current = result.get(key)
            if merge_key and isinstance(current, list):
                result[key] = _strategic_merge_list(current, value, merge_key)
            else:
                result[key] = _strategic_merge_list([], value, merge_key) if merge_key else copy.deepcopy(value)
        else:
            result[key] = value
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [token.replace("~1", "/").replace("~0", "~") for token in path[1:].split("/")]


def _pointer_parent(doc: Any, tokens: list[str]) -> tuple[Any, str]:
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            raise ValueError(f"path /{'/'.join(tokens)} does not exist")
    return current, tokens[-1]


def _pointer_get(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent, last = _pointer_parent(doc, tokens)
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent[int(last)]
    raise ValueError(f"path {path} does not exist")


def _pointer_add(doc: Any, path: str, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent, last = _pointer_parent(doc, tokens)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list) and last == "-":
        parent.append(value)
    elif isinstance(parent, list) and last.isdigit() and int(last) <= len(parent):
        parent.insert(int(last), value)
    else:
        raise ValueError(f"cannot add at {path}")
    return doc


def _pointer_remove(doc: Any, path: str) -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise ValueError("cannot remove the whole document")
    parent, last = _pointer_parent(doc, tokens)
    if isinstance(parent, dict) and last in parent:
        return parent.pop(last)
    if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        return parent.pop(int(last))
    raise ValueError(f"path {path} does not exist")


def json_patch(doc: Any, operations: list[Any]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test); ValueError when it cannot apply."""
    result = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict) or "path" not in operation:
            raise ValueError(f"invalid JSON patch operation {operation!r}")
        op, path = operation.get("op"), operation["path"]
        if op == "add":
            result = _pointer_add(result, path, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            _pointer_remove(result, path)
        elif op == "replace":
            _pointer_get(result, path)  # replace requires the target to exist
            if _pointer(path):
                _pointer_remove(result, path)
            result = _pointer_add(result, path, copy.deepcopy(operation.get("value")))
        elif op == "move":
            value = _pointer_remove(result, operation.get("from", ""))
            result = _pointer_add(result, path, value)
        elif op == "copy":
            value = copy.deepcopy(_pointer_get(result, operation.get("from", "")))
            result = _pointer_add(result, path, value)
        elif op == "test":
            if _pointer_get(result, path) != operation.get("value"):
                raise ValueError(f"test operation failed at {path}")
        else:
            raise ValueError(f"unknown JSON patch operation {op!r}")
    return result


# --- small object helpers --------------------------------------------------------------------------


def _labels(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _annotations(obj: Obj) -> dict[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def _uid(obj: Obj) -> str:
    return str(obj["metadata"].get("uid", ""))


def _controller_on(obj: Obj) -> bool:
    return str(_annotations(obj).get(CONTROLLER_ANNOTATION, "")).lower() != "off"


def _pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _is_strimzi_pod(pod: Obj) -> bool:
    owners = pod["metadata"].get("ownerReferences") or []
    return "strimzi.io/cluster" in _labels(pod) and any(o.get("kind") == "StrimziPodSet" for o in owners)


def _owner_reference(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": _uid(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _template_hash(template: Any) -> str:
    # stands in for the pod-template-hash label: stable for an unchanged template
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_NAME_ALPHABET[b % len(_NAME_ALPHABET)] for b in digest[:10])


def _int_or_none(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(400, f"invalid integer {value!r}") from exc


# --- HTTP plumbing ----------------------------------------------------------------------------------


class _HTTPServer(http.server.ThreadingHTTPServer):
    # handler threads may be sleeping in an injected latency; they must not keep stop() waiting
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeKubeServer) -> None:
        super().__init__(address, _Handler)
        self.fake = fake


class _Handler(http.server.BaseHTTPRequestHandler):
    # keep-alive, as the client's urllib3 pool expects; every response carries Content-Length
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms to each request
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        return  # keep the demo console and the pytest output quiet

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        rbac = self.server.fake.rbac  # the bot's Role, checked when set (bot.sandbox.kube_rbac)
        denied = rbac.check(method, self.path, self.headers.get("Authorization")) if rbac is not None else None
        code, payload = (
            (403, denied)
            if denied
            else self.server.fake._serve(method, self.path, self.headers.get("Content-Type", ""), raw)
        )
        if isinstance(payload, str):
            body, content_type = payload.encode(), "text/plain; charset=utf-8"
        else:
            body, content_type = json.dumps(payload).encode(), "application/json"
        try:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up (e.g. its _request_timeout fired during an injected latency)
            self.close_connection = True


# --- the server ---------------------------------------------------------------------------------------


class FakeKubeServer:
    """In-memory Kubernetes API server; see the module docstring.

    Thread-safe: one re-entrant lock guards the store, so HTTP handlers, controller timers and
    the seeding helpers (put/get/list/...) can run concurrently.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, controller_delay: float = 0.0) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._objects: dict[tuple[str, str, str, str], Obj] = {}
        self._by_plural: dict[tuple[str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        self._logs: dict[tuple[str, str, str], str] = {}
        self._retiring: set[str] = set()  # uids of pods an in-flight rollout will remove
        self._timers: list[threading.Timer] = []
        self._resource_version = 0
        self._ip_counter = 0
        self._latency = 0.0
        self._failure: int | None = None
        self._controller_delay = controller_delay
        self._random = random.Random()
        self.requests: list[tuple[str, str]] = []  # (method, path without the query string)
        self.rbac: Authorizer | None = None
        for rt in _BUILTIN_RESOURCES:
            self.register_resource(rt)
        for namespace in _DEFAULT_NAMESPACES:
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        # bind now so that url and configuration() are usable before start()
        self._http = _HTTPServer((host, port), self)
        self._thread: threading.Thread | None = None
        bound_host, bound_port = self._http.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"

    # lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeKubeServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-kube", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in an injected latency
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._http.server_close()

    def __enter__(self) -> FakeKubeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # client configuration --------------------------------------------------------------------------------

    def configuration(self) -> kubernetes.client.Configuration:
        configuration = kubernetes.client.Configuration()
        configuration.host = self.url
        configuration.verify_ssl = False
        configuration.proxy = None  # loopback traffic must never go to an HTTP(S)_PROXY from the environment
        configuration.api_key = {"authorization": f"Bearer {CLUSTER_ADMIN_TOKEN}"}  # tests' own actors, not the bot
        return configuration

    def write_kubeconfig(self, path: str, context: str = "sandbox", namespace: str = "kafka") -> None:
        # JSON is valid YAML, so the kubeconfig needs no YAML library
        kubeconfig = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}}],
            "current-context": context,
            "preferences": {},
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(kubeconfig, handle, indent=2)

    # seeding and inspection ----------------------------------------------------------------------------

    def register_resource(self, rt: ResourceType) -> None:
        """Serve one more resource type (e.g. another CRD) in addition to the built-in ones."""
        with self._lock:
            self._by_plural[(rt.api_version, rt.plural)] = rt
            self._by_kind[(rt.api_version, rt.kind)] = rt

    def put(self, obj: Obj) -> Obj:
        """Create or replace an object as given, status included, and let the controller react.

        Fills metadata (uid, resourceVersion, creationTimestamp, generation, labels, annotations)
        and creates a missing namespace, so a demo or test can seed state in any order. A Pod
        given without `status` gets a Running, Ready one.
        """
        with self._lock:
            rt = self._kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
            metadata = obj.get("metadata") or {}
            name = metadata.get("name")
            if not name:
                raise ValueError("put() needs metadata.name")
            namespace = (metadata.get("namespace") or "default") if rt.namespaced else None
            if namespace is not None and self._lookup(self._kind("v1", "Namespace"), None, namespace) is None:
                self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
            new = self._check_body(rt, namespace, obj, name)
            old = self._lookup(rt, namespace, name)
            if rt.kind == "Secret":
                self._normalize_secret(rt, new)
            if rt.kind == "Namespace":
                new.setdefault("spec", {"finalizers": ["kubernetes"]})
                new.setdefault("status", {"phase": "Active"})
            if rt.kind == "Pod" and "status" not in new:
                # a seeded pod without status is taken as scheduled and running, as the kubelet would make it
                self._default_pod_spec(new.setdefault("spec", {}), name)
                new["status"] = self._pod_status(new, ready=True)
            self._fill_metadata(new, old)
            saved = self._save(new)
            self._after_write(rt, old, saved)
            return copy.deepcopy(self._objects.get(self._key(rt, namespace, name), saved))

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj | None:
        with self._lock:
            found = self._lookup(self._kind(api_version, kind), namespace, name)
            return copy.deepcopy(found) if found is not None else None

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[Obj]:
        with self._lock:
            rt = self._kind(api_version, kind)
            return self._select(rt, namespace, label_selector, None)

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> bool:
        """Delete as the API would (garbage collection and controllers react); False if missing."""
        with self._lock:
            rt = self._kind(api_version, kind)
            found = self._lookup(rt, namespace, name)
            if found is None:
                return False
            self._remove(rt, found, direct=True)
            return True

    def set_pod_log(self, namespace: str, name: str, text: str, container: str | None = None) -> None:
        """Log text for a pod; without a container it answers for every container of the pod."""
        with self._lock:
            self._logs[(namespace, name, container or "")] = text

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency = max(0.0, seconds)

    def set_failure(self, status: int | None) -> None:
        with self._lock:
            self._failure = status

    # request dispatch ---------------------------------------------------------------------------------

    def _serve(self, method: str, target: str, content_type: str, raw: bytes) -> tuple[int, Obj | str]:
        parts = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append((method, parts.path))
            latency, failure = self._latency, self._failure
        if latency > 0:
            self._stopping.wait(latency)
        if failure is not None:
            reason = _REASONS.get(failure, "InternalError")
            return failure, _status_body(failure, reason, f"sandbox: injected HTTP {failure} failure")
        try:
            with self._lock:
                return self._route(method, parts.path, query, content_type, raw)
        except ApiError as exc:
            return exc.code, exc.body()
        except Exception as exc:  # a bug in the fake must surface as a 500, not a dropped connection
            return 500, _status_body(500, "InternalError", f"sandbox API server error: {exc!r}")

    def _route(
        self, method: str, path: str, query: dict[str, str], content_type: str, raw: bytes
    ) -> tuple[int, Obj | str]:
        segments = [unquote(s) for s in path.strip("/").split("/") if s]
        if segments and segments[0] in ("healthz", "livez", "readyz"):
            return 200, "ok"
        if segments == ["version"]:
            return 200, self._version()
        if segments == ["api"]:
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if segments == ["apis"]:
            return 200, self._group_list()
        if len(segments) >= 2 and segments[0] == "api":
            api_version, rest = segments[1], segments[2:]
        elif len(segments) >= 3 and segments[0] == "apis":
            api_version, rest = f"{segments[1]}/{segments[2]}", segments[3:]
        else:
            raise ApiError(404, "the server could not find the requested resource")
        if not rest:
            return 200, self._resource_list(api_version)
        namespace: str | None = None
        namespace_subresource = api_version == "v1" and len(rest) == 3 and rest[2] in ("status", "finalize")
        if rest[0] == "namespaces" and len(rest) >= 3 and not namespace_subresource:
            namespace, rest = rest[1], rest[2:]
        rt = self._by_plural.get((api_version, rest[0]))
        if rt is None or len(rest) > 3 or (namespace is not None and not rt.namespaced):
            raise ApiError(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else None
        subresource = rest[2] if len(rest) > 2 else None
        if rt.namespaced and namespace is None and (name is not None or method != "GET"):
            raise ApiError(404, "the server could not find the requested resource")
        dry_run = bool(query.get("dryRun"))
        if name is None:
            return self._collection(rt, namespace, method, query, raw, dry_run)
        if subresource is None:
            return self._item(rt, namespace, name, method, query, content_type, raw, dry_run)
        return self._subresource(rt, namespace, name, subresource, method, query, content_type, raw, dry_run)

    def _collection(
        self, rt: ResourceType, namespace: str | None, method: str, query: dict[str, str], raw: bytes, dry_run: bool
    ) -> tuple[int, Obj]:
        if method == "GET":
            if query.get("watch", "").lower() in ("true", "1"):
                raise ApiError(400, "watch is not supported by the cdc-bot sandbox API server")
            return 200, self._list_response(rt, namespace, query)
        if method == "POST":
            created = self._create(rt, namespace, self._json(raw), dry_run)
            return 201, created
        if method == "DELETE":
            deleted = []
            options = self._delete_options(raw, query)
            for item in self._select(rt, namespace, query.get("labelSelector"), query.get("fieldSelector")):
                deleted.append(self._delete(rt, namespace, item["metadata"]["name"], options, dry_run))
            metadata = {"resourceVersion": str(self._resource_version)}
            return 200, {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": metadata, "items": deleted}
        raise ApiError(405, f"method {method} is not allowed on {rt.resource}")

    def _item(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        method: str,
        query: dict[str, str],
        content_type: str,
        raw: bytes,
        dry_run: bool,
    ) -> tuple[int, Obj]:
        if method == "GET":
            return 200, copy.deepcopy(self._require(rt, namespace, name))
        if method == "PUT":
            return 200, self._replace(rt, namespace, name, self._json(raw), dry_run)
        if method == "PATCH":
            return self._patch(rt, namespace, name, None, content_type, raw, query, dry_run)
        if method == "DELETE":
            return 200, self._delete(rt, namespace, name, self._delete_options(raw, query), dry_run)
        raise ApiError(405, f"method {method} is not allowed on {rt.resource}")

    def _subresource(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str,
        method: str,
        query: dict[str, str],
        content_type: str,
        raw: bytes,
        dry_run: bool,
    ) -> tuple[int, Obj | str]:
        if subresource == "log" and rt.kind == "Pod" and method == "GET":
            return 200, self._read_log(namespace or "", name, query)
        if subresource == "eviction" and rt.kind == "Pod" and method == "POST":
            pod = self._require(rt, namespace, name)
            self._delete(rt, namespace, name, self._delete_options(raw, query), dry_run)
            details = _details(rt, name, _uid(pod))
            return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
        if (subresource == "status" and rt.status) or (subresource == "scale" and rt.scale):
            current = self._require(rt, namespace, name)
            if method == "GET":
                return 200, self._scale_view(current) if subresource == "scale" else copy.deepcopy(current)
            if method == "PUT":
                body = self._json(raw)
                if subresource == "scale":
                    return 200, self._set_scale(rt, current, body, dry_run)
                return 200, self._write_status(rt, current, body, dry_run)
            if method == "PATCH":
                return self._patch(rt, namespace, name, subresource, content_type, raw, query, dry_run)
            raise ApiError(405, f"method {method} is not allowed on {rt.resource}/{subresource}")
        if rt.kind == "Pod" and subresource in ("exec", "attach", "portforward", "proxy"):
            raise ApiError(400, f"pods/{subresource} is not supported by the cdc-bot sandbox API server")
        raise ApiError(404, "the server could not find the requested resource")

    # verbs --------------------------------------------------------------------------------------------

    def _list_response(self, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> Obj:
        items = self._select(rt, namespace, query.get("labelSelector"), query.get("fieldSelector"))
        metadata: Obj = {"resourceVersion": str(self._resource_version)}
        limit = _int_or_none(query.get("limit")) or 0
        offset = 0
        if query.get("continue"):
            try:
                offset = int(base64.urlsafe_b64decode(query["continue"].encode()).decode())
            except (ValueError, binascii.Error) as exc:
                raise ApiError(400, "invalid continue token") from exc
        if limit > 0 or offset:
            end = offset + limit if limit > 0 else len(items)
            if end < len(items):
                metadata["continue"] = base64.urlsafe_b64encode(str(end).encode()).decode()
                metadata["remainingItemCount"] = len(items) - end
            items = items[offset:end]
        return {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": metadata, "items": items}

    def _select(
        self, rt: ResourceType, namespace: str | None, label_selector: str | None, field_selector: str | None
    ) -> list[Obj]:
        try:
            requirements = parse_label_selector(label_selector or "")
            fields = parse_field_selector(field_selector or "")
        except ValueError as exc:
            raise ApiError(400, f"unable to parse requirement: {exc}") from exc
        found = []
        for key in sorted(self._objects):
            if key[:2] != (rt.api_version, rt.kind) or (namespace is not None and key[2] != namespace):
                continue
            obj = self._objects[key]
            if labels_match(requirements, _labels(obj)) and fields_match(fields, obj):
                found.append(copy.deepcopy(obj))
        return found

    def _create(self, rt: ResourceType, namespace: str | None, body: Any, dry_run: bool) -> Obj:
        obj = self._check_body(rt, namespace, body, None)
        metadata = obj["metadata"]
        if not metadata.get("name"):
            prefix = metadata.get("generateName")
            if not prefix:
                raise _invalid(rt, "", "metadata.name", "Required value: name or generateName is required")
            metadata["name"] = self._unique_name(rt, namespace, str(prefix))
        name = str(metadata["name"])
        if rt.namespaced:
            namespace_rt = self._kind("v1", "Namespace")
            if self._lookup(namespace_rt, None, namespace or "") is None:
                raise _not_found(namespace_rt, namespace or "")
        if self._lookup(rt, namespace, name) is not None:
            raise ApiError(409, f'{rt.resource} "{name}" already exists', "AlreadyExists", _details(rt, name))
        if rt.status:
            obj.pop("status", None)  # status is only written through /status (or by controllers)
        self._apply_defaults(rt, obj)
        self._fill_metadata(obj, None)
        created = self._commit(rt, None, obj, dry_run)
        if rt.kind == "Pod" and not dry_run and not _pod_ready(created):
            uid = _uid(created)
            self._schedule(lambda: self._mark_ready(uid))
        return created

    def _replace(self, rt: ResourceType, namespace: str | None, name: str, body: Any, dry_run: bool) -> Obj:
        old = self._require(rt, namespace, name)
        new = self._check_body(rt, namespace, body, name)
        self._check_preconditions(rt, old, new["metadata"], require_version=rt.custom)
        if rt.status:
            self._keep_status(old, new)
        if rt.kind == "Secret":
            self._normalize_secret(rt, new)
        self._fill_metadata(new, old)
        return self._commit(rt, old, new, dry_run)

    def _patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        subresource: str | None,
        content_type: str,
        raw: bytes,
        query: dict[str, str],
        dry_run: bool,
    ) -> tuple[int, Obj]:
        media_type = content_type.split(";")[0].strip().lower()
        patch = self._json(raw)
        old = self._lookup(rt, namespace, name)
        if media_type == APPLY_PATCH:
            # server-side apply, approximated as create-or-merge-patch (no field ownership)
            if not query.get("fieldManager"):
                raise ApiError(400, "PATCH, application/apply-patch+yaml requests require a fieldManager")
            if old is None and subresource is None:
                return 201, self._create(rt, namespace, merge_patch(patch, {"metadata": {"name": name}}), dry_run)
            media_type = MERGE_PATCH
        if old is None:
            raise _not_found(rt, name)
        base = self._scale_view(old) if subresource == "scale" else old
        try:
            if media_type == MERGE_PATCH:
                if not isinstance(patch, dict):
                    raise ValueError("a merge patch must be a JSON object")
                patched = merge_patch(base, patch)
            elif media_type == STRATEGIC_MERGE_PATCH:
                if rt.custom:
                    raise ApiError(
                        415,
                        "the body of the request was in an unknown format - accepted media types include: "
                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                    )
                if not isinstance(patch, dict):
                    raise ValueError("a strategic merge patch must be a JSON object")
                patched = strategic_merge_patch(base, patch)
            elif media_type == JSON_PATCH:
                if not isinstance(patch, list):
                    raise ValueError("a JSON patch must be a JSON array of operations")
                patched = json_patch(base, patch)
            else:
                raise ApiError(415, f"the body of the request was in an unknown format - {content_type!r}")
        except ValueError as exc:
            raise ApiError(422, f"the server rejected our request due to an error in our request: {exc}") from exc
        if not isinstance(patched, dict):
            raise ApiError(422, "the patch did not produce an object")
        if subresource == "scale":
            return 200, self._set_scale(rt, old, patched, dry_run)
        if subresource == "status":
            return 200, self._write_status(rt, old, patched, dry_run)
        new = self._check_body(rt, namespace, patched, name)
        if new["metadata"].get("resourceVersion") != old["metadata"].get("resourceVersion"):
            self._check_preconditions(rt, old, new["metadata"], require_version=False)
        if rt.status:
            self._keep_status(old, new)
        if rt.kind == "Secret":
            self._normalize_secret(rt, new)
        self._fill_metadata(new, old)
        return 200, self._commit(rt, old, new, dry_run)

    def _write_status(self, rt: ResourceType, old: Obj, body: Any, dry_run: bool) -> Obj:
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        self._check_preconditions(rt, old, body.get("metadata") or {}, require_version=False)
        new = copy.deepcopy(old)
        if body.get("status") is None:
            new.pop("status", None)
        else:
            new["status"] = copy.deepcopy(body["status"])
        return self._commit(rt, old, new, dry_run)

    def _scale_view(self, obj: Obj) -> Obj:
        spec, status, metadata = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                key: metadata[key] for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            },
            "spec": {"replicas": int(spec.get("replicas", 1))},
            "status": {"replicas": int(status.get("replicas", 0)), "selector": _selector_string(spec.get("selector"))},
        }

    def _set_scale(self, rt: ResourceType, old: Obj, scale: Any, dry_run: bool) -> Obj:
        if not isinstance(scale, dict):
            raise ApiError(400, "the request body must be a Scale object")
        name = old["metadata"]["name"]
        self._check_preconditions(rt, old, scale.get("metadata") or {}, require_version=False)
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise _invalid(rt, name, "spec.replicas", f"Invalid value: {replicas!r}: must be a non-negative integer")
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["replicas"] = replicas
        self._fill_metadata(new, old)
        return self._scale_view(self._commit(rt, old, new, dry_run))

    def _delete_options(self, raw: bytes, query: dict[str, str]) -> Obj:
        options = self._json(raw) if raw.strip() else {}
        if not isinstance(options, dict):
            raise ApiError(400, "DeleteOptions must be a JSON object")
        if "propagationPolicy" in query:
            options["propagationPolicy"] = query["propagationPolicy"]
        if "gracePeriodSeconds" in query:
            options["gracePeriodSeconds"] = _int_or_none(query["gracePeriodSeconds"])
        return options

    def _delete(self, rt: ResourceType, namespace: str | None, name: str, options: Obj, dry_run: bool) -> Obj:
        obj = self._require(rt, namespace, name)
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != _uid(obj):
            raise ApiError(
                409,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in object meta: {_uid(obj)}",
                details=_details(rt, name),
            )
        if (
            preconditions.get("resourceVersion")
            and preconditions["resourceVersion"] != obj["metadata"]["resourceVersion"]
        ):
            raise _conflict(rt, name)
        if not dry_run:
            self._remove(rt, obj, direct=True, orphan=options.get("propagationPolicy") == "Orphan")
        if rt.kind == "Pod" or rt.custom:
            # pods answer with the object being deleted (graceful deletion), like the real API
            gone = copy.deepcopy(obj)
            gone["metadata"]["deletionTimestamp"] = _now()
            if rt.kind == "Pod":
                grace = options.get("gracePeriodSeconds")
                gone["metadata"]["deletionGracePeriodSeconds"] = 30 if grace is None else grace
            return gone
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": _details(rt, name, _uid(obj)),
        }

    def _read_log(self, namespace: str, name: str, query: dict[str, str]) -> str:
        pod = self._require(self._kind("v1", "Pod"), namespace, name)
        containers = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        container = query.get("container")
        if not container:
            if len(containers) > 1:
                raise ApiError(
                    400, f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
                )
            container = containers[0] if containers else ""
        elif containers and container not in containers:
            raise ApiError(400, f"container {container} is not valid for pod {name}")
        text = self._logs.get((namespace, name, container))
        if text is None:
            text = self._logs.get((namespace, name, ""), "")
        tail = _int_or_none(query.get("tailLines"))
        if tail is not None and tail >= 0:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:]) if tail else ""
        limit = _int_or_none(query.get("limitBytes"))
        if limit is not None and limit >= 0:
            text = text.encode()[:limit].decode(errors="ignore")
        return text

    # store internals ---------------------------------------------------------------------------------

    def _kind(self, api_version: str, kind: str) -> ResourceType:
        rt = self._by_kind.get((api_version, kind))
        if rt is None:
            raise KeyError(f"{kind} in {api_version} is not served; add it with register_resource()")
        return rt

    @staticmethod
    def _key(rt: ResourceType, namespace: str | None, name: str) -> tuple[str, str, str, str]:
        return (rt.api_version, rt.kind, (namespace or "") if rt.namespaced else "", name)

    def _lookup(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        return self._objects.get(self._key(rt, namespace, name))

    def _require(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        found = self._lookup(rt, namespace, name)
        if found is None:
            raise _not_found(rt, name)
        return found

    def _rt_of(self, obj: Obj) -> ResourceType:
        return self._kind(obj["apiVersion"], obj["kind"])

    @staticmethod
    def _json(raw: bytes) -> Any:
        try:
            return json.loads(raw or b"null")
        except ValueError as exc:
            raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc

    @staticmethod
    def _check_body(rt: ResourceType, namespace: str | None, body: Any, name: str | None) -> Obj:
        """Copy a request body and check/fill apiVersion, kind, namespace and name from the URL."""
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        obj = copy.deepcopy(body)
        if obj.setdefault("apiVersion", rt.api_version) != rt.api_version:
            raise ApiError(400, f"the API version in the data ({obj['apiVersion']}) does not match {rt.api_version}")
        if obj.setdefault("kind", rt.kind) != rt.kind:
            raise ApiError(400, f"the kind in the data ({obj['kind']}) does not match {rt.kind}")
        metadata = obj.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ApiError(400, "metadata must be a JSON object")
        obj["metadata"] = metadata
        if rt.namespaced:
            if metadata.get("namespace") and metadata["namespace"] != namespace:
                raise ApiError(
                    400, "the namespace of the provided object does not match the namespace sent on the request"
                )
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        if name is not None:
            if metadata.get("name") and metadata["name"] != name:
                raise ApiError(
                    400, f"the name of the object ({metadata['name']}) does not match the name on the URL ({name})"
                )
            metadata["name"] = name
        return obj

    def _check_preconditions(self, rt: ResourceType, old: Obj, metadata: Obj, *, require_version: bool) -> None:
        # optimistic concurrency: a stale resourceVersion in the body is a 409 (leader election relies on it)
        name = old["metadata"]["name"]
        if metadata.get("uid") and metadata["uid"] != _uid(old):
            raise ApiError(
                409,
                f"Precondition failed: UID in precondition: {metadata['uid']}, UID in object meta: {_uid(old)}",
                details=_details(rt, name),
            )
        version = metadata.get("resourceVersion")
        if not version:
            if require_version:
                raise _invalid(
                    rt, name, "metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update"
                )
            return
        if version != old["metadata"].get("resourceVersion"):
            raise _conflict(rt, name)

    @staticmethod
    def _keep_status(old: Obj, new: Obj) -> None:
        # with a status subresource, writes to the main resource cannot change status
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)

    def _fill_metadata(self, obj: Obj, old: Obj | None) -> None:
        metadata = obj["metadata"]
        for field in ("labels", "annotations"):
            if not isinstance(metadata.get(field), dict):
                metadata[field] = {}
        if old is not None:
            previous = old["metadata"]
            metadata["uid"] = previous["uid"]
            metadata["creationTimestamp"] = previous["creationTimestamp"]
            if "spec" in obj or "generation" in previous:
                generation = int(previous.get("generation", 1))
                metadata["generation"] = generation + 1 if obj.get("spec") != old.get("spec") else generation
        else:
            metadata.setdefault("uid", str(uuid.uuid4()))
            metadata.setdefault("creationTimestamp", _now())
            if "spec" in obj:
                metadata.setdefault("generation", 1)

    def _save(self, obj: Obj) -> Obj:
        """Store an object under a new resourceVersion; the controller's own writes stop here."""
        self._resource_version += 1
        obj["metadata"]["resourceVersion"] = str(self._resource_version)
        rt = self._rt_of(obj)
        self._objects[self._key(rt, obj["metadata"].get("namespace"), obj["metadata"]["name"])] = copy.deepcopy(obj)
        return copy.deepcopy(obj)

    def _commit(self, rt: ResourceType, old: Obj | None, new: Obj, dry_run: bool) -> Obj:
        if dry_run:
            if old is not None:
                new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            return new
        saved = self._save(new)
        self._after_write(rt, old, saved)
        return saved  # the object as written, before the controller reacted (as a real API answers)

    def _remove(self, rt: ResourceType, obj: Obj, *, direct: bool, orphan: bool = False) -> None:
        metadata = obj["metadata"]
        key = self._key(rt, metadata.get("namespace"), metadata["name"])
        if self._objects.get(key, {}).get("metadata", {}).get("uid") != metadata.get("uid"):
            return  # already gone (or replaced) through another path
        del self._objects[key]
        self._resource_version += 1
        uid = _uid(obj)
        if not orphan:
            # garbage collection: dependents go with their owner
            for other in list(self._objects.values()):
                if any(ref.get("uid") == uid for ref in other["metadata"].get("ownerReferences") or []):
                    self._remove(self._rt_of(other), other, direct=False)
        if rt.kind == "Namespace":
            for other in list(self._objects.values()):
                if other["metadata"].get("namespace") == metadata["name"]:
                    self._remove(self._rt_of(other), other, direct=False)
        if rt.kind == "Pod":
            self._retiring.discard(uid)
            if direct:
                if _is_strimzi_pod(obj) and _controller_on(obj):
                    self._recreate_strimzi_pod(obj)
                for deployment in self._deployments_selecting(obj):
                    self._reconcile_deployment(deployment, template_changed=False)

    def _unique_name(self, rt: ResourceType, namespace: str | None, prefix: str) -> str:
        while True:
            name = prefix + "".join(self._random.choice(_NAME_ALPHABET) for _ in range(5))
            if self._lookup(rt, namespace, name) is None:
                return name

    def _apply_defaults(self, rt: ResourceType, obj: Obj) -> None:
        """Defaults the API server (or, for pods, the kubelet) fills in on create."""
        spec = obj.get("spec")
        if rt.kind == "Secret":
            self._normalize_secret(rt, obj)
        elif rt.kind == "Namespace":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
        elif rt.kind == "Deployment" and isinstance(spec, dict):
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault(
                "strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
            )
        elif rt.kind == "Service" and isinstance(spec, dict):
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("clusterIP", f"10.96.{self._next_ip_suffix()}")
            obj["status"] = {"loadBalancer": {}}
        elif rt.kind == "Pod":
            pod_spec = obj.setdefault("spec", {})
            self._default_pod_spec(pod_spec, obj["metadata"]["name"])
            obj["status"] = self._pod_status(obj, ready=self._controller_delay <= 0)

    def _normalize_secret(self, rt: ResourceType, secret: Obj) -> None:
        # stringData is write-only: the API server folds it into base64 `data`
        data = secret.get("data") or {}
        for key, value in data.items():
            try:
                base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ApiError(400, f"illegal base64 data in secret data[{key!r}]") from exc
        for key, value in (secret.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        secret["data"] = data
        secret.setdefault("type", "Opaque")

    def _next_ip_suffix(self) -> str:
        self._ip_counter += 1
        return f"{self._ip_counter // 250}.{self._ip_counter % 250 + 2}"

    # discovery -----------------------------------------------------------------------------------------

    @staticmethod
    def _version() -> Obj:
        return {
            "major": "1",
            "minor": "31",
            "gitVersion": "v1.31.0-cdc-bot-sandbox",
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2024-08-13T00:00:00Z",
            "goVersion": "go1.22.5",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def _group_list(self) -> Obj:
        groups: dict[str, list[str]] = {}
        for rt in self._by_kind.values():
            if rt.group:
                groups.setdefault(rt.group, [])
                if rt.api_version not in groups[rt.group]:
                    groups[rt.group].append(rt.api_version)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": group,
                    "versions": [{"groupVersion": gv, "version": gv.rpartition("/")[2]} for gv in versions],
                    "preferredVersion": {"groupVersion": versions[0], "version": versions[0].rpartition("/")[2]},
                }
                for group, versions in sorted(groups.items())
            ],
        }

    def _resource_list(self, api_version: str) -> Obj:
        served = [rt for rt in self._by_kind.values() if rt.api_version == api_version]
        if not served:
            raise ApiError(404, "the server could not find the requested resource")
        verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]
        resources: list[Obj] = []
        for rt in sorted(served, key=lambda r: r.plural):
            base = {"singularName": rt.kind.lower(), "namespaced": rt.namespaced, "kind": rt.kind}
            resources.append({"name": rt.plural, **base, "verbs": verbs})
            if rt.status:
                resources.append({"name": f"{rt.plural}/status", **base, "verbs": ["get", "patch", "update"]})
            if rt.scale:
                scale = {**base, "kind": "Scale", "group": "autoscaling", "version": "v1"}
                resources.append({"name": f"{rt.plural}/scale", **scale, "verbs": ["get", "patch", "update"]})
            if rt.kind == "Pod":
                resources.append({"name": "pods/log", **base, "verbs": ["get"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": resources}

    # the built-in controller -----------------------------------------------------------------------------

    def _schedule(self, action: Callable[[], None]) -> None:
        """Run a controller step after controller_delay (at once when there is no delay)."""
        if self._controller_delay <= 0:
            action()
            return
        timer = threading.Timer(self._controller_delay, self._run_scheduled, args=(action,))
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()]
        self._timers.append(timer)
        timer.start()

    def _run_scheduled(self, action: Callable[[], None]) -> None:
        with self._lock:
            if not self._stopping.is_set():
                action()

    def _after_write(self, rt: ResourceType, old: Obj | None, new: Obj) -> None:
        if rt.kind == "Deployment":
            switched = old is not None and _controller_on(old) != _controller_on(new)
            if old is None or old.get("spec") != new.get("spec") or switched:
                old_template = ((old or {}).get("spec") or {}).get("template")
                changed = old is not None and old_template != (new.get("spec") or {}).get("template")
                self._reconcile_deployment(
                    self._key(rt, new["metadata"]["namespace"], new["metadata"]["name"]), changed
                )
        elif rt.kind == "Pod":
            for deployment in self._deployments_selecting(new):
                self._refresh_status(deployment)

    def _deployments_selecting(self, pod: Obj) -> list[tuple[str, str, str, str]]:
        namespace, labels = pod["metadata"].get("namespace"), _labels(pod)
        keys = []
        for key, obj in self._objects.items():
            if key[:3] == ("apps/v1", "Deployment", namespace) and _controller_on(obj):
                requirements = self._deployment_requirements(obj)
                if requirements and labels_match(requirements, labels):
                    keys.append(key)
        return keys

    @staticmethod
    def _deployment_requirements(deployment: Obj) -> list[Requirement]:
        spec = deployment.get("spec") or {}
        requirements = _selector_requirements(spec.get("selector"))
        if not requirements:  # no selector: fall back on the template labels rather than every pod
            template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            requirements = [(k, "in", frozenset({str(v)})) for k, v in template_labels.items()]
        return requirements

    def _pods_of(self, deployment: Obj) -> list[Obj]:
        requirements = self._deployment_requirements(deployment)
        if not requirements:
            return []
        namespace = deployment["metadata"]["namespace"]
        return [
            obj
            for key, obj in sorted(self._objects.items())
            if key[:3] == ("v1", "Pod", namespace) and labels_match(requirements, _labels(obj))
        ]

    def _reconcile_deployment(self, key: tuple[str, str, str, str], template_changed: bool) -> None:
        deployment = self._objects.get(key)
        if deployment is None or not _controller_on(deployment):
            return
        spec = deployment.get("spec") or {}
        wanted = spec.get("replicas", 1)
        if isinstance(wanted, bool) or not isinstance(wanted, int) or not self._deployment_requirements(deployment):
            return
        template = copy.deepcopy(spec.get("template") or {})
        template_hash = _template_hash(template)
        replica_set = self._ensure_replica_set(key, template, template_hash, wanted)
        pods = self._pods_of(deployment)
        retire: list[str] = []
        if template_changed:
            # rollout: new pods first, the old ones go once the new ones are Ready (maxSurge 100%)
            retire = [_uid(pod) for pod in pods if _uid(pod) not in self._retiring]
            self._retiring.update(retire)
        current = [pod for pod in pods if _uid(pod) not in self._retiring]
        ready_now = self._controller_delay <= 0
        spawned = [
            self._spawn_pod(deployment, replica_set, template, template_hash, ready_now)
            for _ in range(wanted - len(current))
        ]
        if len(current) > wanted:
            # like a ReplicaSet: drop not-Ready pods first, then the newest
            victims = sorted(current, key=lambda p: (_pod_ready(p), -int(p["metadata"]["resourceVersion"])))
            for pod in victims[: len(current) - wanted]:
                self._remove(self._kind("v1", "Pod"), pod, direct=False)
        if ready_now:
            self._settle(key, [], retire)
        else:
            self._schedule(lambda: self._settle(key, spawned, retire))
        self._refresh_status(key)

    def _ensure_replica_set(
        self, key: tuple[str, str, str, str], template: Obj, template_hash: str, wanted: int
    ) -> Obj:
        deployment = self._objects[key]
        namespace, name = key[2], key[3]
        rs_rt = self._kind("apps/v1", "ReplicaSet")
        owned = [
            obj
            for k, obj in self._objects.items()
            if k[:3] == ("apps/v1", "ReplicaSet", namespace)
            and any(ref.get("uid") == _uid(deployment) for ref in obj["metadata"].get("ownerReferences") or [])
        ]
        rs_name = f"{name}-{template_hash}"
        for other in owned:
            if other["metadata"]["name"] != rs_name and (other.get("spec") or {}).get("replicas") != 0:
                scaled = copy.deepcopy(other)
                scaled["spec"]["replicas"] = 0
                self._fill_metadata(scaled, other)
                self._save(scaled)
        existing = self._lookup(rs_rt, namespace, rs_name)
        if existing is not None:
            if (existing.get("spec") or {}).get("replicas") != wanted:
                updated = copy.deepcopy(existing)
                updated["spec"]["replicas"] = wanted
                self._fill_metadata(updated, existing)
                return self._save(updated)
            return existing
        revision = 1 + max(
            (int(_annotations(rs).get("deployment.kubernetes.io/revision", "0") or 0) for rs in owned), default=0
        )
        template_labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": template_hash}
        rs_template = copy.deepcopy(template)
        rs_template.setdefault("metadata", {})["labels"] = template_labels
        match_labels = dict(((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
        replica_set: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": namespace,
                "labels": template_labels,
                "annotations": {
                    "deployment.kubernetes.io/revision": str(revision),
                    "deployment.kubernetes.io/desired-replicas": str(wanted),
                },
                "ownerReferences": [_owner_reference(deployment)],
            },
            "spec": {
                "replicas": wanted,
                "selector": {"matchLabels": {**match_labels, "pod-template-hash": template_hash}},
                "template": rs_template,
            },
            "status": {"replicas": 0},
        }
        self._fill_metadata(replica_set, None)
        saved = self._save(replica_set)
        annotated = copy.deepcopy(deployment)
        annotated["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(revision)
        self._save(annotated)
        return saved

    def _spawn_pod(self, deployment: Obj, replica_set: Obj, template: Obj, template_hash: str, ready: bool) -> str:
        name = deployment["metadata"]["name"]
        namespace = deployment["metadata"]["namespace"]
        template_metadata = template.get("metadata") or {}
        spec = copy.deepcopy(template.get("spec") or {})
        self._default_pod_spec(spec, name)
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": self._unique_name(self._kind("v1", "Pod"), namespace, f"{name}-"),
                "generateName": f"{name}-",
                "namespace": namespace,
                "labels": {**(template_metadata.get("labels") or {}), "pod-template-hash": template_hash},
                "annotations": copy.deepcopy(template_metadata.get("annotations") or {}),
                "ownerReferences": [_owner_reference(replica_set)],
            },
            "spec": spec,
        }
        pod["status"] = self._pod_status(pod, ready)
        self._fill_metadata(pod, None)
        return _uid(self._save(pod))

    def _recreate_strimzi_pod(self, old: Obj) -> None:
        # Strimzi's StrimziPodSet controller brings a deleted pod back under the same name
        metadata = old["metadata"]
        pod: Obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                key: copy.deepcopy(metadata[key])
                for key in ("name", "namespace", "labels", "annotations", "ownerReferences")
                if key in metadata
            },
            "spec": copy.deepcopy(old.get("spec") or {}),
        }
        self._default_pod_spec(pod["spec"], metadata["name"])
        ready = self._controller_delay <= 0
        pod["status"] = self._pod_status(pod, ready)
        self._fill_metadata(pod, None)
        uid = _uid(self._save(pod))
        if not ready:
            self._schedule(lambda: self._mark_ready(uid))

    @staticmethod
    def _default_pod_spec(spec: Obj, fallback_name: str) -> None:
        if not spec.get("containers"):  # the client cannot read a pod without containers
            spec["containers"] = [{"name": fallback_name, "image": "sandbox/placeholder:latest"}]
        spec.setdefault("nodeName", _NODE_NAME)
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("terminationGracePeriodSeconds", 30)

    def _pod_status(self, pod: Obj, ready: bool) -> Obj:
        now = _now()
        flag = "True" if ready else "False"
        containers = [c for c in (pod.get("spec") or {}).get("containers") or [] if isinstance(c, dict)]
        names = " ".join(str(c.get("name")) for c in containers)

        def condition(kind: str, status: str) -> Obj:
            found: Obj = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": now}
            if status == "False":
                found.update(reason="ContainersNotReady", message=f"containers with unready status: [{names}]")
            return found

        statuses = []
        for container in containers:
            image = str(container.get("image", ""))
            entry: Obj = {
                "name": str(container.get("name")),
                "image": image,
                "imageID": "",
                "ready": ready,
                "started": ready,
                "restartCount": 0,
                "lastState": {},
                "state": {"waiting": {"reason": "ContainerCreating"}},
            }
            if ready:
                digest = hashlib.sha256(image.encode()).hexdigest()
                entry["imageID"] = f"{image.split(':')[0]}@sha256:{digest}"
                entry["containerID"] = f"containerd://{uuid.uuid4().hex}{uuid.uuid4().hex}"
                entry["state"] = {"running": {"startedAt": now}}
            statuses.append(entry)
        pod_ip = f"10.244.{self._next_ip_suffix()}"
        return {
            "phase": "Running" if ready else "Pending",
            "conditions": [
                condition("PodReadyToStartContainers", "True"),
                condition("Initialized", "True"),
                condition("Ready", flag),
                condition("ContainersReady", flag),
                condition("PodScheduled", "True"),
            ],
            "containerStatuses": statuses,
            "hostIP": _NODE_IP,
            "hostIPs": [{"ip": _NODE_IP}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": now,
            "qosClass": "BestEffort",
        }

    def _pod_by_uid(self, uid: str) -> Obj | None:
        return next((obj for key, obj in self._objects.items() if key[:2] == ("v1", "Pod") and _uid(obj) == uid), None)

    def _mark_ready(self, uid: str) -> None:
        pod = self._pod_by_uid(uid)
        if pod is None or _pod_ready(pod):
            return
        ready = copy.deepcopy(pod)
        previous = pod.get("status") or {}
        ready["status"] = self._pod_status(ready, True)
        for field in ("podIP", "podIPs", "startTime"):  # the pod keeps its address; only the containers start
            if field in previous:
                ready["status"][field] = previous[field]
        saved = self._save(ready)
        for deployment in self._deployments_selecting(saved):
            self._refresh_status(deployment)

    def _settle(self, key: tuple[str, str, str, str], spawned: list[str], retire: list[str]) -> None:
        for uid in spawned:
            self._mark_ready(uid)
        for uid in retire:
            pod = self._pod_by_uid(uid)
            if pod is not None:
                self._remove(self._kind("v1", "Pod"), pod, direct=False)
            self._retiring.discard(uid)
        self._refresh_status(key)

    def _refresh_status(self, key: tuple[str, str, str, str]) -> None:
        deployment = self._objects.get(key)
        if deployment is None or not _controller_on(deployment):
            return
        spec = deployment.get("spec") or {}
        wanted = int(spec.get("replicas", 1))
        pods = self._pods_of(deployment)
        ready = sum(1 for pod in pods if _pod_ready(pod))
        updated = sum(1 for pod in pods if _uid(pod) not in self._retiring)
        previous = deployment.get("status") or {}
        counts = {
            "replicas": len(pods),
            "updatedReplicas": updated,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(wanted - ready, 0),
        }
        # zero counts are omitted, as the API server's omitempty does
        status: Obj = {"observedGeneration": deployment["metadata"].get("generation", 1)}
        status.update({field: value for field, value in counts.items() if value})
        complete = updated == wanted == len(pods) and ready >= wanted
        status["conditions"] = [
            self._condition(
                previous,
                "Available",
                ready >= wanted,
                "MinimumReplicasAvailable" if ready >= wanted else "MinimumReplicasUnavailable",
                "Deployment has minimum availability."
                if ready >= wanted
                else "Deployment does not have minimum availability.",
            ),
            self._condition(
                previous,
                "Progressing",
                True,
                "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                f'ReplicaSet "{key[3]}-{_template_hash(spec.get("template") or {})}" '
                + ("has successfully progressed." if complete else "is progressing."),
            ),
        ]
        if status != previous:
            refreshed = copy.deepcopy(deployment)
            refreshed["status"] = status
            self._save(refreshed)
        self._refresh_replica_sets(deployment)

    @staticmethod
    def _condition(previous: Obj, kind: str, ok: bool, reason: str, message: str) -> Obj:
        flag = "True" if ok else "False"
        old = next((c for c in previous.get("conditions") or [] if c.get("type") == kind), None)
        if old is not None and old.get("status") == flag and old.get("reason") == reason:
            return old  # unchanged: keep its timestamps so status is not rewritten needlessly
        now = _now()
        transition = old["lastTransitionTime"] if old is not None and old.get("status") == flag else now
        return {
            "type": kind,
            "status": flag,
            "lastUpdateTime": now,
            "lastTransitionTime": transition,
            "reason": reason,
            "message": message,
        }

    def _refresh_replica_sets(self, deployment: Obj) -> None:
        namespace, uid = deployment["metadata"]["namespace"], _uid(deployment)
        pods = [obj for key, obj in self._objects.items() if key[:3] == ("v1", "Pod", namespace)]
        for key, replica_set in list(self._objects.items()):
            if key[:3] != ("apps/v1", "ReplicaSet", namespace):
                continue
            if not any(ref.get("uid") == uid for ref in replica_set["metadata"].get("ownerReferences") or []):
                continue
            owned = [
                pod
                for pod in pods
                if any(ref.get("uid") == _uid(replica_set) for ref in pod["metadata"].get("ownerReferences") or [])
            ]
            ready = sum(1 for pod in owned if _pod_ready(pod))
            status: Obj = {
                "replicas": len(owned),
                "observedGeneration": replica_set["metadata"].get("generation", 1),
            }
            status.update(
                {
                    field: value
                    for field, value in (
                        ("fullyLabeledReplicas", len(owned)),
                        ("readyReplicas", ready),
                        ("availableReplicas", ready),
                    )
                    if value
                }
            )
            if replica_set.get("status") != status:
                refreshed = copy.deepcopy(replica_set)
                refreshed["status"] = status
                self._save(refreshed)
