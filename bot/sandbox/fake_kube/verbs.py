"""The write verbs behind the routes: create, replace, patch, status writes and delete."""

from __future__ import annotations

import copy
from typing import Any

from bot.sandbox.fake_kube.apps import AppsController
from bot.sandbox.fake_kube.model import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    ApiError,
    Obj,
    ResourceType,
    conflict,
    int_or_none,
    invalid,
    not_found,
    now_timestamp,
    pod_ready,
    status_details,
    uid_of,
)
from bot.sandbox.fake_kube.patches import json_patch, merge_patch, strategic_merge_patch


class ApiVerbs(AppsController):
    """What each HTTP method does to a stored object, with the API server's checks and answers."""

    def _create(self, rt: ResourceType, namespace: str | None, body: Any, dry_run: bool) -> Obj:
        obj = self._check_body(rt, namespace, body, None)
        metadata = obj["metadata"]
        if not metadata.get("name"):
            prefix = metadata.get("generateName")
            if not prefix:
                raise invalid(rt, "", "metadata.name", "Required value: name or generateName is required")
            metadata["name"] = self._unique_name(rt, namespace, str(prefix))
        name = str(metadata["name"])
        if rt.namespaced:
            namespace_rt = self._kind("v1", "Namespace")
            if self._lookup(namespace_rt, None, namespace or "") is None:
                raise not_found(namespace_rt, namespace or "")
        if self._lookup(rt, namespace, name) is not None:
            raise ApiError(409, f'{rt.resource} "{name}" already exists', "AlreadyExists", status_details(rt, name))
        if rt.status:
            obj.pop("status", None)  # status is only written through /status (or by controllers)
        self._apply_defaults(rt, obj)
        self._fill_metadata(obj, None)
        created = self._commit(rt, None, obj, dry_run)
        if rt.kind == "Pod" and not dry_run and not pod_ready(created):
            uid = uid_of(created)
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
            raise not_found(rt, name)
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

    def _delete_options(self, raw: bytes, query: dict[str, str]) -> Obj:
        options = self._json(raw) if raw.strip() else {}
        if not isinstance(options, dict):
            raise ApiError(400, "DeleteOptions must be a JSON object")
        if "propagationPolicy" in query:
            options["propagationPolicy"] = query["propagationPolicy"]
        if "gracePeriodSeconds" in query:
            options["gracePeriodSeconds"] = int_or_none(query["gracePeriodSeconds"])
        return options

    def _delete(self, rt: ResourceType, namespace: str | None, name: str, options: Obj, dry_run: bool) -> Obj:
        obj = self._require(rt, namespace, name)
        preconditions = options.get("preconditions") or {}
        if preconditions.get("uid") and preconditions["uid"] != uid_of(obj):
            raise ApiError(
                409,
                f"Precondition failed: UID in precondition: {preconditions['uid']}, UID in object meta: {uid_of(obj)}",
                details=status_details(rt, name),
            )
        if (
            preconditions.get("resourceVersion")
            and preconditions["resourceVersion"] != obj["metadata"]["resourceVersion"]
        ):
            raise conflict(rt, name)
        if not dry_run:
            self._remove(rt, obj, direct=True, orphan=options.get("propagationPolicy") == "Orphan")
        if rt.kind == "Pod" or rt.custom:
            # pods answer with the object being deleted (graceful deletion), like the real API
            gone = copy.deepcopy(obj)
            gone["metadata"]["deletionTimestamp"] = now_timestamp()
            if rt.kind == "Pod":
                grace = options.get("gracePeriodSeconds")
                gone["metadata"]["deletionGracePeriodSeconds"] = 30 if grace is None else grace
            return gone
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": status_details(rt, name, uid_of(obj)),
        }
