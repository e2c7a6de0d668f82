"""confluent-kafka adapter: admin reads, offsets and topic creation, every call bounded."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicCollection
from confluent_kafka import TopicPartition as KafkaTopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic, OffsetSpec

from bot.clients.base import BackendError, SampledMessage, TopicInfo, TopicPartition
from bot.core.config import KafkaSettings

log = logging.getLogger(__name__)

END_OFFSETS_CHUNK = 1000  # partitions per ListOffsets call (see end_offsets)
_librdkafka_log = logging.getLogger("librdkafka")


def client_properties(settings: KafkaSettings, region: str) -> dict[str, Any]:
    """librdkafka properties for a pipeline's `kafka` settings (PLAINTEXT, SSL, SASL_SSL, MSK IAM)."""
    props: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.security_protocol,
        # librdkafka retries connections forever in the background; keep its chatter in our log.
        "logger": _librdkafka_log,
        "log.connection.close": False,
    }
    if settings.ssl_ca_location:
        props["ssl.ca.location"] = settings.ssl_ca_location
    if settings.sasl_mechanism == "AWS_MSK_IAM":
        props["sasl.mechanism"] = "OAUTHBEARER"
        props["oauth_cb"] = _msk_iam_token_callback(region)
    elif settings.sasl_mechanism:
        props["sasl.mechanism"] = settings.sasl_mechanism
        props["sasl.username"] = settings.sasl_username
        password = os.environ.get(settings.sasl_password_env or "")
        if password is None:
            raise BackendError(f"Kafka SASL password variable {settings.sasl_password_env} is not set")
        props["sasl.password"] = password
    props.update(settings.properties)
    return props


def _msk_iam_token_callback(region: str) -> Any:
    def callback(_config: str) -> tuple[str, float]:
        # Imported here: only MSK IAM pipelines need the signer.
        from aws_msk_iam_sasl_signer import MSKAuthTokenProvider

        token, expiry_ms = MSKAuthTokenProvider.generate_auth_token(region)
        return token, expiry_ms / 1000

    return callback


class ConfluentKafkaAdmin:
    def __init__(self, settings: KafkaSettings, region: str, timeout: float = 5.0) -> None:
        self._props = client_properties(settings, region)
        self._timeout = timeout
        self._admin = AdminClient(dict(self._props))

    def _wait(self, future: Future[Any], what: str) -> Any:
        try:
            return future.result(timeout=self._timeout)
        except FutureTimeout:
            raise BackendError(f"Kafka did not answer {what} within {self._timeout:g}s") from None
        except KafkaException as exc:
            raise BackendError(f"Kafka {what} failed: {exc.args[0].str() if exc.args else exc}") from None

    def broker_count(self) -> int:
        result = self._wait(self._admin.describe_cluster(request_timeout=self._timeout), "describe_cluster")
        return len(result.nodes)

    def list_topics(self) -> dict[str, TopicInfo]:
        try:
            metadata = self._admin.list_topics(timeout=self._timeout)
        except KafkaException as exc:
            raise BackendError(f"Kafka metadata request failed: {exc.args[0].str() if exc.args else exc}") from None
        topics = {}
        for name, topic in metadata.topics.items():
            if name.startswith("__") or topic.error is not None:
                continue
            replicas = max((len(p.replicas) for p in topic.partitions.values()), default=0)
            topics[name] = TopicInfo(name=name, partitions=len(topic.partitions), replication_factor=replicas)
        return topics

    def topic_partitions(self, topics: list[str]) -> dict[str, int]:
        """Partition counts of the named topics (describe_topics, one request)."""
        if not topics:
            return {}
        futures = self._admin.describe_topics(TopicCollection(topics), request_timeout=self._timeout)
        return {name: len(self._wait(f, f"describe_topics {name}").partitions) for name, f in futures.items()}

    def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        wanted = list(dict.fromkeys(partitions))
        # One batched ListOffsets round for every partition of the run, sent in chunks that are all in
        # flight at once: confluent-kafka's list_offsets grows faster than linearly with one call's size
        # (30,000 partitions: ~11 s in one call, ~1.2 s in chunks of 1,000; bench/bench_lag.py).
        pending = [
            self._admin.list_offsets(
                {KafkaTopicPartition(t, p): OffsetSpec.latest() for t, p in wanted[start : start + END_OFFSETS_CHUNK]},
                request_timeout=self._timeout,
            )
            for start in range(0, len(wanted), END_OFFSETS_CHUNK)
        ]
        return {
            (tp.topic, tp.partition): self._wait(f, "list_offsets").offset
            for futures in pending
            for tp, f in futures.items()
        }

    def committed_offsets(self, groups: list[str]) -> dict[str, dict[TopicPartition, int]]:
        # The API takes one group per request; issue them all before waiting so they overlap.
        pending = {
            group: self._admin.list_consumer_group_offsets(
                [ConsumerGroupTopicPartitions(group)], request_timeout=self._timeout
            )[group]
            for group in groups
        }
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group, future in pending.items():
            result = self._wait(future, f"offset fetch for group {group}")
            committed[group] = {(tp.topic, tp.partition): tp.offset for tp in result.topic_partitions if tp.offset >= 0}
        return committed

    def list_groups(self) -> list[str]:
        result = self._wait(self._admin.list_consumer_groups(request_timeout=self._timeout), "list_consumer_groups")
        return sorted(g.group_id for g in result.valid)

    def create_topics(self, topics: list[TopicInfo]) -> dict[str, str | None]:
        new = [
            NewTopic(
                t.name, num_partitions=t.partitions, replication_factor=t.replication_factor, config=dict(t.configs)
            )
            for t in topics
        ]
        if not new:
            return {}
        futures = self._admin.create_topics(new, request_timeout=self._timeout)
        outcome: dict[str, str | None] = {}
        for name, future in futures.items():
            try:
                self._wait(future, f"create topic {name}")
                outcome[name] = None
            except BackendError as exc:
                outcome[name] = str(exc)
        return outcome

    def topic_configs(self, topics: list[str]) -> dict[str, dict[str, str]]:
        """Each topic's non-default configs (DescribeConfigs); {} for a topic the broker says nothing about."""
        if not topics:
            return {}
        resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in topics]
        futures = self._admin.describe_configs(resources, request_timeout=self._timeout)
        configs: dict[str, dict[str, str]] = {}
        for resource, future in futures.items():
            entries = self._wait(future, f"describe_configs {resource.name}")
            configs[resource.name] = {
                name: str(entry.value)
                for name, entry in (entries or {}).items()
                # Only what was set on the topic: defaults come back with the cluster they are restored to.
                if entry.value is not None
                and not entry.is_default
                and entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
            }
        return configs

    def sample_messages(self, topic: str, count: int) -> list[SampledMessage]:
        """The latest `count` messages of a topic, read without joining a group or committing."""
        props = {k: v for k, v in self._props.items()}
        props.update(
            {
                "group.id": f"cdc-bot-sample-{uuid.uuid4().hex[:8]}",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
            }
        )
        consumer = Consumer(props)
        try:
            partitions = self.topic_partitions([topic]).get(topic, 0)
            ends = self.end_offsets([(topic, p) for p in range(partitions)])
            # Take roughly the last `count` from each partition, then keep the newest overall.
            assignment = [KafkaTopicPartition(topic, p, max(0, end - count)) for (_, p), end in ends.items()]
            wanted = sum(min(count, end) for end in ends.values())
            consumer.assign(assignment)
            found: list[SampledMessage] = []
            deadline = time.monotonic() + self._timeout
            while len(found) < wanted and time.monotonic() < deadline:
                for msg in consumer.consume(num_messages=500, timeout=0.5):
                    msg_topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
                    if msg.error() or msg_topic is None or partition is None or offset is None:
                        continue
                    kind, ms = msg.timestamp()
                    found.append(
                        SampledMessage(
                            topic=msg_topic,
                            partition=partition,
                            offset=offset,
                            timestamp=datetime.fromtimestamp(ms / 1000, UTC) if kind and ms > 0 else None,
                            key=msg.key(),
                            value=msg.value(),
                        )
                    )
            found.sort(key=lambda m: (m.timestamp or datetime.min.replace(tzinfo=UTC), m.offset), reverse=True)
            return found[:count]
        finally:
            consumer.close()

    def close(self) -> None:
        # AdminClient has no close(); dropping the reference lets librdkafka tear down.
        self._admin = None  # type: ignore[assignment]
