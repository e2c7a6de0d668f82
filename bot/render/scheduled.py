"""The weekly, monthly and backup reports, the nightly backup and `/cdc alarms ensure`, rendered.

Pure, like the other renderers. Each report is first turned into a `ReportView` (sections of lines
and fixed-width tables, buttons, files), which then becomes Block Kit for Slack or plain text for
the terminal, so `/cdc report KIND`, the scheduled post and `cdc-bot report KIND` say the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, DividerBlock, PlainTextObject

from bot.alarms.runbook_alarms import EnsureResult
from bot.backups.nightly import BackupRun
from bot.checks.base import plural
from bot.core.durations import format_duration
from bot.core.results import Status, worst
from bot.render.slack import (
    MAX_BLOCKS,
    SECTION_TEXT_MAX,
    SlackMessage,
    _context,
    _header,
    _message,
    _section,
    escape,
    fit_code_table,
    fit_lines,
)
from bot.render.text import fmt_int, format_clock, format_table, format_timestamp, zone
from bot.reports.backup_check import BackupsReport, PipelineBackups
from bot.reports.capacity import DAYS_LEFT_WARN, CapacityReport, PipelineCapacity
from bot.reports.dr import DrReport
from bot.reports.performance import (
    BASELINE_LATENCY_SECONDS,
    BASELINE_RECORDS_PER_SECOND,
    PerformanceReport,
    PipelinePerformance,
)
from bot.reports.security import PipelineSecurity, SecurityReport

ROTATE_CREDENTIALS_ACTION_ID = "request_rotate_credentials"
# Lines of one list shown before "…and N more": a report is a summary, the details are a command away.
LIST_CAP = 10


@dataclass(frozen=True)
class ReportFile:
    filename: str
    title: str
    content: bytes


@dataclass(frozen=True)
class ReportButton:
    action_id: str
    text: str
    value: str
    style: str | None = None


@dataclass
class Section:
    title: str
    status: Status | None = None
    lines: list[str] = field(default_factory=list)
    table: list[str] | None = None
    note: str | None = None


@dataclass
class ReportView:
    kind: str
    title: str
    status: Status
    generated_at: datetime
    sections: list[Section]
    summary: str
    late_by: timedelta | None = None
    buttons: list[ReportButton] = field(default_factory=list)
    files: list[ReportFile] = field(default_factory=list)


@dataclass(frozen=True)
class ReportMessage:
    """A Slack message plus files that go into its thread (charts)."""

    message: SlackMessage
    files: list[ReportFile] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def blocks(self) -> list[dict[str, object]]:
        return self.message.blocks


# --- shared helpers ---------------------------------------------------------------------------------


def _short(table: str) -> str:
    return table.rsplit(".", 1)[-1]


def _day(value: date) -> str:
    return f"{value:%a %d %b}"


def _pct(value: float) -> str:
    return f"{value:+.1%}"


def _capped(lines: Sequence[str], cap: int = LIST_CAP, noun: str = "") -> list[str]:
    shown = list(lines[:cap])
    if len(lines) > cap:
        shown.append(f"…and {len(lines) - cap} more{' ' + noun if noun else ''}")
    return shown


def late_notice(late_by: timedelta | None) -> str | None:
    if late_by is None:
        return None
    return f"Posted {format_duration(late_by)} late: the bot was not running at the scheduled time."


# --- Monday: performance ------------------------------------------------------------------------------


def _performance_sections(item: PipelinePerformance) -> list[Section]:
    if item.error:
        return [Section(f"Pipeline `{item.pipeline}`", Status.UNKNOWN, [f"Not measured: {item.error}"])]
    sections = []
    rows = []
    problems = []
    for t in item.tables:
        if t.error:
            problems.append(f"{t.table}: {t.error}")
            continue
        days = len(t.days)
        change = _pct(t.change) if t.change is not None else "n/a"
        rows.append(
            [
                _short(t.table),
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
    sections.append(Section(f"Pipeline `{item.pipeline}`: events per table", status, problems, table))
    # Day by day, as the runbook's query returns it: events per table, and its avg_lag_seconds.
    all_days = sorted({d.day for t in item.tables for d in t.days})
    if all_days:
        names = [_short(t.table) for t in item.tables if not t.error]
        by_table = {_short(t.table): {d.day: d for d in t.days} for t in item.tables if not t.error}
        daily = []
        for day in all_days:
            cells = [_day(day)]
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
            Section(
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
            f"Throughput: busiest day {_day(busiest[0])}, {fmt_int(busiest[1])} events = {rate:,.2f} records/s "
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
            Section(
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
        change = f" ({_pct((week - before) / before)} week over week)" if before else ""
        totals.append(f"{item.pipeline}: {fmt_int(week)} events in 7 days{change}")
    files = []
    if chart is not None:
        stamp = f"{report.generated_at:%Y%m%d}"
        files.append(ReportFile(f"weekly-performance-{stamp}.png", "Events per day, last 7 days", chart))
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


def _capacity_sections(item: PipelineCapacity, now: datetime) -> list[Section]:
    sections = []
    if item.disk_error:
        sections.append(Section(f"Pipeline `{item.pipeline}`: broker disk", Status.UNKNOWN, [item.disk_error]))
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
            Section(
                f"Pipeline `{item.pipeline}`: broker disk ({item.cluster_name})",
                item.status,
                lines,
                table,
                "KafkaDataLogsDiskUsed, AWS/Kafka, daily averages per `Cluster Name` + `Broker ID`; "
                "least-squares trend; full in = (100% − latest) ÷ trend",
            )
        )
    if item.growth_error:
        sections.append(Section("Topic growth", Status.UNKNOWN, [item.growth_error]))
        return sections
    basis = item.growth_basis
    if basis is None or not item.growth_days:
        lines = [f"{g.topic}: {fmt_int(g.end_now)} records so far" for g in item.growth if g.end_now is not None]
        sections.append(
            Section(
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
        Section(
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


def _size(value: int | None) -> str:
    if value is None:
        return ""
    if value < 1024:
        return f"{value} B"
    return f"{value / 1024:.1f} KiB" if value < 1024 * 1024 else f"{value / 1024 / 1024:.1f} MiB"


def _backups_sections(item: PipelineBackups, now: datetime) -> list[Section]:
    sections = []
    where = f"s3://{item.bucket}/{item.prefix}"
    if item.listing_error:
        sections.append(Section(f"Pipeline `{item.pipeline}`: today's backups", Status.UNKNOWN, [item.listing_error]))
    else:
        rows = []
        for obj in item.objects:
            age = obj.age(now)
            rows.append(
                [
                    obj.key.removeprefix(item.prefix),
                    "present" if obj.present else "MISSING",
                    _size(obj.size),
                    format_duration(age) if age is not None else "",
                ]
            )
        missing = [o.key for o in item.objects if not o.present]
        lines = [f"Missing: {where}{k.removeprefix(item.prefix)}" for k in missing]
        lines += [f"Empty: {o.key}" for o in item.objects if o.present and not o.size]
        sections.append(
            Section(
                f"Pipeline `{item.pipeline}`: backups for {item.day:%Y-%m-%d} in {where}",
                worst([o.status for o in item.objects]),
                lines,
                format_table(["object", "state", "size", "age"], rows, right=(2, 3)),
            )
        )
    if item.restore_error:
        sections.append(Section("Dry-run restore", Status.WARN, [f"Not possible: {item.restore_error}"]))
        return sections
    restore = item.restore
    if restore is None:
        return sections
    lines = [
        f"Backup {restore.topics_key} (taken {restore.taken_at:%Y-%m-%d %H:%M} UTC): {restore.backup_topics} topics"
    ]
    if restore.would_create:
        lines.append(f"A restore would create {plural(len(restore.would_create), 'missing topic')}:")
        lines += _capped(
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
        Section(
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


# --- first Monday: security -----------------------------------------------------------------------------


def _security_sections(item: PipelineSecurity, now: datetime, tz: str) -> list[Section]:
    sections = []
    policies = item.policies
    if policies.error:
        sections.append(Section(f"Pipeline `{item.pipeline}`: IAM policies", Status.UNKNOWN, [policies.error]))
    else:
        lines = [f"{f.role}/{f.policy} {f.statement}: {f.problem}" for f in policies.findings]
        lines = _capped(lines, noun="findings") + [f"Not found: {m}" for m in policies.missing]
        if not lines:
            lines = ["No wildcard action or resource"]
        status = Status.WARN if policies.findings or policies.missing else Status.OK
        inspected = ", ".join(policies.inspected) or "none"
        sections.append(
            Section(f"Pipeline `{item.pipeline}`: IAM policies", status, lines, note=f"Inspected: {inspected}")
        )
    resources = item.resources
    if resources.error:
        sections.append(Section("Unused resources", Status.UNKNOWN, [resources.error]))
    else:
        lines = [f"{r.arn}: LastUsed {r.last_used} ({r.age_days} days ago)" for r in resources.unused]
        lines = _capped(lines, noun="resources")
        lines += [f"{r.arn}: LastUsed {r.last_used!r} is not a date" for r in resources.unreadable[:LIST_CAP]]
        if not lines:
            lines = ["None unused"]
        note = f"{resources.total} resources tagged {resources.tag}; unused = LastUsed older than " + format_duration(
            item.unused_after
        )
        if resources.untagged:
            note += f"; {plural(len(resources.untagged), 'resource')} without a LastUsed tag"
        sections.append(Section("Unused resources", Status.WARN if resources.unused else Status.OK, lines, note=note))
    creds = item.credentials
    title = f"Credentials: Secret {creds.namespace}/{creds.secret}"
    if creds.error:
        sections.append(Section(title, Status.UNKNOWN, [creds.error]))
    elif not creds.found:
        sections.append(Section(title, Status.WARN, ["Secret not found (`kubernetes.credentials_secret`)"]))
    else:
        age = creds.age(now)
        since = "last rotated by cdc-bot" if creds.rotated else "created"
        when = format_timestamp(creds.since, tz) if creds.since else "unknown"
        text = f"{since} {when}" + (f", {format_duration(age)} ago" if age is not None else "")
        due = creds.due(now)
        verdict = "Rotation due" if due else "Rotated recently enough"
        line = f"{verdict}: {text} (rotate every {format_duration(creds.max_age)})"
        sections.append(Section(title, Status.WARN if due else Status.OK, [line]))
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
        section = Section(
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
        sections.append(Section("Could not read", Status.UNKNOWN, _capped(errors)))
    for area, title in AREA_TITLES.items():
        diffs = [d for d in report.differences if d.area == area]
        if not diffs:
            continue
        rows = [[d.subject, d.primary, d.secondary] for d in diffs]
        hidden = max(0, len(rows) - 3 * LIST_CAP)
        table = format_table([area.rstrip("s") if area != "rows" else "table", a, b], rows[: 3 * LIST_CAP])
        if hidden:
            table.append(f"…and {hidden} more")
        sections.append(Section(title, Status.WARN, [], table))
    same = [t for t in AREA_TITLES if not any(d.area == t for d in report.differences)]
    if same:
        sections.append(Section("The same on both sides", Status.OK, [", ".join(AREA_TITLES[t] for t in same)]))
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


# --- Block Kit and text ---------------------------------------------------------------------------------


def _section_text(section: Section) -> str:
    emoji = f"{section.status.emoji} " if section.status is not None else ""
    head = f"{emoji}*{escape(section.title)}*"
    body = fit_lines([escape(line) for line in section.lines], SECTION_TEXT_MAX - len(head) - 1, noun="lines")
    return f"{head}\n{body}" if body else head


def render_report_view(view: ReportView, tz: str = "UTC") -> ReportMessage:
    local = view.generated_at.astimezone(zone(tz))
    blocks: list[Block] = [_header(f"{view.status.emoji} {view.title} · {local:%a %d %b %Y}")]
    notice = late_notice(view.late_by)
    if notice:
        blocks.append(_context(f":hourglass_flowing_sand: {notice}"))
    for index, section in enumerate(view.sections):
        # Room for the buttons and the footer.
        if len(blocks) > MAX_BLOCKS - 6:
            blocks.append(_section(f"…and {len(view.sections) - index} more sections: `cdc-bot report {view.kind}`"))
            break
        blocks.append(DividerBlock())
        blocks.append(_section(_section_text(section)))
        if section.table:
            blocks.append(_section(fit_code_table([escape(r) for r in section.table], SECTION_TEXT_MAX)))
        if section.note:
            blocks.append(_context(escape(section.note)))
    # One actions block per button: an action_id must be unique only within its block, so every
    # pipeline's button keeps the same action_id (one listener) and carries the pipeline as its value.
    for button in view.buttons:
        element = ButtonElement(
            text=PlainTextObject(text=button.text[:75], emoji=True),
            action_id=button.action_id,
            value=button.value,
            style=button.style,
        )
        blocks.append(ActionsBlock(elements=[element]))
    footer = f"Generated {format_clock(view.generated_at, tz)} · `/cdc report {view.kind}` for a fresh run"
    if view.files:
        footer += " · chart in the thread"
    blocks.append(_context(footer))
    fallback = f"{view.title}: {view.status.value}. {view.summary}"
    return ReportMessage(_message(fallback, blocks), list(view.files))


def report_view_text(view: ReportView, tz: str = "UTC") -> str:
    local = view.generated_at.astimezone(zone(tz))
    out = [f"{view.title} · {local:%a %d %b %Y}: {view.status.value}", view.summary]
    notice = late_notice(view.late_by)
    if notice:
        out.append(notice)
    for section in view.sections:
        status = f" [{section.status.value}]" if section.status is not None else ""
        out.append("")
        out.append(f"{section.title.replace('`', '')}{status}")
        out += [f"  {line}" for line in section.lines]
        out += [f"  {row}" for row in section.table or []]
        if section.note:
            out.append(f"  ({section.note.replace('`', '')})")
    for button in view.buttons:
        out.append(f"\n[{button.text}] (in Slack)")
    for file in view.files:
        out.append(f"\nChart: {file.filename} ({len(file.content):,} bytes; posted in the thread in Slack)")
    return "\n".join(out)


# --- the nightly backup and /cdc alarms ensure ----------------------------------------------------------


def backup_run_lines(run: BackupRun) -> list[str]:
    where = f"s3://{run.bucket}/"
    if run.error:
        lines = [f"{run.pipeline}: backup for {run.day:%Y-%m-%d} FAILED: {run.error}"]
        if run.topics_key:
            lines.append(f"  written before the failure: {where}{run.topics_key}")
        return lines
    lines = [
        f"{run.pipeline}: backup for {run.day:%Y-%m-%d} written",
        f"  {where}{run.topics_key} ({_size(run.topics_size)}): {run.topics} topics",
        f"  {where}{run.offsets_key} ({_size(run.offsets_size)}): {run.groups} groups, {run.partitions} partitions",
    ]
    lines += [f"  note: {n}" for n in run.notes]
    return lines


def render_backup_failure(runs: Sequence[BackupRun]) -> SlackMessage:
    lines = [escape(line) for run in runs for line in backup_run_lines(run)]
    blocks: list[Block] = [
        _section(f"{Status.CRIT.emoji} *Nightly backup failed*\n```\n" + "\n".join(lines)[:2800] + "\n```"),
        _context("`cdc-bot backup` runs it again; Friday's verification checks it"),
    ]
    return _message("Nightly backup failed: " + "; ".join(lines)[:300], blocks)


def render_alarms_ensure(results: Sequence[EnsureResult]) -> SlackMessage:
    lines = []
    for result in results:
        if result.created:
            lines.append(f":large_green_circle: `{result.pipeline}`: created {', '.join(result.created)}")
        if result.existing:
            lines.append(f"`{result.pipeline}`: already there, left as they are: {', '.join(result.existing)}")
        lines += [f":large_yellow_circle: {escape(d)}" for d in result.drift]
    text = fit_lines(lines or ["Nothing to do"], SECTION_TEXT_MAX)
    blocks: list[Block] = [
        _section("*CloudWatch alarms (the runbook's definitions)*\n" + text),
        _context("Existing alarms are never changed; their state is untouched"),
    ]
    return _message("Alarms: " + "; ".join(lines)[:300], blocks)


def render_schedule(rows: Sequence[Sequence[str]], leader: str, tz: str) -> SlackMessage:
    table = format_table(["job", "schedule", "next run", "last run"], rows)
    blocks: list[Block] = [
        _section(f"*Scheduled jobs* (times in {tz})\n" + fit_code_table(table, SECTION_TEXT_MAX - 60)),
        _context(escape(leader)),
    ]
    return _message("Scheduled jobs: " + ", ".join(r[0] for r in rows), blocks)
