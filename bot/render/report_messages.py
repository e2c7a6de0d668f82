"""The scheduled reports by name: build one and render it for Slack or a terminal.

The three doors use this one table: the scheduler (config key `schedules.<kind with _>`),
`/cdc report KIND` and `cdc-bot report KIND`. Report names use hyphens (`weekly-performance`),
config keys underscores (`weekly_performance`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.render.report_view import ReportMessage, ReportView, render_report_view, report_view_text
from bot.render.reviews import dr_view, security_view
from bot.render.scheduled import backups_view, capacity_view, performance_view
from bot.reports.backup_check import build_backups_report
from bot.reports.capacity import build_capacity_report
from bot.reports.dr import build_dr_report
from bot.reports.performance import build_performance_report
from bot.reports.security import build_security_report
from bot.services import Services

Build = Callable[..., Any]
View = Callable[[Any, str, bool], ReportView]


def _performance(report: Any, tz: str, chart: bool) -> ReportView:
    png = None
    if chart:
        from bot.render.charts import performance_chart  # matplotlib is slow to import: only when drawing

        png = performance_chart(report)
    return performance_view(report, png)


@dataclass(frozen=True)
class ReportKind:
    name: str
    build: Build
    view: View | None  # None: the morning report, which has its own renderers


KINDS: dict[str, ReportKind] = {
    kind.name: kind
    for kind in (
        ReportKind("morning", lambda *a, **k: None, None),
        ReportKind("weekly-performance", build_performance_report, _performance),
        ReportKind("capacity", build_capacity_report, lambda r, tz, chart: capacity_view(r)),
        ReportKind("backups", build_backups_report, lambda r, tz, chart: backups_view(r)),
        ReportKind("security", build_security_report, lambda r, tz, chart: security_view(r, tz)),
        ReportKind("dr", build_dr_report, lambda r, tz, chart: dr_view(r)),
    )
}
REPORT_KINDS = tuple(KINDS)


class UnknownReport(LookupError):
    def __init__(self, name: str) -> None:
        import difflib

        close = difflib.get_close_matches(name.replace("_", "-"), REPORT_KINDS, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        super().__init__(f"No report named `{name}`.{hint} Reports: {', '.join(REPORT_KINDS)}.")


def get_kind(name: str) -> ReportKind:
    kind = KINDS.get(name.replace("_", "-").lower())
    if kind is None:
        raise UnknownReport(name)
    return kind


def report_message(
    services: Services, name: str, pipelines: list[str] | None = None, late_by: timedelta | None = None
) -> ReportMessage:
    """What a post of the report carries: the message, and files for its thread."""
    kind = get_kind(name)
    tz = services.config.slack.timezone
    if kind.view is None:
        from bot.render.reports import render_morning_report
        from bot.reports.morning import build_morning_report

        report = build_morning_report(services, pipelines, late_by=late_by)
        return ReportMessage(render_morning_report(report, tz=tz))
    report = kind.build(services, pipelines, late_by=late_by)
    return render_report_view(kind.view(report, tz, True), tz)


def report_text(services: Services, name: str, pipelines: list[str] | None = None) -> str:
    kind = get_kind(name)
    tz = services.config.slack.timezone
    if kind.view is None:
        from bot.render.reports import morning_report_text
        from bot.reports.morning import build_morning_report

        return morning_report_text(build_morning_report(services, pipelines), tz=tz)
    return report_view_text(kind.view(kind.build(services, pipelines), tz, False), tz)
