"""The weekly performance, capacity and backup-verification reports as `ReportView`s, and where the
scheduled-report renderers have always been found.

Pure, like the other renderers. Each report becomes a `ReportView` (bot.render.report_view), then one
`Message`, then Block Kit for Slack or text for the terminal. The security and DR reviews are in
`bot.render.reviews`, the nightly backup and alarms results in `bot.render.jobs`; both are re-exported
here for the callers that import them from this module.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.checks.base import plural
from bot.core.durations import format_duration
from bot.core.results import Status, worst
from bot.render.format import fmt_int, format_size, format_table
from bot.render.jobs import backup_run_lines, render_alarms_ensure, render_backup_failure, render_schedule
from bot.render.report_view import (
    ReportButton,
    ReportFile,
    ReportMessage,
    ReportSection,
    ReportView,
    late_notice,
    render_report_view,
    report_view_message,
    report_view_text,
)
from bot.render.reviews import ROTATE_CREDENTIALS_ACTION_ID, dr_view, security_view
from bot.render.views_common import LIST_CAP, capped, day_label, percent, short_table
from bot.reports.backup_check import BackupsReport, PipelineBackups
from bot.reports.capacity import DAYS_LEFT_WARN, CapacityReport, PipelineCapacity
from bot.reports.performance import (
    BASELINE_LATENCY_SECONDS,
    BASELINE_RECORDS_PER_SECOND,
    PerformanceReport,
    PipelinePerformance,
)

__all__ = [
    "ROTATE_CREDENTIALS_ACTION_ID",
    "ReportButton",
    "ReportFile",
    "ReportMessage",
    "ReportSection",
    "ReportView",
    "backup_run_lines",
    "backups_view",
    "capacity_view",
    "dr_view",
    "late_notice",
    "performance_view",
    "render_alarms_ensure",
    "render_backup_failure",
    "render_report_view",
    "render_schedule",
    "report_view_message",
    "report_view_text",
    "security_view",
]


# --- Monday: performance ------------------------------------------------------------------------------


def _performance_sections(item: PipelinePerformance) -> list[ReportSection]:
    if item.error:
        return [ReportSection(f"Pipeline `{item.pipeline}`", Status.UNKNOWN, [f"Not measured: {item.error}"])]
    sections = []
    rows = []
    problems = []
    for t in item.tables:
        if t.error:
            problems.append(f"{t.table}: {t.error}")
            continue
        days = len(t.days)
        change = percent(t.change) if t.change is not None else "n/a"
        rows.append(
            [
                short_table(t.table),
                fmt_int(t.this_week),
                fmt_int(t.previous_week or 0),
                change,
                fmt_int(round(t.this_week / days)) if days else "0",
                format_duration(t.newest_age_seconds) if t.newest_age_seconds is not None else "empty",
            ]
        )
    table = format_table(
        ["table", "7 days", "week before", "change", "per day", "newest row"], rows, right=(1, 2, 3, 4, 5)
    )
    status = Status.UNKNOWN if problems else Status.OK
    sections.append(ReportSection(f"Pipeline `{item.pipeline}`: events per table", status, problems, table))
    # Day by day, as the runbook's query returns it: events per table, and its avg_lag_seconds.
    all_days = sorted({d.day for t in item.tables for d in t.days})
    if all_days:
        names = [short_table(t.table) for t in item.tables if not t.error]
        by_table = {short_table(t.table): {d.day: d for d in t.days} for t in item.tables if not t.error}
        daily = []
        for day in all_days:
            cells = [day_label(day)]
            ages: list[tuple[int, float]] = []
            for name in names:
                stat = by_table[name].get(day)
                cells.append(fmt_int(stat.events) if stat else "0")
                if stat and stat.avg_lag_seconds is not None:
                    ages.append((stat.events, stat.avg_lag_seconds))
            weight = sum(n for n, _ in ages)
            cells.append(format_duration(sum(n * a for n, a in ages) / weight) if weight else "")
            daily.append(cells)
        sections.append(
            ReportSection(
                "Per day (the runbook's weekly-performance.sql)",
                None,
                [],
                format_table(["day", *names, "avg age"], daily, right=range(1, len(names) + 2)),
                "avg age is the runbook's avg_lag_seconds: how old the day's rows are now, not how long they took",
            )
        )
    lines = []
    busiest = item.busiest_day
    if busiest:
        rate = busiest[1] / 86400
        lines.append(
            f"Throughput: busiest day {day_label(busiest[0])}, {fmt_int(busiest[1])} events = {rate:,.2f} records/s "
            f"on average (baseline {fmt_int(BASELINE_RECORDS_PER_SECOND)} records/s: "
            f"{rate / BASELINE_RECORDS_PER_SECOND:.2%} of it)"
        )
    age = item.worst_newest_age
    if age is not None:
        verdict = "within" if age < BASELINE_LATENCY_SECONDS else "above"
        lines.append(
            f"Latency: newest staging row {format_duration(age)} old at worst, {verdict} the baseline "
            f"(< {BASELINE_LATENCY_SECONDS:g} s end-to-end)"
        )
    if lines:
        sections.append(
            ReportSection(
                "Against the baseline",
                None,
                lines,
                note="The staging tables carry no source timestamp: the newest row's age is the nearest measure "
                "of end-to-end latency they allow",
            )
        )
    return sections


def performance_view(report: PerformanceReport, chart: bytes | None = None) -> ReportView:
    sections = [s for item in report.pipelines for s in _performance_sections(item)]
    statuses = [s.status for s in sections if s.status is not None]
    status = Status.UNKNOWN if Status.UNKNOWN in statuses else Status.OK
    totals = []
    for item in report.pipelines:
        week = sum(t.this_week for t in item.tables if not t.error)
        before = sum(t.previous_week or 0 for t in item.tables if not t.error)
        change = f" ({percent((week - before) / before)} week over week)" if before else ""
        totals.append(f"{item.pipeline}: {fmt_int(week)} events in 7 days{change}")
    files = []
    if chart is not None:
        stamp = f"{report.generated_at:%Y%m%d}"
        files.append(ReportFile(f"weekly-performance-{stamp}.png", "Events per day, last 7 days", chart, kind="image"))
    return ReportView(
        kind="weekly-performance",
        title="Weekly performance review",
        status=status,
        generated_at=report.generated_at,
        sections=sections,
        summary="; ".join(totals) or "no pipelines",
        late_by=report.late_by,
        files=files,
    )


# --- Wednesday: capacity --------------------------------------------------------------------------------


def _capacity_sections(item: PipelineCapacity, now: datetime) -> list[ReportSection]:
    sections = []
    if item.disk_error:
        sections.append(ReportSection(f"Pipeline `{item.pipeline}`: broker disk", Status.UNKNOWN, [item.disk_error]))
    else:
        rows = []
        lines = []
        for broker in item.brokers:
            if broker.latest is None:
                lines.append(f"Broker {broker.broker_id}: no KafkaDataLogsDiskUsed data in the last 7 days")
                rows.append([broker.broker_id, "", "", "", "no data"])
                continue
            trend = broker.trend_per_day
            left = broker.days_left
            full = "not growing" if left is None else f"{left:.0f} days (~{now + timedelta(days=left):%d %b})"
            rows.append(
                [
                    broker.broker_id,
                    " ".join(f"{v:.0f}" for _, v in broker.daily),
                    f"{broker.latest:.1f}%",
                    f"{trend:+.2f} pt/day" if trend is not None else "n/a",
                    full,
                ]
            )
            if left is not None and left < DAYS_LEFT_WARN:
                lines.append(f"Broker {broker.broker_id} is full in {left:.0f} days at this rate")
        table = format_table(["broker", "daily avg % (7 days)", "latest", "trend", "full in"], rows, right=(2, 3))
        sections.append(
            ReportSection(
                f"Pipeline `{item.pipeline}`: broker disk ({item.cluster_name})",
                item.status,
                lines,
                table,
                "KafkaDataLogsDiskUsed, AWS/Kafka, daily averages per `Cluster Name` + `Broker ID`; "
                "least-squares trend; full in = (100% − latest) ÷ trend",
            )
        )
    if item.growth_error:
        sections.append(ReportSection("Topic growth", Status.UNKNOWN, [item.growth_error]))
        return sections
    basis = item.growth_basis
    if basis is None or not item.growth_days:
        lines = [f"{g.topic}: {fmt_int(g.end_now)} records so far" for g in item.growth if g.end_now is not None]
        sections.append(
            ReportSection(
                "Topic growth",
                None,
                lines,
                note="No offsets backup a day old or more yet: growth needs one nightly backup to compare with",
            )
        )
        return sections
    rows = []
    for g in item.growth:
        if g.end_now is None:
            rows.append([g.topic, "", "", "topic missing"])
        elif g.records is None:
            rows.append([g.topic, fmt_int(g.end_now), "", "new since the backup"])
        else:
            rows.append([g.topic, fmt_int(g.end_now), fmt_int(g.records), fmt_int(round(g.records / item.growth_days))])
    sections.append(
        ReportSection(
            "Topic growth (records)",
            None,
            [],
            format_table(["topic", "records now", "added", "per day"], rows, right=(1, 2, 3)),
            f"Estimated from end-offset deltas: now vs. {basis.key} (taken {basis.taken_at:%Y-%m-%d %H:%M} UTC, "
            f"{item.growth_days:.1f} days ago). Records, not bytes: the Kafka client has no DescribeLogDirs",
        )
    )
    return sections


def capacity_view(report: CapacityReport) -> ReportView:
    sections = [s for item in report.pipelines for s in _capacity_sections(item, report.generated_at)]
    summary = []
    for item in report.pipelines:
        lefts = [b.days_left for b in item.brokers if b.days_left is not None]
        if item.disk_error:
            summary.append(f"{item.pipeline}: disk unknown")
        elif lefts:
            summary.append(f"{item.pipeline}: disk full in {min(lefts):.0f} days at the current rate")
        else:
            summary.append(f"{item.pipeline}: disk use not growing")
    return ReportView(
        kind="capacity",
        title="Capacity planning",
        status=report.status,
        generated_at=report.generated_at,
        sections=sections,
        summary="; ".join(summary),
        late_by=report.late_by,
    )


# --- Friday: backups ----------------------------------------------------------------------------------


def _backups_sections(item: PipelineBackups, now: datetime) -> list[ReportSection]:
    sections = []
    where = f"s3://{item.bucket}/{item.prefix}"
    if item.listing_error:
        title = f"Pipeline `{item.pipeline}`: today's backups"
        sections.append(ReportSection(title, Status.UNKNOWN, [item.listing_error]))
    else:
        rows = []
        for obj in item.objects:
            age = obj.age(now)
            rows.append(
                [
                    obj.key.removeprefix(item.prefix),
                    "present" if obj.present else "MISSING",
                    format_size(obj.size),
                    format_duration(age) if age is not None else "",
                ]
            )
        missing = [o.key for o in item.objects if not o.present]
        lines = [f"Missing: {where}{k.removeprefix(item.prefix)}" for k in missing]
        lines += [f"Empty: {o.key}" for o in item.objects if o.present and not o.size]
        sections.append(
            ReportSection(
                f"Pipeline `{item.pipeline}`: backups for {item.day:%Y-%m-%d} in {where}",
                worst([o.status for o in item.objects]),
                lines,
                format_table(["object", "state", "size", "age"], rows, right=(2, 3)),
            )
        )
    if item.restore_error:
        sections.append(ReportSection("Dry-run restore", Status.WARN, [f"Not possible: {item.restore_error}"]))
        return sections
    restore = item.restore
    if restore is None:
        return sections
    lines = [
        f"Backup {restore.topics_key} (taken {restore.taken_at:%Y-%m-%d %H:%M} UTC): {restore.backup_topics} topics"
    ]
    if restore.would_create:
        lines.append(f"A restore would create {plural(len(restore.would_create), 'missing topic')}:")
        lines += capped(
            [
                f"  {t.name}: {t.partitions} partitions, replication {t.replication_factor}"
                + (f", {plural(len(t.configs), 'config')}" if t.configs else "")
                for t in restore.would_create
            ],
            noun="topics",
        )
    else:
        lines.append("A restore would create nothing: every topic in the backup exists")
    lines.append(f"{plural(restore.unchanged, 'topic')} exist{'s' if restore.unchanged == 1 else ''} as backed up")
    for diff in restore.different[:LIST_CAP]:
        lines.append(
            f"{diff.name} differs (left alone by a restore): backup {diff.backup.partitions} partitions × "
            f"{diff.backup.replication_factor}, now {diff.live.partitions} × {diff.live.replication_factor}"
        )
    if restore.offsets_key:
        lines.append(
            f"Offsets {restore.offsets_key}: {restore.groups_in_backup} groups, {restore.groups_present} exist now"
            + (f"; missing now: {', '.join(restore.groups_missing[:LIST_CAP])}" if restore.groups_missing else "")
        )
    else:
        lines.append("No offsets backup to compare consumer groups with")
    sections.append(
        ReportSection(
            "Dry-run restore (nothing changed)",
            None,
            lines,
            note="`/cdc action recreate-topics YYYY-MM-DD` does the topic part, after an approval",
        )
    )
    return sections


def backups_view(report: BackupsReport) -> ReportView:
    sections = [s for item in report.pipelines for s in _backups_sections(item, report.generated_at)]
    summary = []
    for item in report.pipelines:
        present = sum(1 for o in item.objects if o.present)
        text = f"{item.pipeline}: {present}/{len(item.objects)} of today's backup objects present"
        if item.restore and item.restore.would_create:
            text += f", a restore would create {len(item.restore.would_create)} topics"
        summary.append(text)
    return ReportView(
        kind="backups",
        title="Backup verification",
        status=report.status,
        generated_at=report.generated_at,
        sections=sections,
        summary="; ".join(summary),
        late_by=report.late_by,
    )
