"""The nightly backup (the runbook's 02:00 `kafka-backup` CronJob): topic metadata and group offsets to S3.

Both objects are dated by the local day of the run in the configured time zone, like the CronJob's
`date +%Y%m%d`: the 02:00 Singapore run on Friday writes `topics-<Friday>.json`, which is what the
Friday 09:00 verification looks for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.backups.offsets import write_offsets_backup
from bot.backups.topics import dumps, write_topic_backup
from bot.clients.base import BackendError, PipelineClients, TopicInfo, TopicPartition
from bot.core.config import PipelineConfig

log = logging.getLogger(__name__)


@dataclass
class BackupRun:
    pipeline: str
    bucket: str
    day: date
    taken_at: datetime
    topics_key: str | None = None
    topics_size: int = 0
    offsets_key: str | None = None
    offsets_size: int = 0
    topics: int = 0
    partitions: int = 0
    groups: int = 0
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def backup_day(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()


def run_backup(
    pipeline: PipelineConfig, clients: PipelineClients, tz: ZoneInfo, now: datetime | None = None
) -> BackupRun:
    """Read topics, configs, end offsets and every group's committed offsets, then write both objects.

    The topic backup is written before the offsets are read, so a broker that fails half-way still
    leaves the part recovery needs most (what topics to recreate).
    """
    now = now or datetime.now(UTC)
    backups = pipeline.backups
    run = BackupRun(pipeline=pipeline.name, bucket=backups.bucket, day=backup_day(now, tz), taken_at=now)
    kafka, aws = clients.kafka, clients.aws
    try:
        topics = {name: t for name, t in kafka.list_topics().items() if not name.startswith("__")}
        try:
            configs = kafka.topic_configs(sorted(topics))
        except BackendError as exc:
            configs = {}
            run.notes.append(f"topic configs not read ({exc}); partitions and replication are")
        if topics and not any(configs.values()):
            run.notes.append("the broker reported no topic-level configs (defaults only, or not supported)")
        infos = [
            TopicInfo(t.name, t.partitions, t.replication_factor, dict(configs.get(t.name, {})))
            for t in topics.values()
        ]
        # bot.backups.topics' own writer, so the recreate-topics action reads exactly what is written here.
        run.topics_key = write_topic_backup(aws, backups.bucket, backups.prefix, pipeline.name, infos, now, run.day)
        run.topics_size = len(dumps(pipeline.name, infos, now))
        run.topics = len(infos)

        partitions: list[TopicPartition] = [(t.name, p) for t in infos for p in range(t.partitions)]
        run.partitions = len(partitions)
        ends = kafka.end_offsets(partitions)
        committed = kafka.committed_offsets(kafka.list_groups())
        # Groups that never committed have no position to restore.
        groups = {group: offsets for group, offsets in committed.items() if offsets}
        run.groups = len(groups)
        run.offsets_key, run.offsets_size = write_offsets_backup(
            aws, backups.bucket, backups.prefix, pipeline.name, ends, groups, now, run.day
        )
    except BackendError as exc:
        log.warning("nightly backup of %s failed: %s", pipeline.name, exc)
        run.error = str(exc)
    return run
