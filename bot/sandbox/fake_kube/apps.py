"""The built-in controller: Deployments own ReplicaSets and pods, rollouts, the scale subresource, Strimzi pods."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any

from bot.sandbox.fake_kube.model import (
    ApiError,
    Obj,
    Requirement,
    ResourceType,
    annotations_of,
    controller_on,
    hash_of_template,
    invalid,
    is_strimzi_pod,
    labels_of,
    now_timestamp,
    owner_reference,
    pod_ready,
    uid_of,
)
from bot.sandbox.fake_kube.pods import CoreResources
from bot.sandbox.fake_kube.selectors import labels_match, selector_requirements, selector_string


class AppsController(CoreResources):
    """Makes the cluster behave: pods follow `spec.replicas`, a template change rolls them, and a
    deleted Strimzi pod comes back under its name. Steps run after `controller_delay` when set."""

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
            switched = old is not None and controller_on(old) != controller_on(new)
            if old is None or old.get("spec") != new.get("spec") or switched:
                old_template = ((old or {}).get("spec") or {}).get("template")
                changed = old is not None and old_template != (new.get("spec") or {}).get("template")
                self._reconcile_deployment(
                    self._key(rt, new["metadata"]["namespace"], new["metadata"]["name"]), changed
                )
        elif rt.kind == "Pod":
            for deployment in self._deployments_selecting(new):
                self._refresh_status(deployment)

    def _after_remove(self, rt: ResourceType, obj: Obj, *, direct: bool) -> None:
        if rt.kind == "Pod":
            uid = uid_of(obj)
            self._retiring.discard(uid)
            if direct:
                if is_strimzi_pod(obj) and controller_on(obj):
                    self._recreate_strimzi_pod(obj)
                for deployment in self._deployments_selecting(obj):
                    self._reconcile_deployment(deployment, template_changed=False)

    def _deployments_selecting(self, pod: Obj) -> list[tuple[str, str, str, str]]:
        namespace, labels = pod["metadata"].get("namespace"), labels_of(pod)
        keys = []
        for key, obj in self._objects.items():
            if key[:3] == ("apps/v1", "Deployment", namespace) and controller_on(obj):
                requirements = self._deployment_requirements(obj)
                if requirements and labels_match(requirements, labels):
                    keys.append(key)
        return keys

    @staticmethod
    def _deployment_requirements(deployment: Obj) -> list[Requirement]:
        spec = deployment.get("spec") or {}
        requirements = selector_requirements(spec.get("selector"))
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
            if key[:3] == ("v1", "Pod", namespace) and labels_match(requirements, labels_of(obj))
        ]

    def _reconcile_deployment(self, key: tuple[str, str, str, str], template_changed: bool) -> None:
        deployment = self._objects.get(key)
        if deployment is None or not controller_on(deployment):
            return
        spec = deployment.get("spec") or {}
        wanted = spec.get("replicas", 1)
        if isinstance(wanted, bool) or not isinstance(wanted, int) or not self._deployment_requirements(deployment):
            return
        template = copy.deepcopy(spec.get("template") or {})
        template_hash = hash_of_template(template)
        replica_set = self._ensure_replica_set(key, template, template_hash, wanted)
        pods = self._pods_of(deployment)
        retire: list[str] = []
        if template_changed:
            # rollout: new pods first, the old ones go once the new ones are Ready (maxSurge 100%)
            retire = [uid_of(pod) for pod in pods if uid_of(pod) not in self._retiring]
            self._retiring.update(retire)
        current = [pod for pod in pods if uid_of(pod) not in self._retiring]
        ready_now = self._controller_delay <= 0
        spawned = [
            self._spawn_pod(deployment, replica_set, template, template_hash, ready_now)
            for _ in range(wanted - len(current))
        ]
        if len(current) > wanted:
            # like a ReplicaSet: drop not-Ready pods first, then the newest
            victims = sorted(current, key=lambda p: (pod_ready(p), -int(p["metadata"]["resourceVersion"])))
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
            and any(ref.get("uid") == uid_of(deployment) for ref in obj["metadata"].get("ownerReferences") or [])
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
            (int(annotations_of(rs).get("deployment.kubernetes.io/revision", "0") or 0) for rs in owned), default=0
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
                "ownerReferences": [owner_reference(deployment)],
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
                "ownerReferences": [owner_reference(replica_set)],
            },
            "spec": spec,
        }
        pod["status"] = self._pod_status(pod, ready)
        self._fill_metadata(pod, None)
        return uid_of(self._save(pod))

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
        uid = uid_of(self._save(pod))
        if not ready:
            self._schedule(lambda: self._mark_ready(uid))

    def _pod_by_uid(self, uid: str) -> Obj | None:
        return next(
            (obj for key, obj in self._objects.items() if key[:2] == ("v1", "Pod") and uid_of(obj) == uid), None
        )

    def _mark_ready(self, uid: str) -> None:
        pod = self._pod_by_uid(uid)
        if pod is None or pod_ready(pod):
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
        if deployment is None or not controller_on(deployment):
            return
        spec = deployment.get("spec") or {}
        wanted = int(spec.get("replicas", 1))
        pods = self._pods_of(deployment)
        ready = sum(1 for pod in pods if pod_ready(pod))
        updated = sum(1 for pod in pods if uid_of(pod) not in self._retiring)
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
                f'ReplicaSet "{key[3]}-{hash_of_template(spec.get("template") or {})}" '
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
        now = now_timestamp()
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
        namespace, uid = deployment["metadata"]["namespace"], uid_of(deployment)
        pods = [obj for key, obj in self._objects.items() if key[:3] == ("v1", "Pod", namespace)]
        for key, replica_set in list(self._objects.items()):
            if key[:3] != ("apps/v1", "ReplicaSet", namespace):
                continue
            if not any(ref.get("uid") == uid for ref in replica_set["metadata"].get("ownerReferences") or []):
                continue
            owned = [
                pod
                for pod in pods
                if any(ref.get("uid") == uid_of(replica_set) for ref in pod["metadata"].get("ownerReferences") or [])
            ]
            ready = sum(1 for pod in owned if pod_ready(pod))
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

    # the scale subresource ---------------------------------------------------------------------------

    def _scale_view(self, obj: Obj) -> Obj:
        spec, status, metadata = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                key: metadata[key] for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            },
            "spec": {"replicas": int(spec.get("replicas", 1))},
            "status": {"replicas": int(status.get("replicas", 0)), "selector": selector_string(spec.get("selector"))},
        }

    def _set_scale(self, rt: ResourceType, old: Obj, scale: Any, dry_run: bool) -> Obj:
        if not isinstance(scale, dict):
            raise ApiError(400, "the request body must be a Scale object")
        name = old["metadata"]["name"]
        self._check_preconditions(rt, old, scale.get("metadata") or {}, require_version=False)
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise invalid(rt, name, "spec.replicas", f"Invalid value: {replicas!r}: must be a non-negative integer")
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["replicas"] = replicas
        self._fill_metadata(new, old)
        return self._scale_view(self._commit(rt, old, new, dry_run))
