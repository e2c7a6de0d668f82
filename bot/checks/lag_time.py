"""Time lag and lag forecasts, pure functions over sampled offsets.

Time lag is kafka-lag-exporter's method (LookupTable.scala): keep a partition's end-offset history
as (time, offset) points, then read the time at which the end offset was the group's committed
offset; the time lag is now minus that time. Inside the history it is a linear interpolation;
a committed offset older than the history is extrapolated along the history's overall rate
and marked as an estimate.

The forecast extrapolates a group's consumption and production rates over the window: when the
group consumes faster than producers write, when it drains; when lag grows, when it reaches lag_crit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.checks.base import fmt_int
from bot.core.durations import format_duration

if TYPE_CHECKING:
    from bot.checks.lag_window import PartitionSample


@dataclass(frozen=True)
class OffsetPoint:
    at: float  # epoch seconds
    offset: int


class EndOffsetHistory:
    """A partition's end offsets over time: bounded, time-ordered, offsets never decreasing.

    Runs of the same offset are compressed to their first and last point (as kafka-lag-exporter
    does), so an idle partition does not push its useful history out of the table.
    Not thread-safe on its own: the sampler guards it with its lock.
    """

    def __init__(self, limit: int = 60) -> None:
        if limit < 2:
            raise ValueError("an end-offset history needs room for at least 2 points")
        self._points: deque[OffsetPoint] = deque(maxlen=limit)

    def add(self, at: float, offset: int) -> None:
        points = self._points
        if points:
            last = points[-1]
            if at <= last.at:
                return  # out of order
            if offset < last.offset:
                # The topic was truncated or recreated: the old history means nothing any more.
                points.clear()
            elif offset == last.offset and len(points) > 1 and points[-2].offset == offset:
                points[-1] = OffsetPoint(at, offset)  # stretch the flat run instead of adding to it
                return
        points.append(OffsetPoint(at, offset))

    def points(self) -> list[OffsetPoint]:
        return list(self._points)

    def __len__(self) -> int:
        return len(self._points)


class TimeLagMethod(StrEnum):
    ZERO = "zero"  # committed offset is at the end
    INTERPOLATED = "interpolated"  # within the end-offset history
    EXTRAPOLATED = "extrapolated"  # before the history, along its overall rate: an estimate
    AT_LEAST = "at_least"  # before the history and nothing was produced in it: a lower bound


@dataclass(frozen=True)
class TimeLag:
    seconds: float
    method: TimeLagMethod

    @property
    def estimated(self) -> bool:
        return self.method in (TimeLagMethod.EXTRAPOLATED, TimeLagMethod.AT_LEAST)

    @property
    def text(self) -> str:
        human = format_duration(self.seconds)
        if self.method is TimeLagMethod.AT_LEAST:
            return f"more than {human}"
        if self.method is TimeLagMethod.EXTRAPOLATED:
            return f"~{human} (estimate)"
        return human


def time_lag(history: Sequence[OffsetPoint], committed: int, now: float) -> TimeLag | None:
    """How long ago the end offset was `committed`, i.e. the age of the oldest unconsumed record."""
    if not history:
        return None
    last = history[-1]
    if committed >= last.offset:
        return TimeLag(0.0, TimeLagMethod.ZERO)
    first = history[0]
    if committed >= first.offset:
        # The latest segment that crosses the offset: left.offset <= committed < right.offset.
        # (Strict on the right, so a flat run at `committed` dates it to the run's end, when the
        # record at `committed` had not yet been written.)
        for left, right in zip(reversed(history[:-1]), reversed(history[1:]), strict=True):
            if left.offset <= committed < right.offset:
                at = left.at + (committed - left.offset) * (right.at - left.at) / (right.offset - left.offset)
                return TimeLag(max(0.0, now - at), TimeLagMethod.INTERPOLATED)
    # Before the history: extrapolate along the history's overall production rate.
    span = last.at - first.at
    produced = last.offset - first.offset
    if span > 0 and produced > 0:
        at = first.at - (first.offset - committed) * span / produced
        return TimeLag(max(0.0, now - at), TimeLagMethod.EXTRAPOLATED)
    # Nothing produced during the history: the record is older than all of it, by how much is unknown.
    return TimeLag(max(0.0, now - first.at), TimeLagMethod.AT_LEAST)


# --- forecast ------------------------------------------------------------------------------------


class ForecastKind(StrEnum):
    CAUGHT_UP = "caught_up"
    DRAINS = "drains"
    REACHES_CRIT = "reaches_crit"
    ABOVE_CRIT = "above_crit"  # already past lag_crit and growing
    GROWING = "growing"  # growing, no lag_crit given
    STEADY = "steady"


@dataclass(frozen=True)
class Forecast:
    kind: ForecastKind
    lag: int
    consume_rate: float  # records/s committed, summed over partitions
    produce_rate: float  # records/s written, summed over partitions
    seconds: float | None = None  # until drained / until lag_crit; None when it does not apply
    lag_crit: int | None = None

    @property
    def net_drain_rate(self) -> float:
        return self.consume_rate - self.produce_rate

    @property
    def text(self) -> str:
        eta = f"~{format_duration(self.seconds)}" if self.seconds is not None else ""
        if self.kind is ForecastKind.DRAINS:
            return f"drains in {eta}"
        if self.kind is ForecastKind.REACHES_CRIT:
            return f"reaches lag_crit {fmt_int(self.lag_crit or 0)} in {eta}"
        if self.kind is ForecastKind.ABOVE_CRIT:
            return f"above lag_crit {fmt_int(self.lag_crit or 0)} and growing {-self.net_drain_rate:,.0f}/s"
        if self.kind is ForecastKind.GROWING:
            return f"growing {-self.net_drain_rate:,.0f}/s"
        if self.kind is ForecastKind.CAUGHT_UP:
            return "caught up"
        return "lag steady"


def window_rates(window: Sequence[PartitionSample]) -> tuple[float, float] | None:
    """(consume, produce) records/s across a partition's window; None with under two samples."""
    if len(window) < 2 or window[-1].at <= window[0].at:
        return None
    span = window[-1].at - window[0].at
    return (window[-1].committed - window[0].committed) / span, (window[-1].end - window[0].end) / span


def forecast(windows: Iterable[Sequence[PartitionSample]], lag_crit: int | None) -> Forecast | None:
    """A group's forecast from its partitions' windows; None until some partition has two samples."""
    consume = produce = 0.0
    lag = 0
    measured = False
    for window in windows:
        if not window:
            continue
        lag += window[-1].lag
        rates = window_rates(window)
        if rates is None:
            continue
        measured = True
        consume += max(0.0, rates[0])  # a rewind is not negative consumption
        produce += max(0.0, rates[1])
    if not measured:
        return None
    net = consume - produce
    if lag == 0 and net >= 0:
        return Forecast(ForecastKind.CAUGHT_UP, lag, consume, produce)
    # Under 0.1% of the production rate (or 1e-9 rec/s when idle) counts as steady.
    tolerance = max(1e-9, 0.001 * produce)
    if net > tolerance:
        return Forecast(ForecastKind.DRAINS, lag, consume, produce, seconds=lag / net)
    if net < -tolerance:
        if lag_crit is not None and lag < lag_crit:
            return Forecast(
                ForecastKind.REACHES_CRIT, lag, consume, produce, seconds=(lag_crit - lag) / -net, lag_crit=lag_crit
            )
        if lag_crit is not None:
            return Forecast(ForecastKind.ABOVE_CRIT, lag, consume, produce, lag_crit=lag_crit)
        return Forecast(ForecastKind.GROWING, lag, consume, produce)
    return Forecast(ForecastKind.STEADY, lag, consume, produce)
