"""Job results: the nightly backup (its lines and its failure post), `/cdc alarms ensure`, `/cdc schedule`."""

from __future__ import annotations

from collections.abc import Sequence

from bot.alarms.runbook_alarms import EnsureResult
from bot.backups.nightly import BackupRun
from bot.core.results import Status
from bot.render.blockkit import SlackMessage, to_slack_message
from bot.render.format import SECTION_TEXT_MAX, fit_code_table, fit_lines, format_size, format_table
from bot.render.message import Context, Part, Section, escape


def backup_run_lines(run: BackupRun) -> list[str]:
    where = f"s3://{run.bucket}/"
    if run.error:
        lines = [f"{run.pipeline}: backup for {run.day:%Y-%m-%d} FAILED: {run.error}"]
        if run.topics_key:
            lines.append(f"  written before the failure: {where}{run.topics_key}")
        return lines
    lines = [
        f"{run.pipeline}: backup for {run.day:%Y-%m-%d} written",
        f"  {where}{run.topics_key} ({format_size(run.topics_size)}): {run.topics} topics",
        f"  {where}{run.offsets_key} ({format_size(run.offsets_size)}): "
        f"{run.groups} groups, {run.partitions} partitions",
    ]
    lines += [f"  note: {n}" for n in run.notes]
    return lines


def render_backup_failure(runs: Sequence[BackupRun]) -> SlackMessage:
    lines = [escape(line) for run in runs for line in backup_run_lines(run)]
    parts: list[Part] = [
        Section(f"{Status.CRIT.emoji} *Nightly backup failed*\n```\n" + "\n".join(lines)[:2800] + "\n```"),
        Context.of("`cdc-bot backup` runs it again; Friday's verification checks it"),
    ]
    return to_slack_message("Nightly backup failed: " + "; ".join(lines)[:300], parts)


def render_alarms_ensure(results: Sequence[EnsureResult]) -> SlackMessage:
    lines = []
    for result in results:
        if result.created:
            lines.append(f":large_green_circle: `{result.pipeline}`: created {', '.join(result.created)}")
        if result.existing:
            lines.append(f"`{result.pipeline}`: already there, left as they are: {', '.join(result.existing)}")
        lines += [f":large_yellow_circle: {escape(d)}" for d in result.drift]
    text = fit_lines(lines or ["Nothing to do"], SECTION_TEXT_MAX)
    parts: list[Part] = [
        Section("*CloudWatch alarms (the runbook's definitions)*\n" + text),
        Context.of("Existing alarms are never changed; their state is untouched"),
    ]
    return to_slack_message("Alarms: " + "; ".join(lines)[:300], parts)


def render_schedule(rows: Sequence[Sequence[str]], leader: str, tz: str) -> SlackMessage:
    table = format_table(["job", "schedule", "next run", "last run"], rows)
    parts: list[Part] = [
        Section(f"*Scheduled jobs* (times in {tz})\n" + fit_code_table(table, SECTION_TEXT_MAX - 60)),
        Context.of(escape(leader)),
    ]
    return to_slack_message("Scheduled jobs: " + ", ".join(r[0] for r in rows), parts)
