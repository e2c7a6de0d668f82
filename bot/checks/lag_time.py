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

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.checks.base import fmt_int
from bot.core.durations import format_duration

if TYPE_CHECKING:
    from bot.checks.lag_window import PartitionSample


@dataclass(frozen=True, slots=True)
class OffsetPoint:
    at: float  # epoch seconds
    offset: int


class EndOffsetHistory:
    """A partition's end offsets over time: bounded, time-ordered, offsets never decreasing.

    Runs of the same offset are compressed to their first and last point (as kafka-lag-exporter
    does), so an idle partition does not push its useful history out of the table.
    Stored as two flat arrays, ~1 KB a partition at 60 points: the sampler may hold tens of
    thousands. Not thread-safe on its own: the sampler guards it with its lock.
    """

    __slots__ = ("limit", "_times", "_offsets")

    def __init__(self, limit: int = 60) -> None:
        if limit < 2:
            raise ValueError("an end-offset history needs room for at least 2 points")
        self.limit = limit
        self._times = array("d")
        self._offsets = array("q")

    @classmethod
    def from_points(cls, points: Iterable[tuple[float, int]], limit: int = 60) -> EndOffsetHistory:
        history = cls(limit)
        for at, offset in points:
            history.add(at, offset)
        return history

    def add(self, at: float, offset: int) -> None:
        times, offsets = self._times, self._offsets
        if times:
            if at <= times[-1]:
                return  # out of order
            if offset < offsets[-1]:
                # The topic was truncated or recreated: the old history means nothing any more.
                del times[:], offsets[:]
            elif offset == offsets[-1] and len(offsets) > 1 and offsets[-2] == offset:
                times[-1] = at  # stretch the flat run instead of adding to it
                return
        if len(times) >= self.limit:
            del times[0], offsets[0]
        times.append(at)
        offsets.append(offset)

    def copy(self) -> EndOffsetHistory:
        clone = EndOffsetHistory(self.limit)
        clone._times = array("d", self._times)
        clone._offsets = array("q", self._offsets)
        return clone

    def points(self) -> list[OffsetPoint]:
        return [OffsetPoint(at, offset) for at, offset in zip(self._times, self._offsets, strict=True)]

    def __len__(self) -> int:
        return len(self._times)

    @property
    def latest_offset(self) -> int | None:
        return self._offsets[-1] if self._offsets else None

    def time_at(self, committed: int) -> tuple[float, TimeLagMethod] | None:
        """When the end offset was `committed`; None when at or past the end, or with one point only."""
        times, offsets = self._times, self._offsets
        if not times or committed >= offsets[-1]:
            return None
        if len(times) < 2:
            return None  # too few points (kafka-lag-exporter's TooFewPoints)
        if committed >= offsets[0]:
            # The segment that crosses the offset: offsets[right - 1] <= committed < offsets[right].
            # (Strict on the right, so a flat run at `committed` dates it to the run's end, when the
            # record at `committed` had not yet been written.)
            right = bisect_right(offsets, committed)
            left = right - 1
            slope = (times[right] - times[left]) / (offsets[right] - offsets[left])
            return times[left] + (committed - offsets[left]) * slope, TimeLagMethod.INTERPOLATED
        # Before the history: extrapolate along the history's overall production rate.
        span = times[-1] - times[0]
        produced = offsets[-1] - offsets[0]
        if span > 0 and produced > 0:
            return times[0] - (offsets[0] - committed) * span / produced, TimeLagMethod.EXTRAPOLATED
        # Nothing produced during the history: the record is older than all of it, by how much is unknown.
        return times[0], TimeLagMethod.AT_LEAST


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


def time_lag(history: EndOffsetHistory, committed: int, now: float) -> TimeLag | None:
    """How long ago the end offset was `committed`, i.e. the age of the oldest unconsumed record.

    None when it cannot be told yet: no history, or a single point and the group is behind it.
    """
    latest = history.latest_offset
    if latest is None:
        return None
    if committed >= latest:
        return TimeLag(0.0, TimeLagMethod.ZERO)
    found = history.time_at(committed)
    if found is None:
        return None
    at, method = found
    return TimeLag(max(0.0, now - at), method)


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
