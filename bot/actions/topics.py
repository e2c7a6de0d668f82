"""Topic recovery from a nightly backup: create the topics the backup has and the cluster lacks, nothing else."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.actions.base import Action, ActionContext, ActionError, ActionFailed, ActionResult, Preview
from bot.backups.topics import BackupError, describe_dates, list_backup_dates, parse_backup_date, read_topic_backup
from bot.checks.base import plural
from bot.clients.base import TopicInfo
from bot.core.config import PipelineConfig


def _topic_line(topic: dict[str, Any]) -> str:
    return f"{topic['name']}: {topic['partitions']} partitions, replication {topic['replication_factor']}"


class RecreateTopics(Action):
    name = "recreate-topics"
    title = "Recreate missing topics from a backup"
    usage = "recreate-topics YYYY-MM-DD"
    summary = "Topic recovery: create the topics in that day's backup that are missing now (existing ones untouched)"
    risk = "New topics start empty: consumers of a recreated topic restart from its beginning."
    max_args = 1
    min_args = 1

    def parse(self, words: list[str], pipeline: PipelineConfig) -> dict[str, Any]:
        try:
            return {"date": parse_backup_date(words[0]).isoformat()}
        except ValueError as exc:
            raise ActionError(str(exc)) from None

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        backups = ctx.pipeline.backups
        day = date.fromisoformat(args["date"])
        available = list_backup_dates(ctx.clients.aws, backups.bucket, backups.prefix)
        if day not in available:
            raise ActionError(
                f"No topic backup for {day.isoformat()} in s3://{backups.bucket}/{backups.prefix}. "
                f"Backups exist for: {describe_dates(available)}"
            )
        try:
            backup = read_topic_backup(ctx.clients.aws, backups.bucket, backups.prefix, day)
        except BackupError as exc:
            raise ActionError(str(exc)) from None
        existing = ctx.clients.kafka.list_topics()
        missing = [
            {
                "name": t.name,
                "partitions": t.partitions,
                "replication_factor": t.replication_factor,
                "configs": dict(t.configs),
            }
            for t in backup.topics
            if t.name not in existing
        ]
        lines = [
            f"Backup s3://{backups.bucket}/{backup.key} taken {backup.taken_at:%Y-%m-%d %H:%M} UTC "
            f"({len(backup.topics)} topics)"
        ]
        if backup.pipeline != ctx.pipeline.name:
            lines.append(f"Note: the backup was taken for pipeline {backup.pipeline}, not {ctx.pipeline.name}")
        lines.append(f"Missing now ({len(missing)}); to be created:")
        lines += [_topic_line(t) for t in missing]
        return Preview(
            lines=lines,
            fingerprint={"missing topics": sorted(t["name"] for t in missing)},
            plan={"topics": missing, "total": len(backup.topics)},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        if not preview.fingerprint["missing topics"]:
            raise ActionError(
                f"All {preview.plan['total']} topics of the {args['date']} backup exist; nothing to recreate"
            )

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        planned = preview["plan"]["topics"]
        # The re-check just ran, but only create what is still missing: never touch an existing topic.
        existing = ctx.clients.kafka.list_topics()
        todo = [t for t in planned if t["name"] not in existing]
        outcome = ctx.clients.kafka.create_topics(
            [TopicInfo(t["name"], t["partitions"], t["replication_factor"], dict(t["configs"])) for t in todo]
        )
        created = [t for t in todo if outcome.get(t["name"]) is None]
        failed = {name: error for name, error in outcome.items() if error}
        after = [f"Created {_topic_line(t)}" for t in created]
        after += [f"Not created {name}: {error}" for name, error in sorted(failed.items())]
        if failed:
            raise ActionFailed(
                f"{len(failed)} of {len(todo)} topics could not be created",
                state_now=after,
                details={"created": [t["name"] for t in created], "failed": failed},
            )
        return ActionResult(
            summary=f"Created {plural(len(created), 'topic')} from the {args['date']} backup",
            before=[f"Missing: {', '.join(t['name'] for t in planned)}"],
            after=after,
            details={"created": [t["name"] for t in created], "backup_date": args["date"]},
        )
