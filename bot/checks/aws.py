"""msk_cluster, redshift_cluster and alarms: what AWS says about the managed pieces."""

from __future__ import annotations

from bot.checks.base import CheckContext, check, plural
from bot.clients.base import BackendError
from bot.core.durations import format_duration
from bot.core.results import CheckResult, Finding, Status, worst

MSK_STATES = {
    "ACTIVE": Status.OK,
    "CREATING": Status.WARN,
    "UPDATING": Status.WARN,
    "MAINTENANCE": Status.WARN,
    "REBOOTING_BROKER": Status.WARN,
    "HEALING": Status.WARN,
    "FAILED": Status.CRIT,
    "DELETING": Status.CRIT,
}


@check("msk_cluster")
def msk_cluster(ctx: CheckContext) -> CheckResult:
    arn = ctx.pipeline.msk_cluster_arn
    if not arn:
        return CheckResult(name="msk_cluster", status=Status.UNKNOWN, summary="no msk_cluster_arn configured")
    cluster = ctx.clients.aws.describe_msk_cluster(arn)
    if cluster is None:
        return CheckResult(
            name="msk_cluster", status=Status.CRIT, summary=f"MSK cluster not found: {arn}", details={"arn": arn}
        )
    status = MSK_STATES.get(cluster.state, Status.WARN)
    findings: list[Finding] = []
    details = {
        "arn": arn,
        "name": cluster.name,
        "state": cluster.state,
        "brokers": cluster.broker_count,
        "kafka_version": cluster.kafka_version,
    }
    expected = ctx.pipeline.expected_brokers
    if expected and cluster.broker_count != expected:
        status = worst([status, Status.WARN])
        findings.append(Finding(status=Status.WARN, text=f"{cluster.broker_count} brokers, {expected} expected"))
    # What the brokers themselves say: a broker MSK lists but clients cannot reach shows here.
    try:
        reachable = ctx.clients.kafka.broker_count()
        details["brokers_reachable"] = reachable
        if reachable < cluster.broker_count:
            status = worst([status, Status.WARN])
            findings.append(
                Finding(status=Status.WARN, text=f"only {reachable} of {cluster.broker_count} brokers answer clients")
            )
    except BackendError as exc:
        details["brokers_reachable"] = None
        findings.append(Finding(status=Status.UNKNOWN, text=f"brokers not reachable from the bot: {exc}"))
    summary = f"{cluster.name or arn}: {cluster.state}, {plural(cluster.broker_count, 'broker')}"
    if cluster.kafka_version:
        summary += f", Kafka {cluster.kafka_version}"
    return CheckResult(name="msk_cluster", status=status, summary=summary, details=details, findings=findings)


REDSHIFT_STATUS = {
    "available": Status.OK,
    "modifying": Status.WARN,
    "resizing": Status.WARN,
    "rebooting": Status.WARN,
    "renaming": Status.WARN,
    "creating": Status.WARN,
    "paused": Status.CRIT,
    "pausing": Status.CRIT,
    "incompatible-network": Status.CRIT,
    "incompatible-hsm": Status.CRIT,
    "hardware-failure": Status.CRIT,
    "storage-full": Status.CRIT,
    "deleting": Status.CRIT,
    "final-snapshot": Status.CRIT,
}


@check("redshift_cluster")
def redshift_cluster(ctx: CheckContext) -> CheckResult:
    settings = ctx.pipeline.redshift
    if settings is None:
        return CheckResult(name="redshift_cluster", status=Status.UNKNOWN, summary="no redshift configured")
    findings: list[Finding] = []
    details: dict[str, object] = {}
    statuses: list[Status] = []
    parts: list[str] = []
    if settings.cluster_identifier:
        cluster = ctx.clients.aws.describe_redshift_cluster(settings.cluster_identifier)
        if cluster is None:
            return CheckResult(
                name="redshift_cluster",
                status=Status.CRIT,
                summary=f"Redshift cluster {settings.cluster_identifier} not found",
            )
        status = REDSHIFT_STATUS.get(cluster.status, Status.WARN)
        if cluster.availability and cluster.availability.lower() not in ("available",):
            status = worst([status, Status.CRIT if cluster.availability.lower() == "failed" else Status.WARN])
        statuses.append(status)
        parts.append(
            f"{cluster.identifier}: {cluster.status}" + (f" ({cluster.availability})" if cluster.availability else "")
        )
        details.update(
            identifier=cluster.identifier,
            status=cluster.status,
            availability=cluster.availability,
            nodes=cluster.node_count,
            endpoint=cluster.endpoint,
        )
    # A cluster AWS calls available can still refuse the bot's connection: try one query.
    if ctx.clients.warehouse is not None:
        try:
            ctx.clients.warehouse.query("SELECT 1")
            details["connect"] = "ok"
            parts.append("accepts connections")
            statuses.append(Status.OK)
        except BackendError as exc:
            details["connect"] = str(exc)
            statuses.append(Status.CRIT)
            findings.append(Finding(status=Status.CRIT, text=str(exc)))
            parts.append("refuses connections")
    return CheckResult(
        name="redshift_cluster",
        status=worst(statuses) if statuses else Status.UNKNOWN,
        summary=", ".join(parts),
        details=details,
        findings=findings,
    )


@check("alarms")
def alarms(ctx: CheckContext) -> CheckResult:
    wanted = ctx.pipeline.alarms
    found = ctx.clients.aws.describe_alarms(wanted)
    now = ctx.now()
    by_name = {a.name: a for a in found}
    findings: list[Finding] = []
    statuses: list[Status] = [Status.OK]
    firing = []
    for name in wanted:
        alarm = by_name.get(name)
        if alarm is None:
            statuses.append(Status.WARN)
            findings.append(
                Finding(status=Status.WARN, text=f"{name}: alarm does not exist (`/cdc alarms ensure` creates it)")
            )
            continue
        since = f" since {format_duration(now - alarm.updated_at)} ago" if alarm.updated_at else ""
        if alarm.state == "ALARM":
            firing.append(name)
            statuses.append(Status.CRIT)
            findings.append(Finding(status=Status.CRIT, text=f"{name} in ALARM{since}: {alarm.reason}"))
        elif alarm.state == "INSUFFICIENT_DATA":
            statuses.append(Status.WARN)
            findings.append(Finding(status=Status.WARN, text=f"{name}: insufficient data{since}"))
    details = {
        "alarms": [
            {
                "name": a.name,
                "state": a.state,
                "reason": a.reason,
                "updated_at": a.updated_at.isoformat() if a.updated_at else None,
                "metric": a.metric,
                "threshold": a.threshold,
            }
            for a in found
        ]
    }
    if firing:
        summary = f"{plural(len(firing), 'alarm')} in ALARM: {', '.join(firing)}"
    else:
        ok = sum(1 for a in found if a.state == "OK")
        summary = f"{ok} of {plural(len(wanted), 'alarm')} OK"
    return CheckResult(name="alarms", status=worst(statuses), summary=summary, details=details, findings=findings)
