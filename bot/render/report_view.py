"""The scheduled reports' shape: titled sections of lines and fixed-width tables, buttons, files.

A feature's report becomes a `ReportView` (bot.render.scheduled, bot.render.reviews), the view becomes
one `Message`, and that message becomes Block Kit for Slack or text for `cdc-bot report KIND`, so
`/cdc report KIND`, the scheduled post and the CLI say the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.durations import format_duration
from bot.core.results import Status
from bot.render.blockkit import MAX_BLOCKS, SlackMessage, to_slack
from bot.render.format import SECTION_TEXT_MAX, fit_code_table, fit_lines, format_clock, zone
from bot.render.message import Actions, Attachment, Button, Context, Divider, Header, Message, Part, Section, escape
from bot.render.text import render_text

# A chart or a file for the report's thread.
ReportFile = Attachment


@dataclass(frozen=True)
class ReportButton:
    action_id: str
    text: str
    value: str
    style: str | None = None


@dataclass
class ReportSection:
    """One titled part of a report; lines and table rows are raw text (the message escapes them)."""

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
    sections: list[ReportSection]
    summary: str
    late_by: timedelta | None = None
    buttons: list[ReportButton] = field(default_factory=list)
    files: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class ReportMessage:
    """A Slack message plus files that go into its thread (charts); `message.message` is the neutral one."""

    message: SlackMessage
    files: list[Attachment] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def blocks(self) -> list[dict[str, object]]:
        return self.message.blocks


def late_notice(late_by: timedelta | None) -> str | None:
    if late_by is None:
        return None
    return f"Posted {format_duration(late_by)} late: the bot was not running at the scheduled time."


def _section_text(section: ReportSection) -> str:
    emoji = f"{section.status.emoji} " if section.status is not None else ""
    head = f"{emoji}*{escape(section.title)}*"
    body = fit_lines([escape(line) for line in section.lines], SECTION_TEXT_MAX - len(head) - 1, noun="lines")
    return f"{head}\n{body}" if body else head


def report_view_message(view: ReportView, tz: str = "UTC") -> Message:
    local = view.generated_at.astimezone(zone(tz))
    parts: list[Part] = [Header(f"{view.title} · {local:%a %d %b %Y}", status=view.status)]
    notice = late_notice(view.late_by)
    if notice:
        parts.append(Context.of(f":hourglass_flowing_sand: {notice}"))
    for index, section in enumerate(view.sections):
        # Room for the buttons and the footer.
        if len(parts) > MAX_BLOCKS - 6:
            parts.append(Section(f"…and {len(view.sections) - index} more sections: `cdc-bot report {view.kind}`"))
            break
        parts.append(Divider())
        parts.append(Section(_section_text(section)))
        if section.table:
            parts.append(Section(fit_code_table([escape(r) for r in section.table], SECTION_TEXT_MAX)))
        if section.note:
            parts.append(Context.of(escape(section.note)))
    # One row per button: an action_id must be unique only within its block, so every pipeline's
    # button keeps the same action_id (one listener) and carries the pipeline as its value.
    parts += [Actions([Button(b.text, b.action_id, b.value, b.style)]) for b in view.buttons]
    footer = f"Generated {format_clock(view.generated_at, tz)} · `/cdc report {view.kind}` for a fresh run"
    if view.files:
        footer += " · chart in the thread"
    parts.append(Context.of(footer))
    return Message(f"{view.title}: {view.status.value}. {view.summary}", parts, list(view.files))


def render_report_view(view: ReportView, tz: str = "UTC") -> ReportMessage:
    message = report_view_message(view, tz)
    return ReportMessage(to_slack(message), list(message.attachments))


def report_view_text(view: ReportView, tz: str = "UTC") -> str:
    return render_text(report_view_message(view, tz))
