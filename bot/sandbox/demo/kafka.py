"""Kafka seeding: Debezium-shaped change events on the runbook's topics, and committed offsets."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bot.sandbox.demo.names import GROUP, PARTITIONS

# Customer names for the seeded change events.
_FIRST = ["Ana", "Ben", "Chloe", "Dev", "Eun-ji", "Farah", "Gopal", "Hana", "Ivan", "Jun"]
_LAST = ["Lim", "Tan", "Ng", "Kumar", "Wong", "Lee", "Ong", "Goh", "Chua", "Teo"]


def cdc_event(topic: str, index: int, rng: random.Random) -> dict[str, Any]:
    """A Debezium change event envelope; customers carry PII, as the real topics do."""
    table = topic.rsplit(".", 1)[-1]
    if table == "customers":
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        after: dict[str, Any] = {
            "ID": index,
            "FIRST_NAME": first,
            "LAST_NAME": last,
            "EMAIL": f"{first.lower()}.{last.lower()}{index}@example.com",
            "PHONE": f"+65 9{rng.randint(1000000, 9999999)}",
        }
    elif table == "products":
        after = {"ID": index, "NAME": f"product-{index}", "PRICE": round(rng.uniform(1, 500), 2)}
    else:
        after = {
            "ID": index,
            "CUSTOMER_ID": rng.randint(1, 5000),
            "AMOUNT": round(rng.uniform(5, 900), 2),
            "STATUS": rng.choice(["NEW", "PAID", "SHIPPED"]),
        }
    op = "c" if index % 5 else "u"
    return {
        "before": None if op == "c" else after,
        "after": after,
        "op": op,
        "ts_ms": int(datetime.now(UTC).timestamp() * 1000),
        "source": {
            "connector": "oracle",
            "name": "oracle",
            "schema": "INVENTORY",
            "table": table.upper(),
            "scn": str(1_000_000 + index),
        },
    }


def seed_kafka(
    bootstrap: str,
    counts: dict[str, int],
    group: str | None = GROUP,
    lag_per_partition: dict[str, int] | None = None,
    partitions: int = PARTITIONS,
    seed: int = 7,
) -> dict[tuple[str, int], int]:
    """Create topics, produce CDC events, commit `group` behind the end. Returns the end offsets."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in counts], request_timeout=10
    )
    for future in futures.values():
        future.result(timeout=10)
    rng = random.Random(seed)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    ends: dict[tuple[str, int], int] = {}
    for topic, count in counts.items():
        per_partition = [count // partitions + (1 if p < count % partitions else 0) for p in range(partitions)]
        index = 0
        for p, n in enumerate(per_partition):
            # The last record of each partition is produced alone, after a flush: Tansu reports the
            # end offset as the start of the partition's last batch + 1 (its bug, not Kafka's).
            for _ in range(max(0, n - 1)):
                index += 1
                producer.produce(
                    topic, key=str(index).encode(), value=json.dumps(cdc_event(topic, index, rng)), partition=p
                )
            producer.flush(30)
            if n:
                index += 1
                producer.produce(
                    topic, key=str(index).encode(), value=json.dumps(cdc_event(topic, index, rng)), partition=p
                )
                producer.flush(30)
            ends[(topic, p)] = n
    if group:
        lags = lag_per_partition or {}
        commit_offsets(bootstrap, group, {tp: max(0, end - lags.get(tp[0], 0)) for tp, end in ends.items()})
    return ends


def commit_offsets(bootstrap: str, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit offsets for a group with `assign` + `commit`: immediate, no group join."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[KafkaTopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()
