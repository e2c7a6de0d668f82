"""The `pii-masking` Kafka Streams deployment: rollout restart, scale, tune batching, enable metrics."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.actions.base import (
    Action,
    ActionContext,
    ActionError,
    ActionResult,
    Preview,
    describe_pods,
    parse_count,
    pod_names,
    selector_string,
)
from bot.core.config import PipelineConfig

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# The runbook's SEV2 values (`kubectl set env deployment/pii-masking KAFKA_BATCH_SIZE=1000000 KAFKA_LINGER_MS=200`).
TUNING_DEFAULTS = {"KAFKA_BATCH_SIZE": "1000000", "KAFKA_LINGER_MS": "200"}
# The runbook's `kubectl annotate deployment pii-masking prometheus.io/scrape=true prometheus.io/port=8080`.
METRICS_ANNOTATIONS = {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"}
_INT_MAX = 2**31 - 1


def _target(ctx: ActionContext) -> str:
    return f"{ctx.pipeline.kubernetes.namespace}/{ctx.pipeline.kubernetes.streams_deployment}"


def get_deployment(ctx: ActionContext) -> dict[str, Any]:
    name = ctx.pipeline.kubernetes.streams_deployment
    found = ctx.clients.kube.get_deployment(name)
    if found is None:
        raise ActionError(f"Deployment {_target(ctx)} not found (`kubernetes.streams_deployment` in the config)")
    return found


def deployment_pods(ctx: ActionContext, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    selector = selector_string((deployment.get("spec") or {}).get("selector"))
    return ctx.clients.kube.list_pods(selector) if selector else []


def counts(deployment: dict[str, Any]) -> dict[str, int]:
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    # The API leaves zero counts out of status.
    return {
        "desired": int(spec.get("replicas", 1)),
        "replicas": int(status.get("replicas") or 0),
        "updated": int(status.get("updatedReplicas") or 0),
        "ready": int(status.get("readyReplicas") or 0),
        "available": int(status.get("availableReplicas") or 0),
    }


def replicas_line(deployment: dict[str, Any]) -> str:
    c = counts(deployment)
    return f"Replicas: {c['desired']} desired, {c['ready']} ready, {c['updated']} up to date"


def rollout_status(deployment: dict[str, Any]) -> tuple[bool, str]:
    """`kubectl rollout status`'s rule: observed, all updated, old pods gone, updated pods available."""
    c = counts(deployment)
    metadata, status = deployment.get("metadata") or {}, deployment.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(metadata.get("generation") or 0):
        return False, "waiting for the deployment controller to see the change"
    if c["updated"] < c["desired"]:
        return False, f"{c['updated']} of {c['desired']} new replicas updated, {c['ready']} ready"
    if c["replicas"] > c["updated"]:
        return False, f"{c['replicas'] - c['updated']} old replicas pending termination"
    if c["available"] < c["updated"]:
        return False, f"{c['available']} of {c['updated']} updated replicas available"
    return True, f"{c['ready']}/{c['desired']} ready, all up to date"


def wait_for_rollout(ctx: ActionContext, what: str = "rollout") -> dict[str, Any]:
    latest: dict[str, Any] = {}

    def probe() -> tuple[bool, str]:
        nonlocal latest
        latest = get_deployment(ctx)
        return rollout_status(latest)

    ctx.wait_until(what, probe)
    return latest


def scale_and_wait(ctx: ActionContext, wanted: int) -> str:
    """`kubectl scale --replicas=N`, then wait until exactly N pods exist and are ready; returns the status."""
    ctx.clients.kube.scale_deployment(ctx.pipeline.kubernetes.streams_deployment, wanted)

    def probe() -> tuple[bool, str]:
        c = counts(get_deployment(ctx))
        done = c["ready"] == wanted and c["replicas"] == wanted
        return done, f"{c['ready']}/{wanted} ready, {c['replicas']} pods"

    return ctx.wait_until("scaling", probe)


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(((deployment.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or [])


class RestartStreams(Action):
    name = "restart-streams"
    title = "Rollout restart of the Kafka Streams deployment"
    usage = "restart-streams"
    summary = "`kubectl rollout restart deployment/pii-masking`: new pods replace the old, one rollout"
    risk = "Masking pauses on each pod while it restarts; consumer lag grows until the new pods catch up."

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        deployment = get_deployment(ctx)
        pods = deployment_pods(ctx, deployment)
        annotations = (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get(
            "annotations"
        ) or {}
        return Preview(
            lines=[f"Deployment {_target(ctx)}", replicas_line(deployment), f"Pods now: {describe_pods(pods)}"],
            fingerprint={
                "replicas": counts(deployment)["desired"],
                "pods": pod_names(pods),
                "restartedAt": annotations.get(RESTARTED_AT),
            },
        )

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        name = ctx.pipeline.kubernetes.streams_deployment
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        # Exactly what `kubectl rollout restart` sends: a pod-template annotation that forces new pods.
        patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}}
        ctx.clients.kube.patch_deployment(name, patch)
        ctx.progress("restartedAt set; waiting for the rollout")
        deployment = wait_for_rollout(ctx)
        pods = deployment_pods(ctx, deployment)
        return ActionResult(
            summary=f"Deployment {_target(ctx)} restarted and rolled out",
            before=list(preview.get("lines", []))[1:],
            after=[replicas_line(deployment), f"Pods now: {describe_pods(pods)}", f"restartedAt: {at}"],
            details={"restarted_at": at, "pods_after": pod_names(pods)},
        )


class ScaleStreams(Action):
    name = "scale-streams"
    title = "Scale the Kafka Streams deployment"
    usage = "scale-streams N"
    summary = "`kubectl scale deployment pii-masking --replicas=N` (SEV2: 5; maintenance: 0, then 3)"
    risk = "Scaling to 0 stops PII masking: nothing reaches Redshift until it is scaled up again."
    max_args = 1
    min_args = 1

    def parse(self, words: list[str], pipeline: PipelineConfig) -> dict[str, Any]:
        limit = pipeline.limits.streams_replicas_max
        return {"replicas": parse_count(words[0], "replicas", limit, "streams_replicas_max")}

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        deployment = get_deployment(ctx)
        c = counts(deployment)
        return Preview(
            lines=[
                f"Deployment {_target(ctx)}: {c['desired']} → {args['replicas']} replicas",
                f"Ready now: {c['ready']}",
            ],
            fingerprint={"replicas": c["desired"]},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        if preview.fingerprint["replicas"] == args["replicas"]:
            raise ActionError(f"Deployment {_target(ctx)} already has {args['replicas']} replicas; nothing to do")

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        wanted = int(args["replicas"])
        before = int(preview["fingerprint"]["replicas"])
        status = scale_and_wait(ctx, wanted)
        return ActionResult(
            summary=f"Deployment {_target(ctx)} scaled from {before} to {wanted} replicas",
            before=[f"Replicas: {before}"],
            after=[f"Replicas: {wanted} ({status})"],
            details={"replicas_before": before, "replicas_after": wanted},
        )


class TuneStreams(Action):
    name = "tune-streams"
    title = "Tune Kafka Streams batching"
    usage = "tune-streams [KAFKA_BATCH_SIZE=1000000] [KAFKA_LINGER_MS=200]"
    summary = "`kubectl set env deployment/pii-masking KAFKA_BATCH_SIZE=1000000 KAFKA_LINGER_MS=200` (SEV2)"
    risk = "Changing the environment rolls out new pods; larger batches add up to linger.ms of latency."
    max_args = len(TUNING_DEFAULTS)

    def split(self, words: list[str]) -> tuple[list[str], str | None]:
        settings = [w for w in words if "=" in w]
        others = [w for w in words if "=" not in w]
        if len(others) > 1:
            raise ActionError(f"Usage: `/cdc action {self.usage} [pipeline]`")
        return settings, (others[0] if others else None)

    def parse(self, words: list[str], pipeline: PipelineConfig) -> dict[str, Any]:
        env = dict(TUNING_DEFAULTS)
        for word in words:
            key, _, value = word.partition("=")
            if key not in TUNING_DEFAULTS:
                raise ActionError(f"`{key}` cannot be set here; tune-streams sets {', '.join(TUNING_DEFAULTS)}")
            if not re.fullmatch(r"\d+", value) or int(value) > _INT_MAX:
                raise ActionError(f"{key} must be a whole number of {'bytes' if 'SIZE' in key else 'ms'}")
            env[key] = str(int(value))
        return {"env": env}

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        deployment = get_deployment(ctx)
        current: dict[str, dict[str, str | None]] = {}
        lines = [f"Deployment {_target(ctx)} (every container, as `kubectl set env` does)"]
        for container in containers(deployment):
            env = {e.get("name"): e for e in container.get("env") or []}
            values: dict[str, str | None] = {}
            for key, wanted in args["env"].items():
                entry = env.get(key)
                now = None if entry is None else ("(from a reference)" if "valueFrom" in entry else entry.get("value"))
                values[key] = now
                if now != wanted:
                    lines.append(f"{container.get('name')}: {key} {now if now is not None else '(unset)'} → {wanted}")
            current[str(container.get("name"))] = values
        return Preview(lines=lines, fingerprint={"env": current})

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        env = preview.fingerprint["env"]
        if not env:
            raise ActionError(f"Deployment {_target(ctx)} has no containers")
        if all(values.get(k) == v for values in env.values() for k, v in args["env"].items()):
            raise ActionError(f"Deployment {_target(ctx)} already has these values; nothing to do")

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        current = preview["fingerprint"]["env"]
        patched = []
        for container, values in current.items():
            entries: list[dict[str, Any]] = []
            for key, wanted in args["env"].items():
                entry: dict[str, Any] = {"name": key, "value": wanted}
                if values.get(key) == "(from a reference)":
                    entry["valueFrom"] = None  # a value and a valueFrom together are invalid
                entries.append(entry)
            patched.append({"name": container, "env": entries})
        # Strategic merge: env entries merge by name, so the container's other variables stay.
        ctx.clients.kube.patch_deployment(
            ctx.pipeline.kubernetes.streams_deployment, {"spec": {"template": {"spec": {"containers": patched}}}}
        )
        deployment = wait_for_rollout(ctx)
        after = []
        for container in containers(deployment):
            env = {e.get("name"): e.get("value") for e in container.get("env") or []}
            after += [f"{container.get('name')}: {k}={env.get(k)}" for k in args["env"]]
        after.append(replicas_line(deployment))
        return ActionResult(
            summary=f"Deployment {_target(ctx)} now runs with " + ", ".join(f"{k}={v}" for k, v in args["env"].items()),
            before=[
                f"{c}: {k}={v if v is not None else '(unset)'}"
                for c, values in current.items()
                for k, v in values.items()
            ],
            after=after,
            details={"env": args["env"]},
        )


class EnableMetrics(Action):
    name = "enable-metrics"
    title = "Enable Prometheus metrics on the Kafka Streams deployment"
    usage = "enable-metrics"
    summary = "`kubectl annotate deployment pii-masking prometheus.io/scrape=true prometheus.io/port=8080`"
    risk = "Low: annotations only, no restart. Prometheus starts scraping port 8080 if it discovers deployments."

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        deployment = get_deployment(ctx)
        annotations = (deployment.get("metadata") or {}).get("annotations") or {}
        current = {key: annotations.get(key) for key in METRICS_ANNOTATIONS}
        lines = [f"Deployment {_target(ctx)}"] + [
            f"{key}: {current[key] if current[key] is not None else '(unset)'} → {value}"
            for key, value in METRICS_ANNOTATIONS.items()
            if current[key] != value
        ]
        return Preview(lines=lines, fingerprint={"annotations": current})

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        if preview.fingerprint["annotations"] == METRICS_ANNOTATIONS:
            raise ActionError(f"Deployment {_target(ctx)} already has the metrics annotations; nothing to do")

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        name = ctx.pipeline.kubernetes.streams_deployment
        ctx.clients.kube.patch_deployment(name, {"metadata": {"annotations": dict(METRICS_ANNOTATIONS)}})
        annotations = (get_deployment(ctx).get("metadata") or {}).get("annotations") or {}
        before = preview["fingerprint"]["annotations"]
        return ActionResult(
            summary=f"Deployment {_target(ctx)} annotated for Prometheus",
            before=[f"{k}: {v if v is not None else '(unset)'}" for k, v in before.items()],
            after=[f"{k}: {annotations.get(k, '(unset)')}" for k in METRICS_ANNOTATIONS],
            details={"annotations": {k: annotations.get(k) for k in METRICS_ANNOTATIONS}},
        )
