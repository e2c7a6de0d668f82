"""A diagnostic snapshot as the readable text file uploaded into an incident thread.

Pure: the (already redacted) snapshot document in, text out, laid out like the commands the runbook
runs (`kubectl get all`, `aws kafka describe-cluster`, `kafka-consumer-groups --describe`).
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.redaction import redact_text
from bot.incidents.snapshot import check_of, summarize
from bot.render.format import check_label, fmt_int, format_table


def _rows(
    kind: str, items: list[dict[str, Any]], headers: list[str], row: Any, right: set[int] | None = None
) -> list[str]:
    if not items:
        return [f"(no {kind})"]
    return format_table(headers, [row(i) for i in items], right or set())


def _get_all(kube: dict[str, Any]) -> list[str]:
    lines = [f"== kubectl get all -n {kube.get('namespace')} =="]
    lines.append("")
    lines += _rows(
        "pods",
        kube.get("pods") or [],
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"],
        lambda p: [
            f"pod/{p.get('name')}",
            str(p.get("ready")),
            str(p.get("status")),
            str(p.get("restarts")),
            str(p.get("age")),
            str(p.get("ip") or "<none>"),
            str(p.get("node") or "<none>"),
        ],
        {3},
    )
    lines.append("")
    lines += _rows(
        "deployments",
        kube.get("deployments") or [],
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "IMAGES"],
        lambda d: [
            f"deployment.apps/{d.get('name')}",
            f"{d.get('ready')}/{d.get('desired')}",
            str(d.get("updated")),
            str(d.get("available")),
            str(d.get("age")),
            ",".join(str(c.get("image")) for c in d.get("containers") or []),
        ],
        {2, 3},
    )
    lines.append("")
    lines += _rows(
        "statefulsets",
        kube.get("statefulsets") or [],
        ["NAME", "READY", "AGE"],
        lambda s: [f"statefulset.apps/{s.get('name')}", f"{s.get('ready')}/{s.get('desired')}", str(s.get("age"))],
    )
    lines.append("")
    lines += _rows(
        "services",
        kube.get("services") or [],
        ["NAME", "TYPE", "CLUSTER-IP", "PORT(S)", "AGE"],
        lambda s: [
            f"service/{s.get('name')}",
            str(s.get("type")),
            str(s.get("cluster_ip")),
            ",".join(s.get("ports") or []) or "<none>",
            str(s.get("age")),
        ],
    )
    env_lines = []
    for deployment in kube.get("deployments") or []:
        for container in deployment.get("containers") or []:
            for entry in container.get("env") or []:
                if "valueFrom" in entry:
                    value = f"(from {json.dumps(entry['valueFrom'], sort_keys=True)})"
                else:
                    value = str(entry.get("value"))
                env_lines.append(f"{deployment.get('name')}/{container.get('name')}: {entry.get('name')}={value}")
        for key, value in (deployment.get("annotations") or {}).items():
            env_lines.append(f"{deployment.get('name')}: annotation {key}={value}")
    if env_lines:
        lines += ["", "Deployment environment and annotations (secret values redacted):", *env_lines]
    return lines


def _events(kube: dict[str, Any]) -> list[str]:
    events = kube.get("events") or []
    lines = ["== Warning events (newest first) =="]
    if not events:
        return [*lines, "No Warning events."]
    lines += format_table(
        ["LAST SEEN", "REASON", "OBJECT", "COUNT", "MESSAGE"],
        [
            [
                str(e.get("last_seen") or "?"),
                str(e.get("reason")),
                str(e.get("object")),
                str(e.get("count") or 1),
                str(e.get("message") or "").replace("\n", " "),
            ]
            for e in events
        ],
        {3},
    )
    return lines


def _logs(kube: dict[str, Any]) -> list[str]:
    entries = kube.get("logs") or []
    lines = ["== Logs of failing pods (last lines) =="]
    if not entries:
        return [*lines, "No failing pods."]
    for entry in entries:
        for container, text in (entry.get("containers") or {}).items():
            lines.append(f"--- pod {entry.get('pod')}, container {container} ({entry.get('reason')}) ---")
            lines += str(text or "(empty log)").rstrip("\n").splitlines() or ["(empty log)"]
    return lines


def _connector(kube: dict[str, Any]) -> list[str]:
    c = kube.get("connector") or {}
    lines = [f"== KafkaConnector {c.get('name')} =="]
    if c.get("found") is False:
        return [*lines, "Not found."]
    if c.get("found") is None:
        return [*lines, "Not read (see the errors at the end)."]
    lines.append(f"state: {c.get('state')} (spec asks {c.get('requested_state')}) · class {c.get('class')}")
    if c.get("connector_trace"):
        lines += ["connector trace:", *str(c["connector_trace"]).splitlines()]
    for task in c.get("tasks") or []:
        lines.append(f"task {task.get('id')}: {task.get('state')} on {task.get('worker_id')}")
        if task.get("trace"):
            lines += ["  " + line for line in str(task["trace"]).splitlines()]
    for condition in c.get("conditions") or []:
        lines.append(
            f"condition {condition.get('type')}={condition.get('status')} {condition.get('reason') or ''} "
            f"{condition.get('message') or ''}".rstrip()
        )
    config = c.get("config") or {}
    if config:
        lines.append("config (secret values redacted):")
        lines += [f"  {k}={v}" for k, v in config.items()]
    return lines


def _msk(msk: dict[str, Any] | None) -> list[str]:
    lines = ["== aws kafka describe-cluster =="]
    if not msk:
        return [*lines, "Not read (see the errors at the end)."]
    if not msk.get("configured"):
        return [*lines, "No msk_cluster_arn configured for this pipeline."]
    if not msk.get("found"):
        return [*lines, f"Cluster not found: {msk.get('arn')}"]
    return lines + [
        f"ClusterName: {msk.get('name')}",
        f"ClusterArn: {msk.get('arn')}",
        f"State: {msk.get('state')}",
        f"NumberOfBrokerNodes: {msk.get('broker_count')}",
        f"KafkaVersion: {msk.get('kafka_version')}",
    ]


def _lag(snapshot: dict[str, Any]) -> list[str]:
    lines = ["== Consumer lag per group and partition =="]
    check = check_of(snapshot, "consumer_lag")
    groups = ((check or {}).get("details") or {}).get("groups") or {}
    if not groups:
        return [*lines, str((check or {}).get("summary") or "Not checked.")]
    rows = []
    for group, detail in groups.items():
        if detail.get("total") is None:
            rows.append([group, "(no committed offsets)", "", "", "", ""])
            continue
        for p in detail.get("partitions") or []:
            rows.append(
                [
                    group,
                    str(p.get("topic")),
                    str(p.get("partition")),
                    fmt_int(int(p.get("committed") or 0)),
                    fmt_int(int(p.get("end") or 0)),
                    fmt_int(int(p.get("lag") or 0)),
                ]
            )
        rows.append([group, "TOTAL", "", "", "", fmt_int(int(detail.get("total") or 0))])
    return lines + format_table(
        ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"], rows, {2, 3, 4, 5}
    )


def _freshness(snapshot: dict[str, Any]) -> list[str]:
    lines = ["== Data freshness (MAX(kafka_timestamp) per staging table) =="]
    check = check_of(snapshot, "data_freshness")
    tables = ((check or {}).get("details") or {}).get("tables") or []
    if not tables:
        return [*lines, str((check or {}).get("summary") or "Not checked.")]
    return lines + format_table(
        ["TABLE", "LATEST UPDATE", "AGE (s)", "STATUS", "ERROR"],
        [
            [
                str(t.get("table")),
                str(t.get("latest_update") or "-"),
                str(t.get("age_seconds") if t.get("age_seconds") is not None else "-"),
                str(t.get("status")),
                str(t.get("error") or ""),
            ]
            for t in tables
        ],
        {2},
    )


def _alarms(snapshot: dict[str, Any]) -> list[str]:
    lines = ["== CloudWatch alarms =="]
    check = check_of(snapshot, "alarms")
    alarms = ((check or {}).get("details") or {}).get("alarms") or []
    if not alarms:
        return [*lines, str((check or {}).get("summary") or "Not checked.")]
    return lines + format_table(
        ["NAME", "STATE", "SINCE", "REASON"],
        [
            [str(a.get("name")), str(a.get("state")), str(a.get("updated_at") or "?"), str(a.get("reason") or "")]
            for a in alarms
        ],
    )


def _checks(snapshot: dict[str, Any]) -> list[str]:
    lines = [f"== Health checks: {snapshot.get('status')} =="]
    for check in (snapshot.get("health") or {}).get("checks") or []:
        lines.append(f"{check.get('status'):<8} {check_label(str(check.get('name')))}: {check.get('summary')}")
        for finding in check.get("findings") or []:
            lines.append(f"         - {finding.get('status')}: {finding.get('text')}")
    for note in (snapshot.get("health") or {}).get("notes") or []:
        lines.append(f"note: {note}")
    return lines


def snapshot_text(snapshot: dict[str, Any], heading: str) -> str:
    """The whole snapshot, readable; redacted again on the way out in case a layout joined two halves."""
    kube = snapshot.get("kubernetes") or {}
    sections: list[list[str]] = [
        [
            heading,
            f"pipeline {snapshot.get('pipeline')} · taken {snapshot.get('taken_at')} · overall {snapshot.get('status')}"
            f" · collected in {snapshot.get('duration_ms')} ms",
            "Secret values, tokens and passwords are redacted; Kubernetes Secrets are not read.",
        ],
        ["== What is wrong (worst first) =="]
        + (
            [f"{line.status.value:<8} {line.text}" for line in summarize(snapshot, findings_per_check=10)]
            or ["Nothing."]
        ),
        _get_all(kube),
        _events(kube),
        _connector(kube),
        _logs(kube),
        _msk(snapshot.get("msk")),
        _lag(snapshot),
        _freshness(snapshot),
        _alarms(snapshot),
        _checks(snapshot),
    ]
    errors = snapshot.get("errors") or []
    if errors:
        sections.append(["== Not captured ==", *errors])
    return redact_text("\n\n".join("\n".join(section) for section in sections) + "\n")


def snapshot_json(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, indent=2, default=str) + "\n"
