"""LagSampler's bookkeeping over an in-memory KafkaAdmin: batching, bounds, errors, sharing, threads.

The same sampler against a real Kafka-protocol broker (Tansu) is in test_lag_sampler_kafka.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from bot.checks.lag_sampler import LagSampler, WindowSettings
from bot.checks.lag_time import ForecastKind
from bot.checks.lag_window import LagStatus
from bot.clients.base import BackendError, TopicPartition

T0 = 1_800_000_000.0
WINDOW_S = 600.0


# --- the sampler, over an in-memory KafkaAdmin -----------------------------------------------------


class MemoryAdmin:
    """Just the KafkaAdmin reads the sampler uses, with offsets the test sets and calls counted."""

    def __init__(self) -> None:
        self.committed: dict[str, dict[TopicPartition, int]] = {}
        self.ends: dict[TopicPartition, int] = {}
        self.failing_groups: set[str] = set()
        self.end_offsets_fail = False
        self.list_groups_fail = False
        self.end_offset_calls: list[list[TopicPartition]] = []
        self.committed_calls: list[list[str]] = []
        self._lock = threading.Lock()

    def list_groups(self) -> list[str]:
        if self.list_groups_fail:
            raise BackendError("Kafka did not answer list_consumer_groups within 5s")
        return sorted(self.committed)

    def committed_offsets(self, groups: list[str]) -> dict[str, dict[TopicPartition, int]]:
        with self._lock:
            self.committed_calls.append(list(groups))
        for group in groups:
            if group in self.failing_groups:
                raise BackendError(f"Kafka did not answer offset fetch for group {group} within 5s")
        return {g: dict(self.committed[g]) for g in groups if g in self.committed}

    def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        if self.end_offsets_fail:
            raise BackendError("Kafka did not answer list_offsets within 5s")
        wanted = list(partitions)
        with self._lock:
            self.end_offset_calls.append(wanted)
        return {tp: self.ends[tp] for tp in wanted if tp in self.ends}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def close_samplers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every sampler a test builds is closed after it, so its read pool leaves no thread behind."""
    built: list[LagSampler] = []
    original = LagSampler.__init__

    def init(self: LagSampler, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        built.append(self)

    monkeypatch.setattr(LagSampler, "__init__", init)
    yield
    for sampler in built:
        sampler.close()


def make_sampler(admin: MemoryAdmin, groups: list[str] | str, **settings: float) -> tuple[LagSampler, Clock]:
    clock = Clock()
    options = {"samples": 10, "seconds": WINDOW_S, "min_interval_s": 5.0} | settings
    sampler = LagSampler(
        admin,
        groups,
        settings=WindowSettings(**options),  # type: ignore[arg-type]
        lag_crit=100_000,
        clock=clock,
    )
    return sampler, clock


def test_sampler_batches_end_offsets_and_reads_groups_separately() -> None:
    admin = MemoryAdmin()
    admin.committed = {"a": {("t", 0): 5, ("t", 1): 5}, "b": {("t", 1): 3, ("u", 0): 1}}
    admin.ends = {("t", 0): 10, ("t", 1): 10, ("u", 0): 2}
    sampler, _ = make_sampler(admin, ["a", "b"])
    result = sampler.sample()
    assert result.groups == 2 and result.partitions == 3 and not result.errors
    assert len(admin.end_offset_calls) == 1 and sorted(admin.end_offset_calls[0]) == [("t", 0), ("t", 1), ("u", 0)]
    assert sorted(admin.committed_calls) == [["a"], ["b"]]
    verdict_a = sampler.evaluate("a")
    assert verdict_a.total_lag == 10 and verdict_a.status is LagStatus.OK and verdict_a.partitions[0].samples == 1
    sampler.close()


def test_sampler_stall_then_stop_as_the_injected_clock_advances() -> None:
    admin = MemoryAdmin()
    admin.committed = {"g": {("t", 0): 100}}
    sampler, clock = make_sampler(admin, "g")
    for minute in range(5):
        admin.ends = {("t", 0): 200 + 50 * minute}
        clock.now = T0 + 60 * minute
        sampler.sample()
    assert sampler.evaluate("g").status is LagStatus.STALL
    clock.now = T0 + WINDOW_S + 1
    stopped = sampler.evaluate("g")
    assert stopped.status is LagStatus.STOP and stopped.burrow_status is LagStatus.ERR
    assert stopped.partitions[0].last_commit_age_s == pytest.approx(WINDOW_S + 1)


def test_sampler_warn_with_time_lag_and_forecast() -> None:
    admin = MemoryAdmin()
    sampler, clock = make_sampler(admin, ["g"])
    for minute in range(10):  # produces 60/s, consumes 40/s
        clock.now = T0 + 60 * minute
        admin.ends = {("t", 0): 6000 + 3600 * minute}
        admin.committed = {"g": {("t", 0): 2400 * minute}}
        sampler.sample()
    result = sampler.evaluate("g")
    assert result.status is LagStatus.WARN
    assert result.forecast is not None and result.forecast.kind is ForecastKind.REACHES_CRIT
    assert result.forecast.seconds == pytest.approx((100_000 - result.total_lag) / 20)
    assert result.time_lag is not None and not result.time_lag.estimated
    # committed 21,600 = the end offset at minute 4.33; now is minute 9.
    assert result.time_lag.seconds == pytest.approx(280, rel=0.01)


def test_sampler_memory_is_bounded_by_samples_and_seconds() -> None:
    admin = MemoryAdmin()
    admin.committed = {"g": {("t", 0): 0}}
    sampler, clock = make_sampler(admin, "g", samples=4, seconds=150.0, min_interval_s=0.0)
    for i in range(50):
        clock.now = T0 + 60 * i
        admin.ends = {("t", 0): i}
        admin.committed = {"g": {("t", 0): i}}
        sampler.sample()
    assert sampler.evaluate("g").partitions[0].samples == 3  # 4 by count, 3 within 150 s
    admin.committed = {"g": {("t", 1): 0}}  # the group moved on from partition 0
    admin.ends = {("t", 1): 0}
    clock.now += 60
    sampler.sample()
    assert [(p.topic, p.partition) for p in sampler.evaluate("g").partitions] == [("t", 1)]
    assert list(sampler._histories) == [("t", 1)]


def test_sampler_err_when_a_group_or_the_end_offsets_cannot_be_read() -> None:
    admin = MemoryAdmin()
    admin.committed = {"good": {("t", 0): 1}, "bad": {("t", 0): 1}}
    admin.ends = {("t", 0): 1}
    admin.failing_groups = {"bad"}
    sampler, _ = make_sampler(admin, ["good", "bad", "missing"])
    result = sampler.sample()
    assert set(result.errors) == {"bad"}
    verdicts = sampler.evaluate_all()
    assert verdicts["good"].status is LagStatus.OK
    assert verdicts["bad"].status is LagStatus.ERR and "offset fetch" in (verdicts["bad"].error or "")
    assert verdicts["missing"].status is LagStatus.NOTFOUND
    assert sampler.evaluate("never-sampled").status is LagStatus.NOTFOUND

    admin.end_offsets_fail = True
    sampler.sample(T0 + 60)
    assert sampler.evaluate("good").status is LagStatus.ERR


def test_sampler_all_groups_with_excludes_and_shared_reads() -> None:
    admin = MemoryAdmin()
    admin.committed = {"app": {("t", 0): 1}, "console-consumer-7": {("t", 0): 1}}
    admin.ends = {("t", 0): 1}
    sampler = LagSampler(admin, "all", exclude=["console-consumer-*"], clock=lambda: T0)
    sampler.sample()
    assert sampler.groups() == ["app"]
    assert sampler.sample(T0 + 1).shared  # within min_interval_s: no second read
    assert len(admin.end_offset_calls) == 1
    # The group listing fails: keep watching the groups already known, and say why.
    admin.list_groups_fail = True
    result = sampler.sample(T0 + 60)
    assert "list_consumer_groups" in result.errors["*"]
    assert sampler.groups() == ["app"] and sampler.evaluate("app", T0 + 60).partitions[0].samples == 2


def test_sampler_is_safe_under_concurrent_samples_and_evaluations() -> None:
    admin = MemoryAdmin()
    admin.committed = {f"g{i}": {("t", p): 0 for p in range(20)} for i in range(10)}
    admin.ends = {("t", p): 100 for p in range(20)}
    sampler, _ = make_sampler(admin, sorted(admin.committed), min_interval_s=0.0)
    errors: list[BaseException] = []
    times = iter(range(1, 10_000))
    times_lock = threading.Lock()

    def worker() -> None:
        try:
            for _ in range(20):
                with times_lock:
                    at = T0 + next(times)
                sampler.sample(at)
                sampler.evaluate_all(at)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    verdict_g0 = sampler.evaluate("g0", T0 + 100)
    assert len(verdict_g0.partitions) == 20
    assert all(p.samples == 10 for p in verdict_g0.partitions)
    sampler.close()


def test_a_caller_that_waits_for_a_read_in_flight_shares_it() -> None:
    class SlowAdmin(MemoryAdmin):
        def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
            time.sleep(0.3)
            return super().end_offsets(partitions)

    admin = SlowAdmin()
    admin.committed = {"g": {("t", 0): 1}}
    admin.ends = {("t", 0): 2}
    sampler = LagSampler(admin, ["g"], settings=WindowSettings(min_interval_s=0))  # the real clock
    first = threading.Thread(target=sampler.sample)
    first.start()
    time.sleep(0.1)
    second = sampler.sample()  # arrives while the first read is in flight
    first.join()
    assert second.shared and len(admin.end_offset_calls) == 1
    assert not sampler.sample().shared  # a caller arriving after it reads afresh
    sampler.close()
