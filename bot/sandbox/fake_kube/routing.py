"""URL routing: which resource, namespace, name and subresource a request is for; and discovery."""

from __future__ import annotations

import copy
from urllib.parse import parse_qs, unquote, urlsplit

from bot.sandbox.fake_kube.model import REASONS, ApiError, Obj, ResourceType, status_body, status_details, uid_of
from bot.sandbox.fake_kube.verbs import ApiVerbs


class ApiRoutes(ApiVerbs):
    """Answers one request: (method, path, content type, body) to (status code, JSON object or text)."""

    # set by the server: injected latency and failures for tests of slow or failing clusters
    _latency: float
    _failure: int | None
    requests: list[tuple[str, str]]  # (method, path without the query string)

    def _serve(self, method: str, target: str, content_type: str, raw: bytes) -> tuple[int, Obj | str]:
        parts = urlsplit(target)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        with self._lock:
            self.requests.append((method, parts.path))
            latency, failure = self._latency, self._failure
        if latency > 0:
            self._stopping.wait(latency)
        if failure is not None:
            reason = REASONS.get(failure, "InternalError")
            return failure, status_body(failure, reason, f"sandbox: injected HTTP {failure} failure")
        try:
            with self._lock:
                return self._route(method, parts.path, query, content_type, raw)
        except ApiError as exc:
            return exc.code, exc.body()
        except Exception as exc:  # a bug in the fake must surface as a 500, not a dropped connection
            return 500, status_body(500, "InternalError", f"sandbox API server error: {exc!r}")

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
            details = status_details(rt, name, uid_of(pod))
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
