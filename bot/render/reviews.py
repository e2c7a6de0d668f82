"""The security review (first Monday) and the DR consistency check (mid-month) as `ReportView`s."""

from __future__ import annotations

from datetime import datetime

from bot.checks.base import plural
from bot.core.durations import format_duration
from bot.core.results import Status
from bot.render.format import format_table, format_timestamp
from bot.render.report_view import ReportButton, ReportSection, ReportView
from bot.render.views_common import LIST_CAP, capped
from bot.reports.dr import DrReport
from bot.reports.security import PipelineSecurity, SecurityReport

ROTATE_CREDENTIALS_ACTION_ID = "request_rotate_credentials"


# --- first Monday: security -----------------------------------------------------------------------------


def _security_sections(item: PipelineSecurity, now: datetime, tz: str) -> list[ReportSection]:
    sections = []
    policies = item.policies
    if policies.error:
        sections.append(ReportSection(f"Pipeline `{item.pipeline}`: IAM policies", Status.UNKNOWN, [policies.error]))
    else:
        lines = [f"{f.role}/{f.policy} {f.statement}: {f.problem}" for f in policies.findings]
        lines = capped(lines, noun="findings") + [f"Not found: {m}" for m in policies.missing]
        if not lines:
            lines = ["No wildcard action or resource"]
        status = Status.WARN if policies.findings or policies.missing else Status.OK
        inspected = ", ".join(policies.inspected) or "none"
        sections.append(
            ReportSection(f"Pipeline `{item.pipeline}`: IAM policies", status, lines, note=f"Inspected: {inspected}")
        )
    resources = item.resources
    if resources.error:
        sections.append(ReportSection("Unused resources", Status.UNKNOWN, [resources.error]))
    else:
        lines = [f"{r.arn}: LastUsed {r.last_used} ({r.age_days} days ago)" for r in resources.unused]
        lines = capped(lines, noun="resources")
        lines += [f"{r.arn}: LastUsed {r.last_used!r} is not a date" for r in resources.unreadable[:LIST_CAP]]
        if not lines:
            lines = ["None unused"]
        note = f"{resources.total} resources tagged {resources.tag}; unused = LastUsed older than " + format_duration(
            item.unused_after
        )
        if resources.untagged:
            note += f"; {plural(len(resources.untagged), 'resource')} without a LastUsed tag"
        status = Status.WARN if resources.unused else Status.OK
        sections.append(ReportSection("Unused resources", status, lines, note=note))
    creds = item.credentials
    title = f"Credentials: Secret {creds.namespace}/{creds.secret}"
    if creds.error:
        sections.append(ReportSection(title, Status.UNKNOWN, [creds.error]))
    elif not creds.found:
        sections.append(ReportSection(title, Status.WARN, ["Secret not found (`kubernetes.credentials_secret`)"]))
    else:
        age = creds.age(now)
        since = "last rotated by cdc-bot" if creds.rotated else "created"
        when = format_timestamp(creds.since, tz) if creds.since else "unknown"
        text = f"{since} {when}" + (f", {format_duration(age)} ago" if age is not None else "")
        due = creds.due(now)
        verdict = "Rotation due" if due else "Rotated recently enough"
        line = f"{verdict}: {text} (rotate every {format_duration(creds.max_age)})"
        sections.append(ReportSection(title, Status.WARN if due else Status.OK, [line]))
    return sections


def security_view(report: SecurityReport, tz: str = "UTC") -> ReportView:
    now = report.generated_at
    sections = [s for item in report.pipelines for s in _security_sections(item, now, tz)]
    buttons = [
        ReportButton(
            ROTATE_CREDENTIALS_ACTION_ID,
            f"Request rotate-credentials ({item.pipeline})"
            if len(report.pipelines) > 1
            else "Request rotate-credentials",
            item.pipeline,
            "primary" if item.credentials.due(now) else None,
        )
        for item in report.pipelines
        if item.credentials.found and not item.credentials.error
    ]
    summary = []
    for item in report.pipelines:
        parts = [f"{len(item.policies.findings)} wildcard findings", f"{len(item.resources.unused)} unused resources"]
        if item.credentials.due(now):
            parts.append("credentials rotation due")
        summary.append(f"{item.pipeline}: " + ", ".join(parts))
    return ReportView(
        kind="security",
        title="Security review",
        status=report.status,
        generated_at=now,
        sections=sections,
        summary="; ".join(summary),
        late_by=report.late_by,
        buttons=buttons[:5],
    )


# --- mid-month: DR ------------------------------------------------------------------------------------


AREA_TITLES = {
    "topics": "Topics",
    "partitions": "Partitions",
    "records": "Records written (sum of end offsets)",
    "groups": "Consumer group positions (sum of committed offsets)",
    "rows": "Staging row counts",
}


def dr_view(report: DrReport) -> ReportView:
    if report.not_configured or report.primary is None or report.secondary is None:
        section = ReportSection(
            "Not configured",
            Status.UNKNOWN,
            ["Set `dr: {primary: PIPELINE, secondary: PIPELINE}` in the config, or name two pipelines"],
        )
        return ReportView(
            kind="dr",
            title="DR consistency check",
            status=Status.UNKNOWN,
            generated_at=report.generated_at,
            sections=[section],
            summary="DR check not configured",
            late_by=report.late_by,
        )
    a, b = report.primary.pipeline, report.secondary.pipeline
    sections = []
    errors = [f"{s.pipeline}: {e}" for s in (report.primary, report.secondary) for e in s.errors]
    if errors:
        sections.append(ReportSection("Could not read", Status.UNKNOWN, capped(errors)))
    for area, title in AREA_TITLES.items():
        diffs = [d for d in report.differences if d.area == area]
        if not diffs:
            continue
        rows = [[d.subject, d.primary, d.secondary] for d in diffs]
        hidden = max(0, len(rows) - 3 * LIST_CAP)
        table = format_table([area.rstrip("s") if area != "rows" else "table", a, b], rows[: 3 * LIST_CAP])
        if hidden:
            table.append(f"…and {hidden} more")
        sections.append(ReportSection(title, Status.WARN, [], table))
    same = [t for t in AREA_TITLES if not any(d.area == t for d in report.differences)]
    if same:
        sections.append(ReportSection("The same on both sides", Status.OK, [", ".join(AREA_TITLES[t] for t in same)]))
    count = len(report.differences)
    summary = f"{a} vs {b}: " + (f"{count} differences" if count else "no differences")
    return ReportView(
        kind="dr",
        title=f"DR consistency check: {a} vs {b}",
        status=report.status,
        generated_at=report.generated_at,
        sections=sections,
        summary=summary,
        late_by=report.late_by,
    )
