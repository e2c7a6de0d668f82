"""Benchmark: LagSampler.sample() against the bare batched client calls, on a local Tansu broker.

Run: python bench/bench_lag.py [--groups 100] [--partitions 300] [--runs 7] [--workers 8]

Each group commits on its own topic of `--partitions` partitions (100 x 300 = 30,000 partitions
in one `end_offsets` call; the adapter sends it as chunks of 1,000, all in flight). The baseline
is what any caller must do anyway: committed offsets for every group on a thread pool of the same
size, then ONE `end_offsets` for all their partitions. The ratio sampler/baseline is the sampler's
own cost (bookkeeping under its lock); the target is <= 1.3.
Runs alternate between the two so that broker warm-up and noise hit both alike; medians are shown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka import TopicPartition as KafkaTopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from bot.checks.lag_sampler import LagSampler, WindowSettings  # noqa: E402
from bot.clients.base import TopicPartition  # noqa: E402
from bot.clients.kafka import ConfluentKafkaAdmin  # noqa: E402
from bot.core.config import KafkaSettings  # noqa: E402
from bot.sandbox.kafka_local import LocalKafka  # noqa: E402


def seed(bootstrap: str, groups: int, partitions: int) -> list[str]:
    """One topic per group; one record per partition (so Tansu's end offsets are exact); commits at 0."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topics = [f"bench-lag-{i:03d}" for i in range(groups)]
    started = time.monotonic()
    for chunk in range(0, groups, 10):
        futures = admin.create_topics(
            [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics[chunk : chunk + 10]],
            request_timeout=120,
        )
        for future in futures.values():
            future.result(timeout=120)
    print(f"  created {groups} topics x {partitions} partitions in {time.monotonic() - started:.1f}s", flush=True)
    started = time.monotonic()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "queue.buffering.max.messages": 200_000})
    for topic in topics:
        for partition in range(partitions):
            producer.produce(topic, value=b"x", partition=partition)
        producer.poll(0)
    producer.flush(300)
    print(f"  produced {groups * partitions:,} records in {time.monotonic() - started:.1f}s", flush=True)
    started = time.monotonic()
    names = [f"bench-lag-app-{i:03d}" for i in range(groups)]
    for group, topic in zip(names, topics, strict=True):
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
        try:
            consumer.commit(offsets=[KafkaTopicPartition(topic, p, 0) for p in range(partitions)], asynchronous=False)
        finally:
            consumer.close()
    print(f"  committed {groups} groups in {time.monotonic() - started:.1f}s", flush=True)
    return names


def bare_calls(admin: ConfluentKafkaAdmin, pool: ThreadPoolExecutor, groups: list[str]) -> tuple[int, float, float]:
    """The floor: concurrent per-group committed offsets, then one batched end_offsets.

    Returns the partitions read and the seconds spent in each of the two phases.
    """
    started = time.perf_counter()
    committed = list(pool.map(lambda group: admin.committed_offsets([group]).get(group, {}), groups))
    partitions: set[TopicPartition] = {tp for offsets in committed for tp in offsets}
    fetched = time.perf_counter()
    ends = admin.end_offsets(sorted(partitions))
    return len(ends), fetched - started, time.perf_counter() - fetched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    with LocalKafka() as kafka:
        print(f"Tansu on {kafka.bootstrap_servers}; seeding {args.groups} groups x {args.partitions} partitions")
        groups = seed(kafka.bootstrap_servers, args.groups, args.partitions)
        settings = KafkaSettings(bootstrap_servers=kafka.bootstrap_servers)
        admin = ConfluentKafkaAdmin(settings, region="us-east-1", timeout=120)
        pool = ThreadPoolExecutor(max_workers=args.workers)
        sampler = LagSampler(admin, groups, settings=WindowSettings(min_interval_s=0), workers=args.workers)
        expected = args.groups * args.partitions
        # Warm-up: connections, metadata, the sampler's windows created.
        assert bare_calls(admin, pool, groups)[0] == expected, "not every partition was read"
        warm = sampler.sample(0.0)
        assert warm.partitions == expected and not warm.errors, warm

        bare_times: list[float] = []
        sampler_times: list[float] = []
        evaluate_times: list[float] = []
        phases: list[tuple[float, float]] = []
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            _, committed_s, ends_s = bare_calls(admin, pool, groups)
            bare_times.append(time.perf_counter() - started)
            phases.append((committed_s, ends_s))

            started = time.perf_counter()
            result = sampler.sample(run * 60.0)
            sampler_times.append(time.perf_counter() - started)
            assert result.partitions == expected and not result.errors, result

            started = time.perf_counter()
            verdicts = sampler.evaluate_all(run * 60.0)
            evaluate_times.append(time.perf_counter() - started)
            assert len(verdicts) == args.groups

        bare, sampled, judged = (statistics.median(t) for t in (bare_times, sampler_times, evaluate_times))
        print(f"\n{args.groups} groups x {args.partitions} partitions = {expected:,} partitions, {args.runs} runs")
        print(f"  bare batched calls   median {bare * 1000:8.1f} ms  (min {min(bare_times) * 1000:.1f})")
        committed_s = statistics.median(c for c, _ in phases)
        ends_s = statistics.median(e for _, e in phases)
        print(f"    of which committed offsets {committed_s * 1000:.1f} ms, end_offsets {ends_s * 1000:.1f} ms")
        print(f"  sampler.sample()     median {sampled * 1000:8.1f} ms  (min {min(sampler_times) * 1000:.1f})")
        print(f"  ratio sample/bare    {sampled / bare:.2f}x  (target <= 1.3x)")
        print(f"  evaluate_all()       median {judged * 1000:8.1f} ms  (all groups, {args.runs + 1} samples deep)")
        sampler.close()
        pool.shutdown()


if __name__ == "__main__":
    main()
