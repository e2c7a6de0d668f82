"""The consumer-offsets backup format, written by the nightly backup next to the topic backup (`bot.backups.topics`).

One JSON object per day at `s3://{backups.bucket}/{backups.prefix}offsets-YYYYMMDD.json`:

    {"taken_at": "2026-11-25T18:00:02+00:00", "pipeline": "prod",
     "end_offsets": {"oracle.inventory.orders": {"0": 5000, "1": 5000}},
     "groups": {"pii-masking-app": {"oracle.inventory.orders": {"0": 4990, "1": 5000}}}}

`groups` is what the runbook's `kafka-consumer-groups.sh --describe --all-groups` dump was for
(where each group was); `end_offsets` is where each partition ended, which the capacity report
uses to estimate topic growth between two nights (confluent-kafka has no DescribeLogDirs).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict

from bot.backups.topics import as_utc, dated_objects, parse_backup_file, read_dated_object
from bot.clients.base import Aws, TopicPartition

OFFSETS_KEY_PATTERN = re.compile(r"offsets-(\d{8})\.json$")


class _OffsetsFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    taken_at: datetime
    pipeline: str
    end_offsets: dict[str, dict[int, int]] = {}
    groups: dict[str, dict[str, dict[int, int]]] = {}


@dataclass(frozen=True)
class OffsetsBackup:
    day: date
    taken_at: datetime
    pipeline: str
    end_offsets: dict[TopicPartition, int]
    groups: dict[str, dict[TopicPartition, int]]
    key: str

    def topic_end(self, topic: str) -> int | None:
        """Sum of the topic's partition end offsets (records ever written), None when not in the backup."""
        values = [offset for (t, _p), offset in self.end_offsets.items() if t == topic]
        return sum(values) if values else None


def offsets_key(prefix: str, day: date) -> str:
    return f"{prefix}offsets-{day:%Y%m%d}.json"


def _nested(offsets: dict[TopicPartition, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (topic, partition), offset in sorted(offsets.items()):
        out.setdefault(topic, {})[str(partition)] = int(offset)
    return out


def _flat(nested: dict[str, dict[int, int]]) -> dict[TopicPartition, int]:
    return {(topic, int(p)): int(o) for topic, parts in nested.items() for p, o in parts.items()}


def dumps_offsets(
    pipeline: str,
    end_offsets: dict[TopicPartition, int],
    groups: dict[str, dict[TopicPartition, int]],
    taken_at: datetime,
) -> bytes:
    document = {
        "taken_at": taken_at.astimezone(UTC).isoformat(),
        "pipeline": pipeline,
        "end_offsets": _nested(end_offsets),
        "groups": {group: _nested(offsets) for group, offsets in sorted(groups.items())},
    }
    return json.dumps(document, indent=2).encode()


def loads_offsets(body: bytes, day: date, key: str) -> OffsetsBackup:
    parsed = parse_backup_file(_OffsetsFile, body, key, "an offsets backup")
    return OffsetsBackup(
        day=day,
        taken_at=as_utc(parsed.taken_at),
        pipeline=parsed.pipeline,
        end_offsets=_flat(parsed.end_offsets),
        groups={group: _flat(offsets) for group, offsets in parsed.groups.items()},
        key=key,
    )


def write_offsets_backup(
    aws: Aws,
    bucket: str,
    prefix: str,
    pipeline: str,
    end_offsets: dict[TopicPartition, int],
    groups: dict[str, dict[TopicPartition, int]],
    taken_at: datetime,
    day: date,
) -> tuple[str, int]:
    """Write one day's offsets backup; returns (S3 key, size in bytes)."""
    key = offsets_key(prefix, day)
    body = dumps_offsets(pipeline, end_offsets, groups, taken_at)
    aws.put_object(bucket, key, body)
    return key, len(body)


def list_offsets_dates(aws: Aws, bucket: str, prefix: str) -> list[date]:
    """Days that have an offsets backup directly under the prefix, oldest first."""
    return dated_objects(aws, bucket, prefix, OFFSETS_KEY_PATTERN)


def read_offsets_backup(aws: Aws, bucket: str, prefix: str, day: date) -> OffsetsBackup:
    key = offsets_key(prefix, day)
    return loads_offsets(read_dated_object(aws, bucket, key, "offsets backup", day), day, key)
