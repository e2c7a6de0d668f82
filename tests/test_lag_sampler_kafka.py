"""The LagSampler against a real Kafka-protocol broker (Tansu), through the production adapter.

Offsets are real (produced records, groups committed with `assign` + `commit`); only time is
injected, one sample "a minute", so a 10-minute window takes seconds. Each test uses its own
topic and group. Every produce ends with a single-record batch per partition: Tansu 0.6.0 reports
the end offset as the last batch's base offset + 1 (TESTING.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from bot.checks.lag_sampler import LagSampler, WindowSettings
from bot.checks.lag_time import ForecastKind
from bot.checks.lag_window import LagStatus
from bot.clients import kafka as kafka_client
from bot.clients.kafka import ConfluentKafkaAdmin
from bot.core.config import KafkaSettings
from bot.sandbox.demo import commit_offsets
from bot.sandbox.kafka_local import LocalKafka

T0 = 1_800_000_000.0
MINUTE = 60.0


@pytest.fixture(scope="module")
def kafka() -> Iterator[LocalKafka]:
    with LocalKafka() as broker:
        yield broker


@pytest.fixture
def admin(kafka: LocalKafka) -> ConfluentKafkaAdmin:
    return ConfluentKafkaAdmin(KafkaSettings(bootstrap_servers=kafka.bootstrap_servers), region="us-east-1")


def create_topic(kafka: LocalKafka, topic: str, partitions: int) -> None:
    client = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})  # kept alive until the futures resolve
    futures = client.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)], request_timeout=10
    )
    for future in futures.values():
        future.result(timeout=10)


def produce(kafka: LocalKafka, topic: str, per_partition: dict[int, int]) -> None:
    """`count` records into each partition, the last one alone in its batch (exact end offsets on Tansu)."""
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 5})
    for partition, count in per_partition.items():
        for i in range(count - 1):
            producer.produce(topic, value=b"x%d" % i, partition=partition)
        producer.flush(30)
        if count:
            producer.produce(topic, value=b"last", partition=partition)
            producer.flush(30)


def sampler_for(admin: ConfluentKafkaAdmin, group: str) -> LagSampler:
    return LagSampler(admin, [group], settings=WindowSettings(samples=10, seconds=600.0), lag_crit=100_000)


def test_commits_advancing_but_falling_behind_is_warn(kafka: LocalKafka, admin: ConfluentKafkaAdmin) -> None:
    topic, group = "lag-warn", "lag-warn-app"
    create_topic(kafka, topic, 2)
    committed = 0
    with sampler_for(admin, group) as sampler:
        for minute in range(5):
            produce(kafka, topic, {0: 300, 1: 300})  # 300/min in, 200/min committed: lag grows 100/min
            committed += 200
            commit_offsets(kafka.bootstrap_servers, group, {(topic, 0): committed, (topic, 1): committed})
            result = sampler.sample(T0 + minute * MINUTE)
            assert not result.errors and result.partitions == 2
        verdict = sampler.evaluate(group, T0 + 4 * MINUTE)
    assert verdict.status is LagStatus.WARN
    assert [p.lag for p in verdict.partitions] == [500, 500]
    assert [p.end for p in verdict.partitions] == [1500, 1500]
    assert verdict.forecast is not None and verdict.forecast.kind is ForecastKind.REACHES_CRIT
    # Lag grows 200/min over both partitions: 99,000 to go.
    assert verdict.forecast.seconds == pytest.approx((100_000 - 1000) / (200 / MINUTE))
    # End offsets were 900 at minute 2 and 1,200 at minute 3, so committed 1,000 was the end at
    # minute 2m 20s: 1m 40s before the minute-4 evaluation.
    assert verdict.time_lag is not None and verdict.time_lag.seconds == pytest.approx(100.0)


def test_commits_stopped_with_lag_is_stall_then_stop(kafka: LocalKafka, admin: ConfluentKafkaAdmin) -> None:
    topic, group = "lag-stall", "lag-stall-app"
    create_topic(kafka, topic, 1)
    produce(kafka, topic, {0: 100})
    commit_offsets(kafka.bootstrap_servers, group, {(topic, 0): 40})
    with sampler_for(admin, group) as sampler:
        for minute in range(4):
            produce(kafka, topic, {0: 20})
            sampler.sample(T0 + minute * MINUTE)
        stalled = sampler.evaluate(group, T0 + 3 * MINUTE)
        assert stalled.status is LagStatus.STALL
        assert stalled.partitions[0].committed == 40 and stalled.partitions[0].end == 180
        # No sample needed: time alone turns a stall into a stop once the window has passed.
        stopped = sampler.evaluate(group, T0 + 601)
    assert stopped.status is LagStatus.STOP and stopped.burrow_status is LagStatus.ERR


def test_offsets_reset_backwards_is_rewind(kafka: LocalKafka, admin: ConfluentKafkaAdmin) -> None:
    topic, group = "lag-rewind", "lag-rewind-app"
    create_topic(kafka, topic, 2)
    produce(kafka, topic, {0: 1000, 1: 1000})
    with sampler_for(admin, group) as sampler:
        for minute, offset in enumerate([100, 200, 300]):
            commit_offsets(kafka.bootstrap_servers, group, {(topic, 0): offset, (topic, 1): offset})
            sampler.sample(T0 + minute * MINUTE)
        assert sampler.evaluate(group, T0 + 2 * MINUTE).status is LagStatus.OK  # draining
        # An operator resets partition 1 to the earliest offset.
        commit_offsets(kafka.bootstrap_servers, group, {(topic, 0): 400, (topic, 1): 0})
        sampler.sample(T0 + 3 * MINUTE)
        verdict = sampler.evaluate(group, T0 + 3 * MINUTE)
    assert verdict.status is LagStatus.REWIND
    assert [p.status for p in verdict.partitions] == [LagStatus.OK, LagStatus.REWIND]
    assert verdict.worst_partitions(1)[0].partition == 1


def test_caught_up_group_is_ok_and_unknown_group_notfound(kafka: LocalKafka, admin: ConfluentKafkaAdmin) -> None:
    topic, group = "lag-ok", "lag-ok-app"
    create_topic(kafka, topic, 1)
    with LagSampler(admin, [group, "lag-nobody"], settings=WindowSettings(min_interval_s=0)) as sampler:
        for minute in range(3):
            produce(kafka, topic, {0: 50})
            commit_offsets(kafka.bootstrap_servers, group, {(topic, 0): 50 * (minute + 1)})
            sampler.sample(T0 + minute * MINUTE)
        verdicts = sampler.evaluate_all(T0 + 2 * MINUTE)
    assert verdicts[group].status is LagStatus.OK and verdicts[group].total_lag == 0
    caught_up = verdicts[group].forecast
    assert caught_up is not None and caught_up.kind is ForecastKind.CAUGHT_UP
    assert verdicts["lag-nobody"].status is LagStatus.NOTFOUND


def test_unreachable_broker_is_err() -> None:
    with LocalKafka() as broker:  # its own broker, stopped mid-test
        admin = ConfluentKafkaAdmin(KafkaSettings(bootstrap_servers=broker.bootstrap_servers), "us-east-1", timeout=1)
        create_topic(broker, "lag-err", 1)
        produce(broker, "lag-err", {0: 10})
        commit_offsets(broker.bootstrap_servers, "lag-err-app", {("lag-err", 0): 5})
        with sampler_for(admin, "lag-err-app") as sampler:
            sampler.sample(T0)
            assert sampler.evaluate("lag-err-app", T0).status is LagStatus.OK
            broker.stop()
            result = sampler.sample(T0 + MINUTE)
            verdict = sampler.evaluate("lag-err-app", T0 + MINUTE)
    assert "lag-err-app" in result.errors
    assert verdict.status is LagStatus.ERR and verdict.error and "offset fetch" in verdict.error
    assert verdict.partitions[0].samples == 1  # the last good window is kept for when it answers again


def test_end_offsets_in_chunks_are_exact_and_complete(
    kafka: LocalKafka, admin: ConfluentKafkaAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka_client, "END_OFFSETS_CHUNK", 7)  # 20 partitions -> 3 calls in flight
    topic = "lag-chunks"
    create_topic(kafka, topic, 20)
    produce(kafka, topic, {p: p + 1 for p in range(20)})
    partitions = [(topic, p) for p in range(20)]
    assert admin.end_offsets(partitions + partitions[:3]) == {(topic, p): p + 1 for p in range(20)}
    assert admin.end_offsets([]) == {}
