"""The object store: keys, metadata, resourceVersions, garbage collection and list/select."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import random
import threading
import uuid
from typing import Any

from bot.sandbox.fake_kube.model import (
    NAME_ALPHABET,
    ApiError,
    Obj,
    ResourceType,
    conflict,
    int_or_none,
    invalid,
    labels_of,
    not_found,
    now_timestamp,
    status_details,
    uid_of,
)
from bot.sandbox.fake_kube.selectors import fields_match, labels_match, parse_field_selector, parse_label_selector

ObjectKey = tuple[str, str, str, str]  # (apiVersion, kind, namespace or "", name)


class ObjectStore:
    """The stored objects and the bookkeeping every write goes through.

    Thread-safe: one re-entrant lock guards the store, so HTTP handlers, controller timers and
    the seeding helpers can run concurrently. The controller reacts through `_after_write` and
    `_after_remove`, which the layers above override.
    """

    def __init__(self, *, controller_delay: float = 0.0) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._objects: dict[ObjectKey, Obj] = {}
        self._by_plural: dict[tuple[str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        self._logs: dict[tuple[str, str, str], str] = {}
        self._retiring: set[str] = set()  # uids of pods an in-flight rollout will remove
        self._timers: list[threading.Timer] = []
        self._resource_version = 0
        self._ip_counter = 0
        self._controller_delay = controller_delay
        self._random = random.Random()

    def register_resource(self, rt: ResourceType) -> None:
        """Serve one more resource type (e.g. another CRD) in addition to the built-in ones."""
        with self._lock:
            self._by_plural[(rt.api_version, rt.plural)] = rt
            self._by_kind[(rt.api_version, rt.kind)] = rt

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
            raise not_found(rt, name)
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
        if metadata.get("uid") and metadata["uid"] != uid_of(old):
            raise ApiError(
                409,
                f"Precondition failed: UID in precondition: {metadata['uid']}, UID in object meta: {uid_of(old)}",
                details=status_details(rt, name),
            )
        version = metadata.get("resourceVersion")
        if not version:
            if require_version:
                raise invalid(
                    rt, name, "metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update"
                )
            return
        if version != old["metadata"].get("resourceVersion"):
            raise conflict(rt, name)

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
            metadata.setdefault("creationTimestamp", now_timestamp())
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
        uid = uid_of(obj)
        if not orphan:
            # garbage collection: dependents go with their owner
            for other in list(self._objects.values()):
                if any(ref.get("uid") == uid for ref in other["metadata"].get("ownerReferences") or []):
                    self._remove(self._rt_of(other), other, direct=False)
        if rt.kind == "Namespace":
            for other in list(self._objects.values()):
                if other["metadata"].get("namespace") == metadata["name"]:
                    self._remove(self._rt_of(other), other, direct=False)
        self._after_remove(rt, obj, direct=direct)

    def _unique_name(self, rt: ResourceType, namespace: str | None, prefix: str) -> str:
        while True:
            name = prefix + "".join(self._random.choice(NAME_ALPHABET) for _ in range(5))
            if self._lookup(rt, namespace, name) is None:
                return name

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

    def _list_response(self, rt: ResourceType, namespace: str | None, query: dict[str, str]) -> Obj:
        items = self._select(rt, namespace, query.get("labelSelector"), query.get("fieldSelector"))
        metadata: Obj = {"resourceVersion": str(self._resource_version)}
        limit = int_or_none(query.get("limit")) or 0
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
            if labels_match(requirements, labels_of(obj)) and fields_match(fields, obj):
                found.append(copy.deepcopy(obj))
        return found

    # hooks for the controller ------------------------------------------------------------------------

    def _after_write(self, rt: ResourceType, old: Obj | None, new: Obj) -> None:
        """Called after every stored write that is not the controller's own."""

    def _after_remove(self, rt: ResourceType, obj: Obj, *, direct: bool) -> None:
        """Called after an object is removed; `direct` when it was deleted, not garbage collected."""
