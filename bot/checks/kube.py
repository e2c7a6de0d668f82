"""connector and kubernetes_workloads: Strimzi's view of Debezium and the pods that run the pipeline."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.checks.base import CheckContext, check, get_path, plural
from bot.core.redaction import redact_text
from bot.core.results import CheckResult, Finding, Status, worst

BAD_WAITING_REASONS = {
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
}
RESTARTS_WARN = 5
EVENT_WINDOW = timedelta(hours=1)


def first_line(text: str | None, limit: int = 200) -> str:
    # Traces and event messages can quote a JDBC URL or a password; they reach Slack redacted.
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return redact_text(line)[:limit]


def connect_pod_selector(connect_cluster: str) -> str:
    """The runbook's `-l strimzi.io/cluster=…`, minus Strimzi's image build pod, which is not a worker."""
    return f"strimzi.io/cluster={connect_cluster},strimzi.io/name!={connect_cluster}-connect-build"


def connector_state(obj: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """Connector state and tasks from `status.connectorStatus`, as Strimzi copies them from Connect's REST API."""
    status = get_path(obj, "status", "connectorStatus", default={})
    return str(get_path(status, "connector", "state", default="UNKNOWN")), list(status.get("tasks") or [])


def requested_state(obj: dict[str, Any]) -> str:
    spec = obj.get("spec") or {}
    if spec.get("state"):
        return str(spec["state"]).lower()
    # Older Strimzi versions only know `spec.pause`.
    return "paused" if spec.get("pause") else "running"


@check("connector")
def connector(ctx: CheckContext) -> CheckResult:
    name = ctx.pipeline.kubernetes.connector
    obj = ctx.clients.kube.get_custom("kafkaconnectors", name)
    if obj is None:
        return CheckResult(
            name="connector",
            status=Status.CRIT,
            summary=f"KafkaConnector {name} not found in {ctx.pipeline.kubernetes.namespace}",
        )
    state, tasks = connector_state(obj)
    wanted = requested_state(obj)
    conditions = {c.get("type"): c for c in get_path(obj, "status", "conditions", default=[])}
    ready = conditions.get("Ready", {})
    maintenance = ctx.maintenance()
    findings: list[Finding] = []
    statuses: list[Status] = []

    for task in tasks:
        task_state = str(task.get("state", "UNKNOWN"))
        if task_state == "FAILED":
            statuses.append(Status.CRIT)
            trace = first_line(task.get("trace"))
            findings.append(
                Finding(
                    status=Status.CRIT,
                    text=f"task {task.get('id')} FAILED on {task.get('worker_id', '?')}: {trace or 'no trace'}",
                )
            )
        elif task_state in ("PAUSED", "STOPPED"):
            statuses.append(Status.OK if maintenance.enabled else Status.WARN)
        elif task_state != "RUNNING":
            statuses.append(Status.WARN)
            findings.append(Finding(status=Status.WARN, text=f"task {task.get('id')} {task_state}"))

    if state == "FAILED":
        statuses.append(Status.CRIT)
        trace = first_line(get_path(obj, "status", "connectorStatus", "connector", "trace"))
        findings.append(Finding(status=Status.CRIT, text=f"connector FAILED: {trace or 'no trace'}"))
    elif state in ("PAUSED", "STOPPED") or wanted in ("paused", "stopped"):
        if maintenance.enabled:
            statuses.append(Status.OK)
            findings.append(
                Finding(status=Status.OK, text=f"{state.lower()} as expected: {maintenance.describe(ctx.now())}")
            )
        else:
            statuses.append(Status.WARN)
            findings.append(
                Finding(
                    status=Status.WARN,
                    text=f"connector {state} (spec asks {wanted}) and no "
                    "maintenance window is open: no changes are captured",
                )
            )
    elif state != "RUNNING":
        statuses.append(Status.WARN)
        findings.append(Finding(status=Status.WARN, text=f"connector state {state}"))
    if ready and ready.get("status") != "True" and state != "FAILED" and not maintenance.enabled:
        statuses.append(Status.WARN)
        findings.append(
            Finding(
                status=Status.WARN,
                text=f"Ready condition {ready.get('status')}: "
                f"{first_line(ready.get('message')) or ready.get('reason', '')}",
            )
        )
    if maintenance.overdue(ctx.now()):
        statuses.append(Status.WARN)
        findings.append(Finding(status=Status.WARN, text=maintenance.describe(ctx.now())))

    running = sum(1 for t in tasks if t.get("state") == "RUNNING")
    summary = f"{name}: {state}, {running}/{plural(len(tasks), 'task')} running"
    if maintenance.enabled and state in ("PAUSED", "STOPPED"):
        summary += " (maintenance)"
    failed = [f for f in findings if f.status is Status.CRIT]
    if failed:
        summary += f"; {failed[0].text}"
    details = {
        "connector": name,
        "state": state,
        "requested_state": wanted,
        "maintenance": maintenance.enabled,
        "tasks": [
            {
                "id": t.get("id"),
                "state": t.get("state"),
                "worker_id": t.get("worker_id"),
                "trace": first_line(t.get("trace"), 500) or None,
            }
            for t in tasks
        ],
        "ready": ready.get("status"),
    }
    return CheckResult(
        name="connector",
        status=worst(statuses) if statuses else Status.OK,
        summary=summary,
        details=details,
        findings=findings,
    )


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in get_path(pod, "status", "conditions", default=[])
    )


def pod_problems(pod: dict[str, Any]) -> tuple[int, list[str]]:
    """Total restarts, and waiting reasons that mean the pod will not come up by itself."""
    restarts, reasons = 0, []
    for cs in get_path(pod, "status", "containerStatuses", default=[]):
        restarts += int(cs.get("restartCount") or 0)
        reason = get_path(cs, "state", "waiting", "reason")
        if reason in BAD_WAITING_REASONS:
            reasons.append(reason)
    return restarts, reasons


def _event_time(event: dict[str, Any]) -> datetime | None:
    for key in ("lastTimestamp", "eventTime", "firstTimestamp"):
        value = event.get(key) or get_path(event, "metadata", "creationTimestamp")
        if value:
            try:
                return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            except ValueError:
                continue
    return None


@check("kubernetes_workloads")
def kubernetes_workloads(ctx: CheckContext) -> CheckResult:
    k = ctx.pipeline.kubernetes
    kube = ctx.clients.kube
    maintenance = ctx.maintenance()
    now = ctx.now()
    findings: list[Finding] = []
    statuses: list[Status] = []
    details: dict[str, Any] = {"namespace": k.namespace}
    parts: list[str] = []

    deployment = kube.get_deployment(k.streams_deployment)
    if deployment is None:
        statuses.append(Status.CRIT)
        findings.append(Finding(status=Status.CRIT, text=f"deployment {k.streams_deployment} not found"))
        parts.append(f"{k.streams_deployment} missing")
    else:
        desired = int(get_path(deployment, "spec", "replicas", default=1))
        ready = int(get_path(deployment, "status", "readyReplicas", default=0))
        details["streams"] = {"deployment": k.streams_deployment, "desired": desired, "ready": ready}
        parts.append(f"{k.streams_deployment} {ready}/{desired} ready")
        if desired == 0:
            if maintenance.overdue(now):
                # Expected while the window lasts; past its end, someone forgot `maintenance end`.
                statuses.append(Status.WARN)
                parts[-1] += " (maintenance)"
                findings.append(
                    Finding(status=Status.WARN, text=f"{k.streams_deployment} still at 0: {maintenance.describe(now)}")
                )
            elif maintenance.enabled:
                statuses.append(Status.OK)
                parts[-1] += " (maintenance)"
            else:
                statuses.append(Status.CRIT)
                findings.append(
                    Finding(
                        status=Status.CRIT,
                        text=f"{k.streams_deployment} is scaled to 0 and no "
                        "maintenance window is open: nothing is masked or delivered",
                    )
                )
        elif ready == 0:
            statuses.append(Status.CRIT)
            findings.append(
                Finding(status=Status.CRIT, text=f"{k.streams_deployment}: none of {desired} replicas ready")
            )
        elif ready < desired:
            statuses.append(Status.WARN)
            findings.append(
                Finding(status=Status.WARN, text=f"{k.streams_deployment}: {ready} of {desired} replicas ready")
            )
        else:
            statuses.append(Status.OK)

    selector = connect_pod_selector(k.connect_cluster)
    connect_pods = [
        p
        for p in kube.list_pods(selector)
        if get_path(p, "status", "phase") not in ("Succeeded",)
        and not get_path(p, "metadata", "name", default="").endswith("-build")
    ]
    ready_pods = [p for p in connect_pods if pod_ready(p)]
    details["connect"] = {"selector": selector, "pods": len(connect_pods), "ready": len(ready_pods)}
    parts.append(f"Connect {len(ready_pods)}/{len(connect_pods)} pods ready")
    if not connect_pods:
        statuses.append(Status.CRIT)
        findings.append(Finding(status=Status.CRIT, text=f"no Connect pods match {selector}"))
    elif not ready_pods:
        statuses.append(Status.CRIT)
        findings.append(Finding(status=Status.CRIT, text=f"none of {len(connect_pods)} Connect pods ready"))
    elif len(ready_pods) < len(connect_pods):
        statuses.append(Status.WARN)
        names = ", ".join(p["metadata"]["name"] for p in connect_pods if not pod_ready(p))
        findings.append(Finding(status=Status.WARN, text=f"Connect pods not ready: {names}"))

    # Restart loops and image problems, on the streams pods and the Connect pods alike.
    streams_selector = ",".join(
        f"{a}={b}" for a, b in (get_path(deployment, "spec", "selector", "matchLabels", default={}) or {}).items()
    )
    streams_pods = kube.list_pods(streams_selector) if streams_selector else []
    restarts: dict[str, int] = {}
    for pod in [*streams_pods, *connect_pods]:
        name = pod["metadata"]["name"]
        count, reasons = pod_problems(pod)
        restarts[name] = count
        if reasons:
            statuses.append(Status.CRIT)
            findings.append(Finding(status=Status.CRIT, text=f"{name}: {', '.join(sorted(set(reasons)))}"))
        elif count >= RESTARTS_WARN:
            statuses.append(Status.WARN)
            findings.append(Finding(status=Status.WARN, text=f"{name}: restarted {count} times"))
    details["restarts"] = restarts

    warnings = []
    for event in kube.list_events("type=Warning"):
        at = _event_time(event)
        if at is not None and now - at <= EVENT_WINDOW:
            warnings.append(event)
    warnings.sort(key=lambda e: _event_time(e) or now, reverse=True)
    details["warning_events"] = [
        {
            "reason": e.get("reason"),
            "object": get_path(e, "involvedObject", "name"),
            "message": first_line(e.get("message")),
            "count": e.get("count"),
        }
        for e in warnings[:20]
    ]
    if warnings:
        statuses.append(Status.WARN)
        for event in warnings[:3]:
            findings.append(
                Finding(
                    status=Status.WARN,
                    text=f"event {event.get('reason')} on "
                    f"{get_path(event, 'involvedObject', 'name')}: {first_line(event.get('message'))}",
                )
            )
        parts.append(f"{plural(len(warnings), 'Warning event')} in the last hour")
    return CheckResult(
        name="kubernetes_workloads",
        status=worst(statuses) if statuses else Status.OK,
        summary=", ".join(parts),
        details=details,
        findings=findings,
    )
