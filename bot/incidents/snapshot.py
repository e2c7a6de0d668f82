"""Diagnostic snapshots: the runbook's "capture state" step, as one redacted JSON document.

What is captured (each part on its own, so one unreachable backend leaves a gap, not a failure):
- `kubectl get all -n NS`: pods (phase, readiness, restarts, age), deployments, statefulsets, services;
- Warning events, and the tail of the logs of every pod that is failing (not Ready, waiting in
  CrashLoopBackOff and friends, or restarted);
- `aws kafka describe-cluster`;
- the KafkaConnector with its tasks, full traces and (redacted) config;
- the seven health checks with their details: consumer lag per group and partition, freshness per
  table, alarms (the same code as `/cdc health`).
Kubernetes Secrets are never read. Environment values are shown only for the runbook's tuning settings
(an allow-list); pod logs, traces and event messages go through PII detection (`redact_log_text`); the
whole document goes through `redact` before anyone sees it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bot.checks.base import get_path
from bot.checks.kube import BAD_WAITING_REASONS, connector_state, requested_state
from bot.clients.base import Aws, BackendError, Kube
from bot.clients.sensitive import sensitive
from bot.core.config import PipelineConfig
from bot.core.durations import format_duration
from bot.core.redaction import HIDDEN, PiiPattern, redact, redact_log_text, redact_text
from bot.core.results import Status
from bot.services import Services

log = logging.getLogger(__name__)

SNAPSHOT_FORMAT = 1
LOG_TAIL_LINES = 50
# Enough failing pods to see a pattern; a namespace-wide crash loop need not fetch a hundred logs.
MAX_LOG_PODS = 10
MAX_EVENTS = 50


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age(created: Any, now: datetime) -> str:
    """kubectl's AGE column: `45s`, `12m`, `3h 5m`."""
    at = _parse_time(created)
    if at is None:
        return "?"
    return format_duration(max(0.0, (now - at).total_seconds())).split(" ")[0]


# --- kubectl get all ----------------------------------------------------------------------------------------


def pod_row(pod: dict[str, Any], now: datetime) -> dict[str, Any]:
    metadata, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    statuses = status.get("containerStatuses") or []
    containers = []
    reasons: list[str] = []
    for cs in statuses:
        state = cs.get("state") or {}
        kind = next(iter(state), "unknown")
        reason = (state.get(kind) or {}).get("reason")
        if reason and kind in ("waiting", "terminated"):
            reasons.append(str(reason))
        containers.append(
            {
                "name": cs.get("name"),
                "ready": bool(cs.get("ready")),
                "restarts": int(cs.get("restartCount") or 0),
                "state": kind,
                "reason": reason,
                "image": cs.get("image"),
            }
        )
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    phase = str(status.get("phase") or "Unknown")
    shown = "Terminating" if metadata.get("deletionTimestamp") else (reasons[0] if reasons else phase)
    return {
        "name": metadata.get("name"),
        "phase": phase,
        "status": shown,
        "ready": f"{sum(1 for c in containers if c['ready'])}/{len(spec.get('containers') or containers)}",
        "is_ready": ready,
        "restarts": sum(c["restarts"] for c in containers),
        "age": age(metadata.get("creationTimestamp"), now),
        "created": metadata.get("creationTimestamp"),
        "node": spec.get("nodeName"),
        "ip": status.get("podIP"),
        "labels": metadata.get("labels") or {},
        "containers": containers,
        "container_names": [c.get("name") for c in spec.get("containers") or []],
    }


def failing_reason(pod: dict[str, Any]) -> str | None:
    """Why a pod (a `pod_row`) needs its log read; None for a healthy or finished pod."""
    if pod["phase"] == "Succeeded":
        return None
    bad = [c["reason"] for c in pod["containers"] if c.get("reason") in BAD_WAITING_REASONS]
    if bad:
        return bad[0]
    if pod["phase"] == "Failed":
        return "Failed"
    if not pod["is_ready"]:
        return "not Ready"
    if pod["restarts"] > 0:
        return f"{pod['restarts']} restarts"
    return None


# Environment values are shown only for settings known to be safe and useful in an incident: the runbook's
# Performance Tuning Guide (producer, consumer and Streams tuning, JVM heap and GC). Every other variable shows
# its name only: `DB_PW`, `HASH_SALT`, `DATABASE_URL` do not say "password", so a deny-list would show them.
TUNING_SETTINGS = frozenset(
    {
        "BATCH_SIZE",
        "LINGER_MS",
        "COMPRESSION_TYPE",
        "BUFFER_MEMORY",
        "FETCH_MIN_BYTES",
        "FETCH_MAX_WAIT_MS",
        "MAX_POLL_RECORDS",
        "MAX_PARTITION_FETCH_BYTES",
        "NUM_STREAM_THREADS",
        "COMMIT_INTERVAL_MS",
        "CACHE_MAX_BYTES_BUFFERING",
    }
)
# How images spell them: `KAFKA_BATCH_SIZE`, `CONNECT_PRODUCER_LINGER_MS`, `STREAMS_NUM_STREAM_THREADS`.
TUNING_PREFIXES = (
    "",
    "KAFKA_",
    "STREAMS_",
    "KAFKA_STREAMS_",
    "PRODUCER_",
    "CONSUMER_",
    "CONNECT_PRODUCER_",
    "CONNECT_CONSUMER_",
)
# JVM settings (`KAFKA_HEAP_OPTS="-Xmx4g -Xms4g"`): only their -X/-XX flags are shown; a `-D` property can
# carry a password (`-Djavax.net.ssl.trustStorePassword=...`), so it shows as hidden.
JVM_SETTINGS = frozenset({"KAFKA_HEAP_OPTS", "KAFKA_JVM_PERFORMANCE_OPTS", "JAVA_OPTS", "JVM_OPTS", "HEAP_OPTS"})
_JVM_FLAG = re.compile(r"-XX:[+-]?[A-Za-z][A-Za-z0-9]*(?:=[\w.%]+)?|-X(?:mx|ms|ss|mn)\d+[kKmMgGtT]?")


def _setting(name: str) -> str:
    return name.upper().replace(".", "_").replace("-", "_")


def env_value_shown(name: str) -> bool:
    """Whether an environment variable's value may appear in a snapshot (an allow-list, never a deny-list)."""
    setting = _setting(name)
    if setting in JVM_SETTINGS:
        return True
    return any(setting.startswith(p) and setting[len(p) :] in TUNING_SETTINGS for p in TUNING_PREFIXES)


def _shown_value(name: str, value: Any) -> Any:
    if value in (None, ""):
        return value  # "set but empty" is itself a diagnosis
    if not env_value_shown(name):
        return HIDDEN
    if _setting(name) in JVM_SETTINGS:
        return " ".join(word if _JVM_FLAG.fullmatch(word) else HIDDEN for word in str(value).split())
    return redact_text(str(value))


def reference(value_from: Any) -> str:
    """`secretKeyRef: name/key`: where a value comes from, never the value."""
    if not isinstance(value_from, dict) or not value_from:
        return "(a reference)"
    kind, ref = next(iter(value_from.items()))
    ref = ref if isinstance(ref, dict) else {}
    if kind in ("secretKeyRef", "configMapKeyRef"):
        return f"{kind}: {ref.get('name')}/{ref.get('key')}"
    if kind == "fieldRef":
        return f"fieldRef: {ref.get('fieldPath')}"
    if kind == "resourceFieldRef":
        return f"resourceFieldRef: {ref.get('resource')}"
    return str(kind)


def _env(container: dict[str, Any]) -> list[dict[str, Any]]:
    entries = []
    for item in container.get("env") or []:
        name = str(item.get("name") or "")
        entry: dict[str, Any] = {"name": name}
        if "valueFrom" in item:
            entry["valueFrom"] = reference(item["valueFrom"])
        else:
            entry["value"] = _shown_value(name, item.get("value"))
        entries.append(entry)
    return entries


# Annotations worth seeing; the rest (last-applied-configuration above all) can hold whole specs.
_ANNOTATION_PREFIXES = ("prometheus.io/", "deployment.kubernetes.io/revision", "kubectl.kubernetes.io/restartedAt")


def deployment_row(deployment: dict[str, Any], now: datetime) -> dict[str, Any]:
    metadata, spec, status = (
        deployment.get("metadata") or {},
        deployment.get("spec") or {},
        deployment.get("status") or {},
    )
    template = get_path(spec, "template", "spec", default={}) or {}
    annotations = {
        **(metadata.get("annotations") or {}),
        **(get_path(spec, "template", "metadata", "annotations", default={}) or {}),
    }
    return {
        "name": metadata.get("name"),
        "desired": int(spec.get("replicas", 1)),
        "ready": int(status.get("readyReplicas") or 0),
        "updated": int(status.get("updatedReplicas") or 0),
        "available": int(status.get("availableReplicas") or 0),
        "age": age(metadata.get("creationTimestamp"), now),
        "containers": [
            {"name": c.get("name"), "image": c.get("image"), "env": _env(c)} for c in template.get("containers") or []
        ],
        "annotations": {k: v for k, v in annotations.items() if k.startswith(_ANNOTATION_PREFIXES)},
    }


def statefulset_row(sts: dict[str, Any], now: datetime) -> dict[str, Any]:
    metadata, spec, status = sts.get("metadata") or {}, sts.get("spec") or {}, sts.get("status") or {}
    return {
        "name": metadata.get("name"),
        "desired": int(spec.get("replicas", 1)),
        "ready": int(status.get("readyReplicas") or 0),
        "age": age(metadata.get("creationTimestamp"), now),
    }


def service_row(service: dict[str, Any], now: datetime) -> dict[str, Any]:
    metadata, spec = service.get("metadata") or {}, service.get("spec") or {}
    ports = [
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol') or 'TCP'}"
        for p in spec.get("ports") or []
    ]
    return {
        "name": metadata.get("name"),
        "type": spec.get("type") or "ClusterIP",
        "cluster_ip": spec.get("clusterIP") or "<none>",
        "ports": ports,
        "age": age(metadata.get("creationTimestamp"), now),
    }


def _log_text(text: Any, extra_pii: Iterable[PiiPattern] = ()) -> Any:
    """Log lines, traces and event messages quote CDC data: PII detection on top of secret redaction."""
    return redact_log_text(text, extra_pii) if isinstance(text, str) else text


def event_row(event: dict[str, Any], extra_pii: Iterable[PiiPattern] = ()) -> dict[str, Any]:
    return {
        "type": event.get("type"),
        "reason": event.get("reason"),
        "object": f"{get_path(event, 'involvedObject', 'kind', default='?')}/"
        f"{get_path(event, 'involvedObject', 'name', default='?')}",
        "message": _log_text((event.get("message") or "").strip(), extra_pii),
        "count": event.get("count"),
        "last_seen": event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp"),
    }


def connector_section(obj: dict[str, Any] | None, name: str, extra_pii: Iterable[PiiPattern] = ()) -> dict[str, Any]:
    if obj is None:
        return {"name": name, "found": False}
    state, tasks = connector_state(obj)
    spec = obj.get("spec") or {}
    return {
        "name": name,
        "found": True,
        "state": state,
        "requested_state": requested_state(obj),
        "class": spec.get("class"),
        "tasks_max": spec.get("tasksMax"),
        "tasks": [
            {
                "id": t.get("id"),
                "state": t.get("state"),
                "worker_id": t.get("worker_id"),
                "trace": _log_text(t.get("trace"), extra_pii),
            }
            for t in tasks
        ],
        "connector_trace": _log_text(get_path(obj, "status", "connectorStatus", "connector", "trace"), extra_pii),
        "conditions": [
            {
                "type": c.get("type"),
                "status": c.get("status"),
                "reason": c.get("reason"),
                "message": _log_text(c.get("message"), extra_pii),
            }
            for c in get_path(obj, "status", "conditions", default=[]) or []
        ],
        # Connector configs hold database passwords: redact() blanks them by key and by pattern.
        "config": spec.get("config") or {},
    }


def kubernetes_section(
    kube: Kube, pipeline: PipelineConfig, now: datetime, extra_pii: Iterable[PiiPattern] = ()
) -> dict[str, Any]:
    """`extra_pii`: PII patterns of this deployment on top of `PII_PATTERNS`, for log lines and traces."""
    k = pipeline.kubernetes
    out: dict[str, Any] = {"namespace": k.namespace}
    errors: list[str] = []

    def part(name: str, read: Callable[[], Any], default: Any) -> Any:
        try:
            return read()
        except BackendError as exc:
            errors.append(f"{name}: {exc}")
            return default

    pods = part("pods", lambda: [pod_row(p, now) for p in kube.list_pods()], [])
    out["pods"] = sorted(pods, key=lambda p: str(p["name"]))
    out["deployments"] = part("deployments", lambda: [deployment_row(d, now) for d in kube.list_deployments()], [])
    out["statefulsets"] = part("statefulsets", lambda: [statefulset_row(s, now) for s in kube.list_statefulsets()], [])
    out["services"] = part("services", lambda: [service_row(s, now) for s in kube.list_services()], [])
    events = part("events", lambda: [event_row(e, extra_pii) for e in kube.list_events("type=Warning")], [])
    events.sort(key=lambda e: str(e.get("last_seen") or ""), reverse=True)
    out["events"] = events[:MAX_EVENTS]

    def read_connector() -> dict[str, Any]:
        with sensitive():  # the object carries the connector config; keep client payload logging off
            return connector_section(kube.get_custom("kafkaconnectors", k.connector), k.connector, extra_pii)

    out["connector"] = part("connector", read_connector, {"name": k.connector, "found": None})

    logs: list[dict[str, Any]] = []
    failing = [(p, reason) for p in out["pods"] if (reason := failing_reason(p))]
    for pod, reason in failing[:MAX_LOG_PODS]:
        entry: dict[str, Any] = {"pod": pod["name"], "reason": reason, "containers": {}}
        for container in pod["container_names"] or [None]:
            try:
                with sensitive():  # log lines can hold anything; they are redacted before they are shown
                    text = kube.read_pod_log(str(pod["name"]), tail_lines=LOG_TAIL_LINES, container=container)
            except BackendError as exc:
                text = f"(log not available: {exc})"
            entry["containers"][container or "default"] = _log_text(text, extra_pii)
        logs.append(entry)
    out["logs"] = logs
    if len(failing) > MAX_LOG_PODS:
        errors.append(f"logs: {len(failing) - MAX_LOG_PODS} more failing pods not read (first {MAX_LOG_PODS} only)")
    out["errors"] = errors
    return out


def msk_section(aws: Aws, pipeline: PipelineConfig) -> dict[str, Any]:
    arn = pipeline.msk_cluster_arn
    if not arn:
        return {"configured": False}
    cluster = aws.describe_msk_cluster(arn)
    if cluster is None:
        return {"configured": True, "arn": arn, "found": False}
    return {"configured": True, "found": True, **asdict(cluster)}


# --- the whole snapshot -------------------------------------------------------------------------------------


def _run_parts(parts: dict[str, Callable[[], Any]], timeout: float) -> tuple[dict[str, Any], list[str]]:
    """Each part in its own daemon thread under one deadline (like the checks): a hung backend costs
    the deadline and leaves its part out, and cannot hold the process at exit."""
    results: dict[str, Any] = {}
    errors: list[str] = []
    done = threading.Condition()

    def worker(name: str, fn: Callable[[], Any]) -> None:
        try:
            value: Any = fn()
        except BackendError as exc:
            value = exc
        except Exception as exc:  # a bug in one part must not lose the others
            log.exception("snapshot part %s crashed", name)
            value = exc
        with done:
            results[name] = value
            done.notify_all()

    for name, fn in parts.items():
        threading.Thread(target=worker, args=(name, fn), name=f"snapshot-{name}", daemon=True).start()
    deadline = time.monotonic() + timeout
    with done:
        while len(results) < len(parts) and (remaining := deadline - time.monotonic()) > 0:
            done.wait(remaining)
        finished = dict(results)
    for name in parts:
        if name not in finished:
            errors.append(f"{name}: no answer within {timeout:g}s")
        elif isinstance(finished[name], Exception):
            exc = finished.pop(name)
            errors.append(f"{name}: {exc}" if isinstance(exc, BackendError) else f"{name}: {type(exc).__name__}")
    return finished, errors


def take_snapshot(
    services: Services,
    pipeline: PipelineConfig,
    now: datetime | None = None,
    extra_pii: Iterable[PiiPattern] = (),
) -> dict[str, Any]:
    """Collect everything above for one pipeline; returns the redacted, JSON-ready document.

    Pod logs, traces and event messages also go through PII detection (`PII_PATTERNS` plus `extra_pii`)."""
    now = now or datetime.now(UTC)
    started = time.monotonic()
    clients = services.clients(pipeline)
    parts: dict[str, Callable[[], Any]] = {
        "health": lambda: services.health(pipeline.name).to_json_dict(),
        "kubernetes": lambda: kubernetes_section(clients.kube, pipeline, now, extra_pii),
        "msk": lambda: msk_section(clients.aws, pipeline),
    }
    # The checks have their own deadline; the Kubernetes part makes several calls in a row.
    found, errors = _run_parts(parts, timeout=services.check_timeout * 2 + 1)
    kube = found.get("kubernetes") or {"namespace": pipeline.kubernetes.namespace}
    errors += [f"kubernetes {e}" for e in kube.pop("errors", [])]
    health = found.get("health") or {}
    document = {
        "format": SNAPSHOT_FORMAT,
        "pipeline": pipeline.name,
        "taken_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_ms": int((time.monotonic() - started) * 1000),
        "status": health.get("status", Status.UNKNOWN.value),
        "health": health,
        "kubernetes": kube,
        "msk": found.get("msk"),
        "errors": errors,
    }
    return redact(document)


# --- reading a snapshot -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryLine:
    status: Status
    text: str
    check: str | None = None


def _status(value: Any) -> Status:
    try:
        return Status(str(value))
    except ValueError:
        return Status.UNKNOWN


def check_of(snapshot: dict[str, Any], name: str) -> dict[str, Any] | None:
    for check in get_path(snapshot, "health", "checks", default=[]) or []:
        if check.get("name") == name:
            return check
    return None


def summarize(snapshot: dict[str, Any], findings_per_check: int = 3) -> list[SummaryLine]:
    """What is wrong, worst first: each non-OK check's summary and its worst findings, failing pods."""
    # Sorted by each line's own status (a WARN finding of a CRIT check comes after every CRIT line),
    # then by check order, so each check's lines stay together within a status.
    lines: list[tuple[int, int, SummaryLine]] = []
    checks = get_path(snapshot, "health", "checks", default=[]) or []
    for order, check in enumerate(checks):
        status = _status(check.get("status"))
        if status is Status.OK:
            continue
        name = str(check.get("name"))
        lines.append((-status.severity, order * 100, SummaryLine(status, str(check.get("summary") or ""), name)))
        findings = [f for f in check.get("findings") or [] if _status(f.get("status")) is not Status.OK]
        findings.sort(key=lambda f: -_status(f.get("status")).severity)
        for index, finding in enumerate(findings[:findings_per_check], start=1):
            text = str(finding.get("text") or "")
            if text and text not in str(check.get("summary") or ""):
                severity = _status(finding["status"])
                lines.append((-severity.severity, order * 100 + index, SummaryLine(severity, text, name)))
    for index, entry in enumerate(get_path(snapshot, "kubernetes", "logs", default=[]) or []):
        text = f"pod {entry.get('pod')}: {entry.get('reason')} (log tail in the snapshot file)"
        status = Status.CRIT if entry.get("reason") in BAD_WAITING_REASONS else Status.WARN
        lines.append((-status.severity, 10_000 + index, SummaryLine(status, text, "pods")))
    for index, error in enumerate(snapshot.get("errors") or []):
        lines.append((-Status.UNKNOWN.severity, 20_000 + index, SummaryLine(Status.UNKNOWN, f"not captured: {error}")))
    lines.sort(key=lambda item: (item[0], item[1]))
    return [line for _, _, line in lines]
