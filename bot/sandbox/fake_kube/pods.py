"""Core resources as the API server and kubelet fill them in: defaults, pod status, pod logs."""

from __future__ import annotations

import hashlib
import uuid

from bot.sandbox.fake_kube.model import NODE_IP, NODE_NAME, ApiError, Obj, ResourceType, int_or_none, now_timestamp
from bot.sandbox.fake_kube.store import ObjectStore


class CoreResources(ObjectStore):
    """Defaults on create (Secrets, Namespaces, Services, Deployments, Pods), pod status and logs."""

    def set_pod_log(self, namespace: str, name: str, text: str, container: str | None = None) -> None:
        """Log text for a pod; without a container it answers for every container of the pod."""
        with self._lock:
            self._logs[(namespace, name, container or "")] = text

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

    @staticmethod
    def _default_pod_spec(spec: Obj, fallback_name: str) -> None:
        if not spec.get("containers"):  # the client cannot read a pod without containers
            spec["containers"] = [{"name": fallback_name, "image": "sandbox/placeholder:latest"}]
        spec.setdefault("nodeName", NODE_NAME)
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("terminationGracePeriodSeconds", 30)

    def _pod_status(self, pod: Obj, ready: bool) -> Obj:
        now = now_timestamp()
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
            "hostIP": NODE_IP,
            "hostIPs": [{"ip": NODE_IP}],
            "podIP": pod_ip,
            "podIPs": [{"ip": pod_ip}],
            "startTime": now,
            "qosClass": "BestEffort",
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
        tail = int_or_none(query.get("tailLines"))
        if tail is not None and tail >= 0:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:]) if tail else ""
        limit = int_or_none(query.get("limitBytes"))
        if limit is not None and limit >= 0:
            text = text.encode()[:limit].decode(errors="ignore")
        return text
