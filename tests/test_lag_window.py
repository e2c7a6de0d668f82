"""Burrow's rules, time lag and forecasts on synthetic windows; the sampler over an in-memory admin.

Backend tests against a real Kafka-protocol broker are in test_lag_sampler_kafka.py.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterable

import pytest

from bot.checks.lag_sampler import LagSampler, WindowSettings, expand_consumer_groups
from bot.checks.lag_time import (
    EndOffsetHistory,
    ForecastKind,
    TimeLagMethod,
    forecast,
    time_lag,
)
from bot.checks.lag_window import (
    GroupVerdict,
    LagStatus,
    PartitionSample,
    PartitionVerdict,
    group_status,
    last_commit_time,
    partition_status,
    worst_status,
)
from bot.clients.base import BackendError, TopicPartition

T0 = 1_800_000_000.0
WINDOW_S = 600.0


def window(*rows: tuple[int, int], start: float = T0, step: float = 60.0) -> list[PartitionSample]:
    """(committed, end) rows, one sample per `step` seconds from `start`."""
    return [PartitionSample(start + i * step, committed, end) for i, (committed, end) in enumerate(rows)]


def status(
    rows: list[PartitionSample],
    now: float | None = None,
    last_commit_at: float | None = None,
    read_error: str | None = None,
) -> LagStatus:
    """The partition's verdict at `now` (default: the newest sample's time)."""
    at = now if now is not None else rows[-1].at
    return partition_status(rows, at, WINDOW_S, last_commit_at=last_commit_at, read_error=read_error)


# --- rules ---------------------------------------------------------------------------------------


def test_warn_when_commits_advance_but_lag_never_decreases() -> None:
    rows = window((100, 200), (150, 260), (200, 330), (250, 400), (300, 470))
    assert status(rows) is LagStatus.WARN


def test_lag_flat_while_committing_is_warn_as_in_burrow() -> None:
    # Burrow's rule 5 is "not decreasing", so a constant lag with moving commits warns too.
    assert status(window((100, 200), (200, 300), (300, 400))) is LagStatus.WARN


def test_ok_when_lag_decreases_somewhere_in_the_window() -> None:
    rows = window((100, 200), (150, 260), (250, 300), (300, 370))
    assert status(rows) is LagStatus.OK


def test_ok_when_lag_was_zero_at_any_sample_even_if_growing_since() -> None:
    rows = window((100, 100), (110, 200), (120, 300), (130, 400))
    assert status(rows) is LagStatus.OK


def test_ok_when_current_lag_is_zero() -> None:
    assert status(window((100, 200), (100, 300), (300, 300))) is LagStatus.OK


def test_stall_when_commits_do_not_move_with_lag_then_stop_as_time_passes() -> None:
    rows = window((100, 200), (100, 250), (100, 300), (100, 350))  # spans 3 min
    assert status(rows) is LagStatus.STALL
    # The committed offset has not changed since the first sample: once that is older than the
    # window, the consumer is judged stopped.
    assert status(rows, now=T0 + WINDOW_S - 1) is LagStatus.STALL
    assert status(rows, now=T0 + WINDOW_S + 1) is LagStatus.STOP


def test_stop_uses_the_last_commit_time_when_known() -> None:
    rows = window((100, 200), (100, 250), (100, 300))
    # The sampler saw the offset change long before this window began.
    assert status(rows, last_commit_at=T0 - 900) is LagStatus.STOP
    assert status(rows, last_commit_at=T0) is LagStatus.STALL


def test_stop_when_commits_advanced_but_not_within_the_window() -> None:
    rows = window((100, 200), (150, 250), (150, 300))  # last change at T0 + 60
    assert last_commit_time(rows) == T0 + 60
    assert status(rows, now=T0 + 60 + WINDOW_S + 1) is LagStatus.STOP


def test_rewind_when_committed_offset_goes_backwards() -> None:
    rows = window((500, 900), (600, 950), (200, 1000), (250, 1050))
    assert status(rows) is LagStatus.REWIND
    # Checked before STOP, as in Burrow.
    assert status(rows, now=T0 + 10 * WINDOW_S) is LagStatus.REWIND


def test_err_when_offsets_cannot_be_read() -> None:
    assert status(window((100, 100)), read_error="timed out") is LagStatus.ERR
    assert partition_status([], T0, WINDOW_S, read_error="no end offset") is LagStatus.ERR


def test_window_not_full_is_judged_on_what_it_has() -> None:
    assert partition_status([], T0, WINDOW_S) is LagStatus.OK
    # One sample says nothing about movement: neither STALL nor WARN yet.
    assert status(window((100, 200))) is LagStatus.OK
    # Two samples are enough to judge.
    assert status(window((100, 200), (100, 220))) is LagStatus.STALL
    assert status(window((100, 200), (120, 230))) is LagStatus.WARN


def test_committed_past_the_end_counts_as_no_lag() -> None:
    assert PartitionSample(T0, 500, 400).lag == 0
    assert status(window((500, 400), (500, 400))) is LagStatus.OK


# --- group = worst partition ---------------------------------------------------------------------


def verdict(status: LagStatus, lag: int = 10, partition: int = 0) -> PartitionVerdict:
    return PartitionVerdict("t", partition, status, lag, 0, lag, samples=10, complete=1.0)


def test_severity_order_err_stop_stall_rewind_warn_ok() -> None:
    order = [LagStatus.ERR, LagStatus.STOP, LagStatus.STALL, LagStatus.REWIND, LagStatus.WARN, LagStatus.OK]
    assert sorted(order, key=lambda s: -s.severity) == order
    assert worst_status(reversed(order)) is LagStatus.ERR
    assert worst_status([]) is LagStatus.OK


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([LagStatus.OK, LagStatus.WARN, LagStatus.OK], LagStatus.WARN),
        ([LagStatus.WARN, LagStatus.REWIND], LagStatus.REWIND),
        ([LagStatus.REWIND, LagStatus.STALL, LagStatus.WARN], LagStatus.STALL),
        ([LagStatus.STALL, LagStatus.STOP], LagStatus.STOP),
        ([LagStatus.STOP, LagStatus.ERR, LagStatus.OK], LagStatus.ERR),
    ],
)
def test_group_is_its_worst_partition(statuses: list[LagStatus], expected: LagStatus) -> None:
    partitions = [verdict(s, partition=i) for i, s in enumerate(statuses)]
    assert group_status(partitions) is expected
    group = GroupVerdict("g", group_status(partitions), partitions)
    assert group.worst_partitions(1)[0].status is expected


def test_group_err_when_unreadable_notfound_when_empty_and_burrow_collapse() -> None:
    assert group_status([verdict(LagStatus.OK)], error="timeout") is LagStatus.ERR
    assert group_status([]) is LagStatus.NOTFOUND
    assert GroupVerdict("g", LagStatus.STALL).burrow_status is LagStatus.ERR
    assert GroupVerdict("g", LagStatus.WARN).burrow_status is LagStatus.WARN


# --- time lag ------------------------------------------------------------------------------------


def test_end_offset_history_is_bounded_compresses_flat_runs_and_resets_on_truncation() -> None:
    history = EndOffsetHistory(limit=4)
    for i, offset in enumerate([10, 20, 20, 20, 20, 30]):
        history.add(T0 + i, offset)
    assert [(p.at - T0, p.offset) for p in history.points()] == [(0, 10), (1, 20), (4, 20), (5, 30)]
    history.add(T0 + 6, 40)
    assert len(history) == 4 and history.points()[0].offset == 20
    history.add(T0 + 6, 50)  # out of order: ignored
    assert history.points()[-1].offset == 40
    history.add(T0 + 7, 5)  # the topic was recreated
    assert [p.offset for p in history.points()] == [5]


def test_time_lag_zero_interpolated_extrapolated_and_lower_bound() -> None:
    points = EndOffsetHistory.from_points([(T0, 1000), (T0 + 60, 1600), (T0 + 120, 2800)])
    now = T0 + 120
    assert time_lag(points, 2800, now).method is TimeLagMethod.ZERO  # type: ignore[union-attr]
    inside = time_lag(points, 2200, now)
    assert inside is not None and inside.method is TimeLagMethod.INTERPOLATED
    assert inside.seconds == pytest.approx(30.0)
    assert not inside.estimated
    before = time_lag(points, 100, now)
    assert before is not None and before.method is TimeLagMethod.EXTRAPOLATED and before.estimated
    assert before.seconds == pytest.approx(120 + 900 / (1800 / 120))
    assert "estimate" in before.text
    flat = EndOffsetHistory.from_points([(T0, 1000), (T0 + 300, 1000)])
    bound = time_lag(flat, 900, T0 + 300)
    assert bound is not None and bound.method is TimeLagMethod.AT_LEAST and bound.seconds == 300
    assert bound.text.startswith("more than")
    assert time_lag(EndOffsetHistory(), 5, now) is None
    # One point and behind it: too few points to tell (kafka-lag-exporter's TooFewPoints).
    assert time_lag(EndOffsetHistory.from_points([(T0, 1000)]), 900, now) is None


def test_time_lag_on_a_flat_run_dates_the_record_to_the_run_end() -> None:
    # Nothing produced between T0 and T0+300 at offset 1000; record 1000 was written after T0+300.
    points = EndOffsetHistory.from_points([(T0, 1000), (T0 + 300, 1000), (T0 + 360, 1600)])
    lag = time_lag(points, 1000, T0 + 360)
    assert lag is not None and lag.seconds == pytest.approx(60.0)


def production_rate(t: float) -> float:
    """Records/s at second t: a daily-traffic-like wave between 20 and 80."""
    return 50 + 30 * math.sin(t / 900)


def offset_at(t: float) -> float:
    """Records produced from T0 to T0 + t (the integral of production_rate)."""
    return 50 * t - 30 * 900 * (math.cos(t / 900) - 1)


def test_time_lag_is_within_20_percent_of_the_seeded_message_age() -> None:
    history = EndOffsetHistory(limit=60)
    for minute in range(60):  # sampled once a minute for an hour
        history.add(T0 + minute * 60, int(offset_at(minute * 60)))
    now_s = 59 * 60
    for produced_at_s in (3000.0, 2000.0, 600.0):
        committed = int(offset_at(produced_at_s))
        lag = time_lag(history, committed, T0 + now_s)
        assert lag is not None and lag.method is TimeLagMethod.INTERPOLATED
        age = now_s - produced_at_s
        assert abs(lag.seconds - age) <= 0.2 * age, (lag.seconds, age)


def test_extrapolated_time_lag_before_the_history_is_an_estimate_close_to_the_age() -> None:
    history = EndOffsetHistory(limit=10)
    for minute in range(50, 60):  # only the last 10 minutes kept
        history.add(T0 + minute * 60, int(20 * minute * 60))  # steady 20/s
    lag = time_lag(history, 20 * 1800, T0 + 59 * 60)  # the record written at minute 30
    assert lag is not None and lag.estimated
    assert lag.seconds == pytest.approx(29 * 60, rel=0.2)


# --- forecast ------------------------------------------------------------------------------------


def test_drain_forecast_within_25_percent_of_the_real_drain_time() -> None:
    rng = random.Random(3)
    produce, consume = 30.0, 75.0  # records/s on average, with per-second noise
    committed, end = 0.0, 60_000.0
    samples: list[PartitionSample] = []
    t = 0
    drained_at: int | None = None
    while drained_at is None:
        if t % 60 == 0 and len(samples) < 10:
            samples.append(PartitionSample(T0 + t, int(committed), int(end)))
        end += rng.uniform(0, 2 * produce)
        committed = min(end, committed + rng.uniform(0, 2 * consume))
        t += 1
        if len(samples) == 10 and end - committed < 1:
            drained_at = t
    result = forecast([samples], lag_crit=100_000)
    assert result is not None and result.kind is ForecastKind.DRAINS
    real = drained_at - (samples[-1].at - T0)
    assert result.seconds is not None and abs(result.seconds - real) <= 0.25 * real, (result.seconds, real)
    assert result.text.startswith("drains in ~")


def test_growth_forecast_reaches_lag_crit_and_above_crit() -> None:
    # Lag grows by 50/s from 10,000: 90,000 to go -> 30 min.
    rows = [PartitionSample(T0 + i * 60, 1000 * i, 11_000 + 1050 * i) for i in range(10)]
    result = forecast([rows], lag_crit=100_000)
    assert result is not None and result.kind is ForecastKind.REACHES_CRIT
    lag_now = rows[-1].lag
    assert result.seconds == pytest.approx((100_000 - lag_now) / (50 / 60))
    assert result.text.startswith("reaches lag_crit 100,000 in ~")
    above = forecast([rows], lag_crit=1_000)
    assert above is not None and above.kind is ForecastKind.ABOVE_CRIT
    assert forecast([rows], lag_crit=None).kind is ForecastKind.GROWING  # type: ignore[union-attr]


def test_forecast_needs_two_samples_and_sums_partitions() -> None:
    assert forecast([window((0, 100))], 100) is None
    caught_up = forecast([window((100, 100), (200, 200))], 100)
    assert caught_up is not None and caught_up.kind is ForecastKind.CAUGHT_UP
    two = forecast([window((0, 600), (600, 600)), window((0, 600), (0, 600))], 10_000)
    assert two is not None and two.kind is ForecastKind.DRAINS and two.lag == 600
    assert two.seconds == pytest.approx(60.0)


# --- consumer_groups: all -------------------------------------------------------------------------


def test_expand_all_minus_excluded_globs_keeps_explicit_names() -> None:
    listed = ["pii-masking-app", "connect-oracle", "_confluent-ksql", "console-consumer-1", "console-consumer-2"]
    assert expand_consumer_groups("all", listed, ["console-consumer-*", "_*"]) == [
        "connect-oracle",
        "pii-masking-app",
    ]
    assert expand_consumer_groups(["all", "console-consumer-1", "new-app"], listed, ["console-*", "_*"]) == [
        "connect-oracle",
        "pii-masking-app",
        "console-consumer-1",
        "new-app",
    ]
    assert expand_consumer_groups(["pii-masking-app"], listed) == ["pii-masking-app"]
    assert expand_consumer_groups("all", []) == []


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
