"""Burrow's rules, time lag and forecasts on synthetic windows; `consumer_groups: all` expansion.

The sampler's bookkeeping is in test_lag_sampler.py; the sampler against a real Kafka-protocol
broker in test_lag_sampler_kafka.py.
"""

from __future__ import annotations

import math
import random

import pytest

from bot.checks.lag_sampler import expand_consumer_groups
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
