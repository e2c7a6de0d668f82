"""The topic-metadata backup format, shared by the nightly backup job (writer) and topic recovery (reader).

One JSON object per day in S3 at `s3://{backups.bucket}/{backups.prefix}topics-YYYYMMDD.json`:

    {"taken_at": "2026-11-26T02:00:03+00:00", "pipeline": "prod",
     "topics": [{"name": "oracle.inventory.customers", "partitions": 3, "replication_factor": 3,
                 "configs": {"retention.ms": "604800000"}}]}

The date in the key is the day the backup is *for* (the writer decides; by default the UTC date
of `taken_at`). The runbook's text dumps (`kafka-topics.sh --describe > topics-YYYYMMDD.txt`) are
not read: they do not say which configs a topic had.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.clients.base import Aws, BackendError, TopicInfo

KEY_PATTERN = re.compile(r"topics-(\d{8})\.json$")


class BackupError(Exception):
    """A backup that is missing or cannot be read; the message says which and why."""


class _TopicEntry(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1)
    partitions: int = Field(ge=1)
    replication_factor: int = Field(ge=1)
    configs: dict[str, str] = Field(default_factory=dict)


class _BackupFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    taken_at: datetime
    pipeline: str
    topics: list[_TopicEntry]


@dataclass(frozen=True)
class TopicBackup:
    day: date
    taken_at: datetime
    pipeline: str
    topics: list[TopicInfo]
    key: str


def parse_backup_date(text: str) -> date:
    """`2026-11-26` or `20261126`; ValueError otherwise."""
    cleaned = text.strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date; use YYYY-MM-DD or YYYYMMDD")


def backup_key(prefix: str, day: date) -> str:
    return f"{prefix}topics-{day:%Y%m%d}.json"


def dumps(pipeline: str, topics: list[TopicInfo], taken_at: datetime) -> bytes:
    document = {
        "taken_at": taken_at.astimezone(UTC).isoformat(),
        "pipeline": pipeline,
        "topics": [
            {
                "name": t.name,
                "partitions": t.partitions,
                "replication_factor": t.replication_factor,
                "configs": dict(t.configs),
            }
            for t in sorted(topics, key=lambda t: t.name)
        ],
    }
    return json.dumps(document, indent=2).encode()


M = TypeVar("M", bound=BaseModel)


def parse_backup_file(model: type[M], body: bytes, key: str, what: str) -> M:
    """A backup object parsed into `model`; a malformed one is a BackupError naming the first problem."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BackupError(f"{key} is not {what} ({where}: {first['msg']})") from None


def as_utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def loads(body: bytes, day: date, key: str) -> TopicBackup:
    parsed = parse_backup_file(_BackupFile, body, key, "a topic backup")
    return TopicBackup(
        day=day,
        taken_at=as_utc(parsed.taken_at),
        pipeline=parsed.pipeline,
        topics=[TopicInfo(t.name, t.partitions, t.replication_factor, dict(t.configs)) for t in parsed.topics],
        key=key,
    )


def write_topic_backup(
    aws: Aws,
    bucket: str,
    prefix: str,
    pipeline: str,
    topics: list[TopicInfo],
    taken_at: datetime | None = None,
    day: date | None = None,
) -> str:
    """Write one day's topic backup; returns its S3 key. Internal topics (`__...`) are left out."""
    taken = taken_at or datetime.now(UTC)
    key = backup_key(prefix, day or taken.astimezone(UTC).date())
    kept = [t for t in topics if not t.name.startswith("__")]
    aws.put_object(bucket, key, dumps(pipeline, kept, taken))
    return key


def dated_objects(aws: Aws, bucket: str, prefix: str, pattern: re.Pattern[str]) -> list[date]:
    """Days of the objects directly under `prefix` whose name matches `pattern` (its group 1 is YYYYMMDD)."""
    days = set()
    for obj in aws.list_objects(bucket, prefix):
        key = str(obj.get("Key", ""))
        # Only keys directly under the prefix: `kafka/old/topics-...` is not this pipeline's backup.
        match = pattern.fullmatch(key[len(prefix) :]) if key.startswith(prefix) else None
        if match:
            try:
                days.add(datetime.strptime(match.group(1), "%Y%m%d").date())
            except ValueError:
                continue
    return sorted(days)


def read_dated_object(aws: Aws, bucket: str, key: str, what: str, day: date) -> bytes:
    """The object's bytes; a missing one is a BackupError that names the day and the key."""
    try:
        return aws.get_object(bucket, key)
    except BackendError as exc:
        if "NoSuchKey" in str(exc):
            raise BackupError(f"no {what} for {day.isoformat()} (s3://{bucket}/{key})") from None
        raise


def list_backup_dates(aws: Aws, bucket: str, prefix: str) -> list[date]:
    """Days that have a topic backup, oldest first."""
    return dated_objects(aws, bucket, prefix, KEY_PATTERN)


def read_topic_backup(aws: Aws, bucket: str, prefix: str, day: date) -> TopicBackup:
    key = backup_key(prefix, day)
    return loads(read_dated_object(aws, bucket, key, "topic backup", day), day, key)


def describe_dates(days: list[date], limit: int = 10) -> str:
    """The most recent backup dates, newest first, for an error message."""
    if not days:
        return "none"
    recent = [d.isoformat() for d in sorted(days, reverse=True)[:limit]]
    extra = len(days) - len(recent)
    return ", ".join(recent) + (f" (and {extra} older)" if extra else "")
