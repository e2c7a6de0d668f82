"""Friday backup verification: today's backup objects, then a dry-run restore of the latest backup.

The runbook lists today's objects (`aws s3 ls ... | grep $(date +%Y%m%d)`) and runs a restore in a
dev environment. Here the restore is a dry run against the live cluster: the latest topic backup
is parsed and compared with the topics that exist, which is exactly what the `recreate-topics`
action would create; the latest offsets backup is compared with the live consumer groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.backups.offsets import list_offsets_dates, offsets_key, read_offsets_backup
from bot.backups.topics import BackupError, backup_key, list_backup_dates, read_topic_backup
from bot.clients.base import BackendError, PipelineClients, TopicInfo
from bot.core.config import PipelineConfig
from bot.core.results import Status, worst
from bot.reports.pipelines import PipelinesReport, attempt, for_each_pipeline
from bot.services import Services


@dataclass
class BackupObject:
    key: str
    present: bool
    size: int | None = None
    modified: datetime | None = None

    def age(self, now: datetime) -> timedelta | None:
        return now - self.modified if self.modified else None

    @property
    def status(self) -> Status:
        return Status.OK if self.present and self.size else Status.CRIT


@dataclass
class TopicDifference:
    name: str
    backup: TopicInfo
    live: TopicInfo


@dataclass
class DryRunRestore:
    topics_key: str
    taken_at: datetime
    backup_topics: int
    would_create: list[TopicInfo] = field(default_factory=list)
    unchanged: int = 0
    different: list[TopicDifference] = field(default_factory=list)
    offsets_key: str | None = None
    groups_in_backup: int = 0
    groups_missing: list[str] = field(default_factory=list)
    groups_present: int = 0


@dataclass
class PipelineBackups:
    pipeline: str
    bucket: str
    prefix: str
    day: date
    objects: list[BackupObject] = field(default_factory=list)
    listing_error: str | None = None
    restore: DryRunRestore | None = None
    restore_error: str | None = None

    @property
    def status(self) -> Status:
        statuses = [o.status for o in self.objects]
        if self.listing_error:
            statuses.append(Status.UNKNOWN)
        if self.restore_error:
            statuses.append(Status.WARN)
        return worst(statuses)


@dataclass
class BackupsReport(PipelinesReport[PipelineBackups]):
    @property
    def status(self) -> Status:
        return worst([p.status for p in self.pipelines])


def todays_objects(pipeline: PipelineConfig, clients: PipelineClients, day: date) -> list[BackupObject]:
    backups = pipeline.backups
    listed = {str(o.get("Key")): o for o in clients.aws.list_objects(backups.bucket, backups.prefix)}
    expected = [backup_key(backups.prefix, day), offsets_key(backups.prefix, day)]
    stamp = f"{day:%Y%m%d}"
    # Whatever else carries today's date under the prefix is listed too, as the runbook's grep would.
    others = sorted(k for k in listed if stamp in k and k not in expected)
    objects = []
    for key in expected + others:
        found = listed.get(key)
        if found is None:
            objects.append(BackupObject(key=key, present=False))
            continue
        modified = found.get("LastModified")
        objects.append(
            BackupObject(
                key=key,
                present=True,
                size=int(found.get("Size", 0)),
                modified=modified.astimezone(UTC) if isinstance(modified, datetime) else None,
            )
        )
    return objects


def dry_run_restore(pipeline: PipelineConfig, clients: PipelineClients) -> DryRunRestore:
    backups = pipeline.backups
    days = list_backup_dates(clients.aws, backups.bucket, backups.prefix)
    if not days:
        raise BackupError(f"no topic backup under s3://{backups.bucket}/{backups.prefix}")
    backup = read_topic_backup(clients.aws, backups.bucket, backups.prefix, days[-1])
    live = clients.kafka.list_topics()
    restore = DryRunRestore(topics_key=backup.key, taken_at=backup.taken_at, backup_topics=len(backup.topics))
    for topic in backup.topics:
        current = live.get(topic.name)
        if current is None:
            restore.would_create.append(topic)
        elif (current.partitions, current.replication_factor) != (topic.partitions, topic.replication_factor):
            restore.different.append(TopicDifference(topic.name, topic, current))
        else:
            restore.unchanged += 1
    offset_days = list_offsets_dates(clients.aws, backups.bucket, backups.prefix)
    if offset_days:
        offsets = read_offsets_backup(clients.aws, backups.bucket, backups.prefix, offset_days[-1])
        groups_now = set(clients.kafka.list_groups())
        restore.offsets_key = offsets.key
        restore.groups_in_backup = len(offsets.groups)
        restore.groups_missing = sorted(g for g in offsets.groups if g not in groups_now)
        restore.groups_present = restore.groups_in_backup - len(restore.groups_missing)
    return restore


def build_backups_report(
    services: Services,
    pipelines: list[str] | None = None,
    now: datetime | None = None,
    late_by: timedelta | None = None,
) -> BackupsReport:
    now = now or datetime.now(UTC)
    tz = ZoneInfo(services.config.slack.timezone)
    day = now.astimezone(tz).date()

    def backups(pipeline: PipelineConfig, clients: PipelineClients) -> PipelineBackups:
        item = PipelineBackups(
            pipeline=pipeline.name, bucket=pipeline.backups.bucket, prefix=pipeline.backups.prefix, day=day
        )
        objects, item.listing_error = attempt(lambda: todays_objects(pipeline, clients, day))
        item.objects = objects or []
        item.restore, item.restore_error = attempt(
            lambda: dry_run_restore(pipeline, clients), (BackendError, BackupError)
        )
        return item

    return BackupsReport(generated_at=now, pipelines=for_each_pipeline(services, pipelines, backups), late_by=late_by)
