"""data_freshness: the runbook's MAX(kafka_timestamp) per staging table, with dbt-style thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.checks.base import CheckContext, check
from bot.clients.warehouse import QueryError
from bot.core.config import FreshnessRule
from bot.core.durations import format_duration
from bot.core.results import CheckResult, Finding, Status, worst


def freshness_status(age: timedelta, rule: FreshnessRule) -> Status:
    if age > rule.error_after:
        return Status.CRIT
    if age > rule.warn_after:
        return Status.WARN
    return Status.OK


def _aware(value: datetime) -> datetime:
    # Staging tables store kafka_timestamp without a zone, in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def freshness_sql(rule: FreshnessRule) -> str:
    # Identifiers were validated by the config; the database's own clock avoids skew with the bot's.
    return f"SELECT MAX({rule.column}) AS latest_update, CURRENT_TIMESTAMP AS now FROM {rule.table}"


@check("data_freshness")
def data_freshness(ctx: CheckContext) -> CheckResult:
    warehouse = ctx.clients.warehouse
    if warehouse is None:
        return CheckResult(name="data_freshness", status=Status.UNKNOWN, summary="no redshift configured")
    findings: list[Finding] = []
    statuses: list[Status] = []
    tables: list[dict[str, object]] = []
    window = ctx.maintenance()
    paused = window.enabled and not window.overdue(ctx.now())
    for rule in ctx.pipeline.freshness:
        entry: dict[str, object] = {
            "table": rule.table,
            "column": rule.column,
            "warn_after": format_duration(rule.warn_after),
            "error_after": format_duration(rule.error_after),
        }
        try:
            row = warehouse.query(freshness_sql(rule)).rows[0]
        except QueryError as exc:
            # A missing table or column is a finding about the warehouse, not a crash of the check.
            statuses.append(Status.CRIT)
            entry.update(status=Status.CRIT.value, error=str(exc))
            findings.append(Finding(status=Status.CRIT, text=f"{rule.table}: {exc}"))
            tables.append(entry)
            continue
        latest, now = row[0], row[1]
        if latest is None:
            statuses.append(Status.CRIT)
            entry.update(status=Status.CRIT.value, latest_update=None, age_seconds=None)
            findings.append(Finding(status=Status.CRIT, text=f"{rule.table}: empty, no {rule.column} at all"))
            tables.append(entry)
            continue
        age = max(timedelta(0), _aware(now) - _aware(latest))
        status = freshness_status(age, rule)
        if status is not Status.OK and paused:
            # The connector is paused on purpose: staging tables stop moving, and that is expected.
            status = Status.OK
        statuses.append(status)
        entry.update(
            status=status.value, latest_update=_aware(latest).isoformat(), age_seconds=int(age.total_seconds())
        )
        tables.append(entry)
        limit = {
            Status.CRIT: f" (error after {format_duration(rule.error_after)})",
            Status.WARN: f" (warn after {format_duration(rule.warn_after)})",
        }.get(status, "")
        findings.append(Finding(status=status, text=f"{rule.table}: {format_duration(age)} behind{limit}"))
    status = worst(statuses) if statuses else Status.OK
    if paused:
        findings.insert(0, Finding(status=Status.OK, text=f"stale data expected: {window.describe(ctx.now())}"))
    stale = [f for f in findings if f.status is not Status.OK]
    if stale:
        summary = "; ".join(f.text for f in sorted(stale, key=lambda f: -f.status.severity)[:3])
    else:
        ages = [seconds for t in tables if isinstance(seconds := t.get("age_seconds"), int)]
        summary = (
            f"{len(tables)} tables fresh, newest data {format_duration(max(ages))} old at worst"
            if ages
            else "no tables configured"
        )
        if paused and ages:
            summary = f"{len(tables)} tables, data up to {format_duration(max(ages))} old (maintenance: expected)"
    return CheckResult(
        name="data_freshness", status=status, summary=summary, details={"tables": tables}, findings=findings
    )
