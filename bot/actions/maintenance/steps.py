"""The one-shot steps of the window: what `prepare` saves, then ConfigMap, connector and scaling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.actions.base import ActionContext
from bot.actions.connect import get_connector, request_connector_state
from bot.actions.maintenance.state import (
    DEFAULT_REASON,
    lag_text,
    maintenance_settings,
    utc_text,
    window_text,
)
from bot.actions.streams import counts, get_deployment, scale_and_wait
from bot.actions.workflows import StepRun
from bot.checks.base import read_maintenance
from bot.checks.kube import connector_state, requested_state
from bot.core.results import Status

# --- start ---------------------------------------------------------------------------------------------


def prepare_start(ctx: ActionContext) -> dict[str, Any]:
    assert ctx.approval is not None
    approval = ctx.approval
    now = datetime.now(UTC)
    duration = (
        timedelta(seconds=int(approval.preview.get("plan", {}).get("duration_s") or 0))
        or maintenance_settings(ctx).default_duration
    )
    c = counts(get_deployment(ctx))
    connector = get_connector(ctx)
    lag, total = lag_text(ctx)
    return {
        "reason": approval.args.get("reason") or DEFAULT_REASON,
        "started_by": approval.requester,
        "approved_by": approval.decided_by,
        "until": (now + duration).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_s": int(duration.total_seconds()),
        # 0 is not worth restoring: `maintenance end` then falls back to the runbook's count.
        "replicas": c["desired"] or None,
        "connector_before": requested_state(connector),
        "lag_before": lag,
        "lag_total_before": total,
    }


def enable_maintenance_mode(run: StepRun) -> str:
    k, saved = run.ctx.pipeline.kubernetes, run.workflow.saved
    data = {
        "enabled": "true",
        "message": str(saved["reason"]),
        "started_by": str(saved["started_by"]),
        "until": str(saved["until"]),
    }
    if saved.get("approved_by"):
        data["approved_by"] = str(saved["approved_by"])
    run.ctx.clients.kube.apply_configmap(k.maintenance_configmap, data)
    return (
        f"ConfigMap {k.namespace}/{k.maintenance_configmap}: enabled until {utc_text(saved['until'])}; "
        "health checks now expect the pause"
    )


def pause_connector(run: StepRun) -> str:
    ctx, name = run.ctx, run.ctx.pipeline.kubernetes.connector
    requested = requested_state(get_connector(ctx))
    if requested in ("paused", "stopped"):
        return f"KafkaConnector {name} was already {requested}"
    request_connector_state(ctx, "paused")
    state, _tasks = connector_state(get_connector(ctx))
    return f"KafkaConnector {name}: paused requested (Connect last reported {state}); no new changes enter Kafka"


def scale_down(run: StepRun) -> str:
    ctx, name = run.ctx, run.ctx.pipeline.kubernetes.streams_deployment
    c = counts(get_deployment(ctx))
    if c["desired"] == 0 and c["replicas"] == 0:
        return f"Deployment {name} was already at 0 replicas"
    status = scale_and_wait(ctx, 0)
    return f"Deployment {name}: {c['desired']} → 0 replicas ({status})"


# --- end -----------------------------------------------------------------------------------------------


def prepare_end(ctx: ActionContext) -> dict[str, Any]:
    assert ctx.approval is not None
    plan = ctx.approval.preview.get("plan") or {}
    window = read_maintenance(ctx.clients.kube, ctx.pipeline.kubernetes.maintenance_configmap)
    return {
        "replicas_target": int(plan.get("replicas") or maintenance_settings(ctx).default_replicas),
        "recorded": bool(plan.get("recorded")),
        "window": window_text(window, datetime.now(UTC)),
        "replicas_before": counts(get_deployment(ctx))["desired"],
    }


def resume_connector(run: StepRun) -> str:
    ctx, name = run.ctx, run.ctx.pipeline.kubernetes.connector
    if requested_state(get_connector(ctx)) == "running":
        return f"KafkaConnector {name} was already running"
    request_connector_state(ctx, "running")
    return f"KafkaConnector {name}: running requested; Debezium continues from its stored offsets"


def scale_back(run: StepRun) -> str:
    ctx, name = run.ctx, run.ctx.pipeline.kubernetes.streams_deployment
    target = int(run.workflow.saved["replicas_target"])
    c = counts(get_deployment(ctx))
    if c["desired"] == target and c["ready"] == target:
        return f"Deployment {name} already had {target} replicas ready"
    status = scale_and_wait(ctx, target)
    return f"Deployment {name}: {c['desired']} → {target} replicas ({status})"


def clear_maintenance_mode(run: StepRun) -> str:
    k = run.ctx.pipeline.kubernetes
    run.ctx.clients.kube.delete_configmap(k.maintenance_configmap)
    return (
        f"ConfigMap {k.namespace}/{k.maintenance_configmap} deleted: a paused connector or 0 replicas "
        "count as problems again"
    )


def post_check(run: StepRun) -> str:
    services = run.ctx.services
    assert services is not None
    report = services.health(run.ctx.pipeline.name)
    run.publisher.post_report(run.workflow, f"Post-maintenance check: {run.ctx.pipeline.name}", report)
    bad = [f"{c.name} {c.status.value}" for c in report.worst_first() if c.status is not Status.OK]
    return f"posted below: {report.status.value}" + (f" ({', '.join(bad)})" if bad else ", every check OK")
