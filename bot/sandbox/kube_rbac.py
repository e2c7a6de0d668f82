"""RBAC for the fake Kubernetes API server: the shipped Role, checked on every request.

The fake calls `Authorizer.check(method, target, authorization)` before serving a request when
an authorizer is set (`FakeKubeServer.rbac`; off by default, so the sandbox answers everything).
Only the bot is checked: requests carrying CLUSTER_ADMIN_TOKEN (the fake's own `configuration()`,
which tests use to act as an operator or as Strimzi) are someone else's. A request no rule allows
gets what kube-apiserver answers: HTTP 403 with a `Status` whose reason is `Forbidden`.

Request attributes are derived as kube-apiserver's RequestInfoResolver does: the API group,
resource, subresource, name and namespace from the path, and the verb from the method (GET on
a collection is `list`, or `watch` with `?watch=true`; DELETE on a collection is
`deletecollection`). Non-resource paths (/api, /apis, /version, /healthz) are allowed, as the
`system:discovery` ClusterRole allows them to every authenticated user.

The Role is treated as bound in every namespace the requests name: a test pipeline in another
namespace stands for an operator who binds the same Role there (deploy/README.md). Being a Role,
it grants nothing at cluster scope (e.g. listing pods in all namespaces).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

SERVICE_ACCOUNT = "system:serviceaccount:cdc-bot:cdc-bot"
# The identity of everyone else (tests acting as an operator, Strimzi, kubectl): not the bot, not checked.
# FakeKubeServer.configuration() sends it; the bot's kubeconfig (write_kubeconfig) does not.
CLUSTER_ADMIN_TOKEN = "sandbox-cluster-admin"

# The Role's resourceNames are the runbook's names, the defaults of these `kubernetes.*` config keys;
# an operator who sets another name patches the Role to match (deploy/README.md).
CONFIG_NAMES = {
    "streams_deployment": "pii-masking",
    "connector": "oracle-cdc-connector",
    "connect_cluster": "debezium-connect-cluster",
    "credentials_secret": "debezium-credentials",
    "maintenance_configmap": "maintenance-mode",
}

_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "GET": "get"}


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, rule: dict[str, Any]) -> Rule:
        return cls(
            api_groups=tuple(rule.get("apiGroups") or ()),
            resources=tuple(rule.get("resources") or ()),
            verbs=tuple(rule.get("verbs") or ()),
            resource_names=tuple(rule.get("resourceNames") or ()),
        )

    def describe(self) -> str:
        groups = ",".join(g or '""' for g in self.api_groups)
        names = f" names={','.join(self.resource_names)}" if self.resource_names else ""
        return f"{groups} {','.join(self.resources)} [{','.join(self.verbs)}]{names}"

    def grants(self) -> list[tuple[str, str, str]]:
        """Every (apiGroup, resource, verb) this rule grants."""
        return [(g, r, v) for g in self.api_groups for r in self.resources for v in self.verbs]

    def allows(
        self, request: RequestAttributes, aliases: dict[str, set[str]] | None = None
    ) -> tuple[str, str, str] | None:
        """The (apiGroup, resource, verb) of this rule that allows the request, or None.

        rbac/v1 semantics (pkg/apis/rbac/v1/evaluation_helpers.go).
        """
        combined = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
        verb = request.verb if request.verb in self.verbs else "*" if "*" in self.verbs else None
        group = request.api_group if request.api_group in self.api_groups else "*" if "*" in self.api_groups else None
        resource = next(
            (
                r
                for r in self.resources
                if r == "*" or r == combined or (request.subresource and r == f"*/{request.subresource}")
            ),
            None,
        )
        if verb is None or group is None or resource is None:
            return None
        if self.resource_names and not any(
            request.name == n or request.name in (aliases or {}).get(n, ()) for n in self.resource_names
        ):
            return None
        return group, resource, verb


@dataclass(frozen=True)
class RequestAttributes:
    verb: str
    api_group: str
    resource: str
    subresource: str = ""
    name: str = ""
    namespace: str = ""

    def describe(self) -> str:
        sub = f"/{self.subresource}" if self.subresource else ""
        name = f" {self.name}" if self.name else ""
        return f"{self.verb} {self.api_group or 'core'} {self.resource}{sub}{name} in {self.namespace or '(cluster)'}"


def request_attributes(method: str, path: str, query: dict[str, str]) -> RequestAttributes | None:
    """The attributes RBAC sees for a request; None for a non-resource path."""
    segments = [unquote(s) for s in path.strip("/").split("/") if s]
    if len(segments) >= 2 and segments[0] == "api":
        group, rest = "", segments[2:]
    elif len(segments) >= 3 and segments[0] == "apis":
        group, rest = segments[1], segments[3:]
    else:
        return None
    if not rest:
        return None  # discovery of one group version
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    if not name:
        if verb == "get":
            verb = "watch" if query.get("watch", "").lower() in ("true", "1") else "list"
        elif verb == "delete":
            verb = "deletecollection"
    elif verb == "get" and query.get("watch", "").lower() in ("true", "1"):
        verb = "watch"
    return RequestAttributes(verb, group, resource, subresource, name, namespace)


def forbidden_status(request: RequestAttributes, user: str = SERVICE_ACCOUNT) -> dict[str, Any]:
    """The Status kube-apiserver answers with 403."""
    resource = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    subject = f'{resource} "{request.name}"' if request.name else resource
    where = f' in the namespace "{request.namespace}"' if request.namespace else " at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{user}" cannot {request.verb} resource "{resource}" '
        f'in API group "{request.api_group}"{where}'
    )
    details: dict[str, Any] = {"kind": request.resource}
    if request.name:
        details["name"] = request.name
    if request.api_group:
        details["group"] = request.api_group
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "Forbidden",
        "details": details,
        "code": 403,
    }


def load_roles(paths: Iterable[str | Path]) -> list[Rule]:
    """The rules of every Role and ClusterRole in these YAML files."""
    rules: list[Rule] = []
    for path in paths:
        for doc in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") in ("Role", "ClusterRole"):
                rules.extend(Rule.from_dict(r) for r in doc.get("rules") or [])
    return rules


@dataclass
class Authorizer:
    """Checks requests against rules; remembers which rules allowed something and what was denied."""

    rules: list[Rule]
    user: str = SERVICE_ACCOUNT
    used: dict[tuple[int, str, str, str], int] = field(default_factory=dict)  # (rule, group, resource, verb)
    denied: list[str] = field(default_factory=list)
    # runbook name in the Role -> the names configs used instead (see follow_config)
    aliases: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self, method: str, target: str, authorization: str | None = None) -> dict[str, Any] | None:
        """None when allowed; else the 403 Status body to answer with. `target` is the request's path and query."""
        if authorization == f"Bearer {CLUSTER_ADMIN_TOKEN}":
            return None
        parts = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        request = request_attributes(method, parts.path, query)
        if request is None:
            return None
        with self._lock:
            for index, rule in enumerate(self.rules if request.namespace else []):
                grant = rule.allows(request, self.aliases)
                if grant is not None:
                    key = (index, *grant)
                    self.used[key] = self.used.get(key, 0) + 1
                    return None
            self.denied.append(request.describe())
        return forbidden_status(request, self.user)

    def follow_config(self, settings: Any) -> None:
        """Check the Role as rendered for this KubernetesSettings: its names in place of the runbook's."""
        with self._lock:
            for key, runbook_name in CONFIG_NAMES.items():
                configured = getattr(settings, key, None)
                if configured and configured != runbook_name:
                    self.aliases.setdefault(runbook_name, set()).add(configured)

    def unused_grants(self) -> list[str]:
        """Each (apiGroup, resource, verb) of each rule that allowed no request, described."""
        with self._lock:
            return [
                f"rule {index} ({rule.describe()}): {verb} {group or 'core'} {resource}"
                for index, rule in enumerate(self.rules)
                for group, resource, verb in rule.grants()
                if (index, group, resource, verb) not in self.used
            ]
