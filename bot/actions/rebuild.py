"""The runbook's Debezium Upgrade, steps 2-3: force Strimzi to rebuild the Connect image and follow the build.

`kubectl annotate kafkaconnect debezium-connect-cluster strimzi.io/force-rebuild=true`, then what
`kubectl logs -l strimzi.io/name=debezium-connect-cluster-connect-build -f` would show: the build
pod's phase and the tail of its log, until the Connect pods run the new image and are Ready again.
Step 1 (editing the plugin URLs) stays a reviewed change to the KafkaConnect resource.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.actions.base import (
    Action,
    ActionContext,
    ActionError,
    ActionFailed,
    ActionResult,
    Preview,
    describe_pods,
    pod_names,
    pod_ready,
)
from bot.actions.connect import connect_pods
from bot.checks.base import get_path, plural
from bot.clients.base import BackendError
from bot.core.durations import format_duration

FORCE_REBUILD = "strimzi.io/force-rebuild"
LOG_TAIL = 5


def build_selector(ctx: ActionContext) -> str:
    return f"strimzi.io/name={ctx.pipeline.kubernetes.connect_cluster}-connect-build"


def is_build_pod(pod: dict[str, Any]) -> bool:
    # Strimzi's build pod carries the cluster label too; it is not one of the Connect workers.
    name = str(get_path(pod, "metadata", "name", default=""))
    label = str(get_path(pod, "metadata", "labels", "strimzi.io/name", default=""))
    return name.endswith("-build") or label.endswith("-connect-build")


def worker_pods(ctx: ActionContext) -> list[dict[str, Any]]:
    return [p for p in connect_pods(ctx) if not is_build_pod(p)]


def _uid(pod: dict[str, Any]) -> str:
    return str(get_path(pod, "metadata", "uid", default=""))


def _plugins(spec: dict[str, Any]) -> list[str]:
    lines = []
    for plugin in get_path(spec, "build", "plugins", default=[]) or []:
        artifacts = ", ".join(
            f"{a.get('type', '?')} {a.get('url') or a.get('artifact') or a.get('repository') or ''}".strip()
            for a in plugin.get("artifacts") or []
        )
        lines.append(f"{plugin.get('name', '?')}: {artifacts or '(no artifacts)'}")
    return lines


class DebeziumRebuild(Action):
    name = "debezium-rebuild"
    title = "Rebuild the Debezium Kafka Connect image (Strimzi force-rebuild)"
    usage = "debezium-rebuild"
    summary = (
        "`kubectl annotate kafkaconnect debezium-connect-cluster strimzi.io/force-rebuild=true`, "
        "then follow the build pod and the Connect pods"
    )
    risk = (
        "Connect restarts on the new image: change capture pauses for the build and the roll (minutes). "
        "A failed build leaves the old pods running."
    )

    def _connect(self, ctx: ActionContext) -> dict[str, Any]:
        k = ctx.pipeline.kubernetes
        found = ctx.clients.kube.get_custom("kafkaconnects", k.connect_cluster)
        if found is None:
            raise ActionError(
                f"KafkaConnect {k.namespace}/{k.connect_cluster} not found (`kubernetes.connect_cluster`)"
            )
        return found

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        k = ctx.pipeline.kubernetes
        obj = self._connect(ctx)
        spec = obj.get("spec") or {}
        annotation = get_path(obj, "metadata", "annotations", FORCE_REBUILD)
        plugins = _plugins(spec)
        pods = worker_pods(ctx)
        lines = [
            f"KafkaConnect {k.namespace}/{k.connect_cluster}: Kafka {spec.get('version', '?')}, "
            f"{spec.get('replicas', '?')} replicas",
            *[f"Plugin {line}" for line in plugins],
            f"Annotation {FORCE_REBUILD}: {annotation or '(unset)'} → true",
            f"Connect pods now ({len(pods)}): {describe_pods(pods)}",
            f"Then: follow the build pod (`{build_selector(ctx)}`) and its log until the Connect pods are "
            f"replaced and Ready (timeout {format_duration(ctx.build_timeout)})",
        ]
        return Preview(
            lines=lines,
            fingerprint={"plugins": plugins, "pods": pod_names(pods), "force-rebuild": annotation},
            plan={"has_build": bool(spec.get("build"))},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        k = ctx.pipeline.kubernetes
        if not preview.plan["has_build"]:
            raise ActionError(
                f"KafkaConnect {k.connect_cluster} has no `spec.build`: Strimzi builds no image for it "
                "(change `spec.image` instead)"
            )
        if preview.fingerprint["force-rebuild"] == "true":
            raise ActionError(
                f"A rebuild of {k.connect_cluster} is already pending ({FORCE_REBUILD}=true; Strimzi removes it "
                "when the build starts)"
            )

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        kube, cluster = ctx.clients.kube, ctx.pipeline.kubernetes.connect_cluster
        before = worker_pods(ctx)
        old_uids = {_uid(p) for p in before}
        old_builds = {_uid(p) for p in kube.list_pods(build_selector(ctx))}
        kube.patch_custom("kafkaconnects", cluster, {"metadata": {"annotations": {FORCE_REBUILD: "true"}}})
        ctx.progress(f"{FORCE_REBUILD}=true set; waiting for Strimzi to start the build")
        build: dict[str, Any] = {}  # the build pod as last seen: name, phase, log tail
        after: list[dict[str, Any]] = []

        def probe() -> tuple[bool, str]:
            nonlocal after
            current = [p for p in kube.list_pods(build_selector(ctx)) if _uid(p) not in old_builds]
            if current:
                pod = current[-1]
                name = str(pod["metadata"]["name"])
                build.update(name=name, phase=str(get_path(pod, "status", "phase", default="Pending")), gone=False)
                try:
                    build["log"] = kube.read_pod_log(name, tail_lines=LOG_TAIL).rstrip().splitlines()[-LOG_TAIL:]
                except BackendError as exc:
                    build["log"] = [f"(log not available: {exc})"]
                if build["phase"] == "Failed":
                    raise ActionFailed(
                        f"the build pod {name} failed",
                        state_now=[
                            f"Build pod {name}: Failed",
                            *[f"log: {line}" for line in build["log"]],
                            f"Connect pods unchanged (old image): {describe_pods(worker_pods(ctx))}",
                        ],
                    )
            elif build:
                build["gone"] = True  # Strimzi deletes the build pod once the image is pushed
            after = worker_pods(ctx)
            fresh = [p for p in after if _uid(p) not in old_uids]
            ready = [p for p in fresh if pod_ready(p)]
            leftover = len(after) - len(fresh)
            built = build.get("phase") == "Succeeded" or bool(build.get("gone"))
            done = built and leftover == 0 and len(ready) >= max(1, len(old_uids))
            head = (
                f"build pod {build['name']}: {'deleted after the build' if build.get('gone') else build['phase']}"
                if build
                else "waiting for Strimzi to start the build pod"
            )
            text = f"{head} · Connect pods: {len(ready)}/{len(old_uids)} replaced and Ready"
            if build.get("log"):
                text += "\nlog tail:\n" + "\n".join(f"> {line}" for line in build["log"])
            return done, text

        try:
            replace(ctx, timeout=ctx.build_timeout).wait_until("rebuild", probe)
        except ActionFailed as exc:
            if not build and "timed out" in str(exc):
                raise ActionFailed(
                    str(exc),
                    state_now=[
                        f"No build pod matched `{build_selector(ctx)}`: is the Strimzi operator running?",
                        f"Connect pods: {describe_pods(worker_pods(ctx))}",
                    ],
                ) from None
            raise
        return ActionResult(
            summary=f"Connect image rebuilt; {plural(len(after), 'Connect pod')} replaced and Ready",
            before=[
                f"Connect pods: {describe_pods(before)}",
                *[f"Plugin {p}" for p in preview["fingerprint"]["plugins"]],
            ],
            after=[
                f"Build pod {build.get('name', '?')}: {'Succeeded' if not build.get('gone') else 'done (deleted)'}",
                *[f"log: {line}" for line in build.get("log", [])],
                f"Connect pods now: {describe_pods(after)}",
            ],
            details={"build_pod": build.get("name"), "pods_after": pod_names(after)},
        )
