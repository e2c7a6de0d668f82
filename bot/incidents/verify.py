"""Verify data flow (runbook SEV1, mitigation step 3) without showing what flows.

The runbook runs `kafka-console-consumer --max-messages 10` on the raw CDC topic. Those messages
carry customer PII, so only their shape leaves this module: partition, offset, timestamp, and for a
Debezium envelope its operation and the field names of `after`/`before`. Anything else is "not a
Debezium envelope" with its top-level field count only: its keys could be data (a map keyed by
e-mail address), and an `op` that is not a Debezium code could be anything.
No key material at all: only whether a key is present and its length. A hash of a key is not safe
(a numeric customer id is recovered from a SHA-256 prefix by brute force in well under a second).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.clients.base import KafkaAdmin, SampledMessage

DEFAULT_COUNT = 10
MAX_COUNT = 100

# Debezium's `op` codes.
OPERATIONS = {"c": "create", "u": "update", "d": "delete", "r": "read (snapshot)", "t": "truncate", "m": "message"}


class VerifyError(ValueError):
    """The request cannot be answered as asked (unknown topic, bad count); the text says what to do."""


@dataclass(frozen=True)
class MessageShape:
    partition: int
    offset: int
    timestamp: datetime | None
    key_present: bool
    key_length: int | None
    size: int
    op: str | None
    after_fields: list[str] | None
    before_fields: list[str] | None
    # Why the value could not be read as a Debezium envelope (tombstone, not JSON); never the value.
    note: str | None = None

    @property
    def key_info(self) -> str | None:
        """`8-byte key`, or None without a key: what the table shows in its key column."""
        return None if self.key_length is None else f"{self.key_length}-byte key"


@dataclass(frozen=True)
class VerifyResult:
    topic: str
    requested: int
    checked_at: datetime
    messages: list[MessageShape] = field(default_factory=list)

    @property
    def newest(self) -> datetime | None:
        stamps = [m.timestamp for m in self.messages if m.timestamp]
        return max(stamps) if stamps else None

    def operations(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            name = OPERATIONS.get(message.op or "", message.op or "none")
            counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def field_sets(self) -> list[tuple[str, list[str], int]]:
        """Distinct (side, field names) with how many messages have them: the schema at a glance."""
        seen: dict[tuple[str, tuple[str, ...]], int] = {}
        for message in self.messages:
            for side, names in (("after", message.after_fields), ("before", message.before_fields)):
                if names is not None:
                    seen[(side, tuple(names))] = seen.get((side, tuple(names)), 0) + 1
        return [(side, list(names), count) for (side, names), count in seen.items()]


# A Debezium change event's top-level fields (`schemas.enable=false`), and what `before`/`after` can be.
ENVELOPE_FIELDS = frozenset({"before", "after", "source", "op", "ts_ms", "ts_us", "ts_ns", "transaction", "message"})


def is_debezium_envelope(value: object) -> bool:
    """An `op` that is a Debezium code, rows (or null) in `before`/`after`, and no other top-level field."""
    if not isinstance(value, dict) or not value.keys() <= ENVELOPE_FIELDS:
        return False
    if not isinstance(value.get("op"), str) or value["op"] not in OPERATIONS:
        return False
    rows = [value[side] for side in ("before", "after") if side in value]
    if not all(row is None or isinstance(row, dict) for row in rows):
        return False
    return bool(rows) or value["op"] in ("t", "m")


def _field_names(value: object) -> list[str] | None:
    return [str(k) for k in value] if isinstance(value, dict) else None


def shape(message: SampledMessage) -> MessageShape:
    """Read one message's envelope and keep only its shape; the parsed value is dropped here."""

    def envelope_shape(
        op: str | None = None,
        after: list[str] | None = None,
        before: list[str] | None = None,
        note: str | None = None,
    ) -> MessageShape:
        return MessageShape(
            partition=message.partition,
            offset=message.offset,
            timestamp=message.timestamp,
            key_present=message.key is not None,
            key_length=None if message.key is None else len(message.key),
            size=len(message.value or b""),
            op=op,
            after_fields=after,
            before_fields=before,
            note=note,
        )

    if message.value is None:
        return envelope_shape(note="tombstone (null value)")
    try:
        envelope = json.loads(message.value)
    except (ValueError, UnicodeDecodeError):
        return envelope_shape(note="not JSON (Avro or binary?)")
    if isinstance(envelope, dict) and isinstance(envelope.get("payload"), dict) and "schema" in envelope:
        envelope = envelope["payload"]  # JsonConverter with schemas.enable=true wraps the envelope
    if not is_debezium_envelope(envelope):
        count = len(envelope) if isinstance(envelope, dict) else 0
        return envelope_shape(note=f"not a Debezium envelope ({count} top-level fields)")
    return envelope_shape(
        op=envelope["op"],
        after=_field_names(envelope.get("after")),
        before=_field_names(envelope.get("before")),
    )


def parse_count(word: str) -> int:
    try:
        count = int(word)
    except ValueError:
        raise VerifyError(f"`{word}` is not a number of messages") from None
    if not 1 <= count <= MAX_COUNT:
        raise VerifyError(f"Ask for 1 to {MAX_COUNT} messages, not {count}")
    return count


def verify_data_flow(kafka: KafkaAdmin, topic: str, count: int = DEFAULT_COUNT) -> VerifyResult:
    """The latest `count` messages of `topic`, as shapes; VerifyError for a topic that does not exist."""
    topics = kafka.list_topics()
    if topic not in topics:
        close = difflib.get_close_matches(topic, list(topics), n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise VerifyError(f"No topic `{topic}` on this cluster.{hint}")
    sampled = kafka.sample_messages(topic, count)
    return VerifyResult(
        topic=topic, requested=count, checked_at=datetime.now(UTC), messages=[shape(m) for m in sampled]
    )
