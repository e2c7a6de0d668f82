"""Burrow's lag rules over a sliding window of samples, as pure functions.

A window is one partition's recent samples, oldest first: (time, committed offset, end offset).
The rules mirror LinkedIn Burrow's evaluator (core/internal/evaluator/caching.go):

1. lag zero at any sample in the window (or now) -> OK, nothing else is checked;
2. the committed offset went backwards between two samples -> REWIND;
3. no commit within the window (the last one is older than the window) -> STOP;
4. the committed offset did not move across the window -> STALL;
5. commits advance but the lag never decreased between two samples -> WARN;
otherwise OK. Rules 2-5 run in that order, so a rewound partition that has since stopped is REWIND,
as in Burrow. ERR (offsets unreadable) is decided before any rule.

Where this differs from Burrow, on purpose:
- Burrow sees every commit with its timestamp; we sample OffsetFetch, so the "last commit" is the
  time the committed offset was last seen to change (a lower bound on the real commit age is never
  over-stated: a change between two samples is dated at the later one).
- STOP is "older than the configured window length" (the brief), where Burrow compares with the
  span of the stored commits; with a full window the two agree.
- STALL and WARN need two samples: one sample says nothing about movement. (Burrow, given one
  commit, reports STOP as soon as a second passes.)
- Group status: Burrow collapses STOP/STALL/REWIND into ERR for a group; we keep the worst
  partition's own status (ranked ERR > STOP > STALL > REWIND > WARN > OK) and expose Burrow's
  collapsed form as `GroupVerdict.burrow_status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.checks.lag_time import Forecast, TimeLag


class LagStatus(StrEnum):
    NOTFOUND = "NOTFOUND"  # the group has no committed offsets, or was never sampled
    OK = "OK"
    WARN = "WARN"
    REWIND = "REWIND"
    STALL = "STALL"
    STOP = "STOP"
    ERR = "ERR"

    @property
    def severity(self) -> int:
        """Worst-first ranking used to pick a group's status from its partitions."""
        return _SEVERITY[self]


_SEVERITY = {
    LagStatus.OK: 0,
    LagStatus.NOTFOUND: 1,
    LagStatus.WARN: 2,
    LagStatus.REWIND: 3,
    LagStatus.STALL: 4,
    LagStatus.STOP: 5,
    LagStatus.ERR: 6,
}


def worst_status(statuses: Iterable[LagStatus], default: LagStatus = LagStatus.OK) -> LagStatus:
    return max(statuses, key=lambda s: s.severity, default=default)


@dataclass(frozen=True, slots=True)
class PartitionSample:
    at: float  # epoch seconds
    committed: int
    end: int

    @property
    def lag(self) -> int:
        # A committed offset past the end (a truncated or recreated topic) is no lag, not negative lag.
        return max(0, self.end - self.committed)


Window = Sequence[PartitionSample]

# --- the rules, each a pure predicate over a window (oldest sample first) ------------------------


def lag_zero_in_window(window: Window) -> bool:
    """Burrow rule 1: lag was zero at some sample, so the consumer caught up within the window."""
    return any(s.lag == 0 for s in window)


def offsets_rewind(window: Window) -> bool:
    """Burrow rule 2: the committed offset decreased from one sample to the next."""
    return any(later.committed < earlier.committed for earlier, later in zip(window, window[1:], strict=False))


def last_commit_time(window: Window) -> float | None:
    """When the committed offset was last seen to change, judged from the window alone.

    With no change in the window the commit is at least as old as the first sample, which is
    what is returned (a lower bound on its age). The sampler knows more and passes it in.
    """
    if not window:
        return None
    for earlier, later in zip(reversed(window[:-1]), reversed(window[1:]), strict=True):
        if later.committed != earlier.committed:
            return later.at
    return window[0].at


def offsets_stopped(now: float, last_commit_at: float, window_seconds: float) -> bool:
    """Burrow rule 3: no commit within the window, the last one is older than the window."""
    return now - last_commit_at > window_seconds


def offsets_stalled(window: Window) -> bool:
    """Burrow rule 4: the committed offset did not move across the window (needs two samples)."""
    return len(window) >= 2 and all(s.committed == window[0].committed for s in window)


def lag_not_decreasing(window: Window) -> bool:
    """Burrow rule 5: the lag never went down between two samples while commits advanced."""
    pairs = zip(window, window[1:], strict=False)
    return len(window) >= 2 and all(later.lag >= earlier.lag for earlier, later in pairs)


def partition_status(
    window: Window,
    now: float,
    window_seconds: float,
    last_commit_at: float | None = None,
    read_error: str | None = None,
) -> LagStatus:
    """One partition's verdict. `last_commit_at` defaults to what the window alone shows."""
    if read_error is not None:
        return LagStatus.ERR
    if not window:
        return LagStatus.OK  # nothing to judge yet (Burrow: no offsets -> OK)
    current_lag = window[-1].lag
    if current_lag == 0 or lag_zero_in_window(window):
        return LagStatus.OK
    if offsets_rewind(window):
        return LagStatus.REWIND
    commit_at = last_commit_at if last_commit_at is not None else last_commit_time(window)
    if commit_at is not None and offsets_stopped(now, commit_at, window_seconds):
        return LagStatus.STOP
    if offsets_stalled(window):
        return LagStatus.STALL
    if lag_not_decreasing(window):
        return LagStatus.WARN
    return LagStatus.OK


_REASONS = {
    LagStatus.OK: "keeping up",
    LagStatus.WARN: "commits advance but lag has not decreased across the window",
    LagStatus.REWIND: "committed offset went backwards",
    LagStatus.STALL: "committed offset has not moved across the window, lag > 0",
    LagStatus.STOP: "no commit within the window, lag > 0",
    LagStatus.ERR: "offsets could not be read",
    LagStatus.NOTFOUND: "no committed offsets",
}


def status_reason(status: LagStatus) -> str:
    return _REASONS[status]


# --- verdicts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionVerdict:
    topic: str
    partition: int
    status: LagStatus
    lag: int | None  # None when the partition has never been read
    committed: int | None
    end: int | None
    samples: int
    complete: float  # samples held / window length, as Burrow's `complete`
    time_lag: TimeLag | None = None
    last_commit_age_s: float | None = None  # since the committed offset was last seen to change
    error: str | None = None

    @property
    def reason(self) -> str:
        return self.error or status_reason(self.status)


@dataclass(frozen=True)
class GroupVerdict:
    group: str
    status: LagStatus
    partitions: list[PartitionVerdict] = field(default_factory=list)
    forecast: Forecast | None = None
    sampled_at: float | None = None  # the newest sample behind this verdict
    error: str | None = None

    @property
    def total_lag(self) -> int:
        return sum(p.lag or 0 for p in self.partitions)

    @property
    def max_lag(self) -> PartitionVerdict | None:
        return max(self.partitions, key=lambda p: p.lag or 0, default=None)

    @property
    def time_lag(self) -> TimeLag | None:
        """The group's time lag: its slowest partition's (as kafka-lag-exporter's max time lag)."""
        lags = [p.time_lag for p in self.partitions if p.time_lag is not None]
        return max(lags, key=lambda t: t.seconds, default=None)

    @property
    def complete(self) -> float:
        if not self.partitions:
            return 0.0
        return sum(1 for p in self.partitions if p.complete >= 1.0) / len(self.partitions)

    @property
    def burrow_status(self) -> LagStatus:
        """Burrow's group status: STOP, STALL and REWIND partitions make the group ERR."""
        if self.status in (LagStatus.STOP, LagStatus.STALL, LagStatus.REWIND):
            return LagStatus.ERR
        return self.status

    def worst_partitions(self, count: int = 5) -> list[PartitionVerdict]:
        """Non-OK partitions first (worst status, then most lag), then the most lagging OK ones."""
        ranked = sorted(self.partitions, key=lambda p: (-p.status.severity, -(p.lag or 0), p.topic, p.partition))
        return [p for p in ranked if p.status is not LagStatus.OK or (p.lag or 0) > 0][:count]


def group_status(partitions: Sequence[PartitionVerdict], error: str | None = None) -> LagStatus:
    """A group is its worst partition; ERR if its offsets could not be read; NOTFOUND if it has none."""
    if error is not None:
        return LagStatus.ERR
    if not partitions:
        return LagStatus.NOTFOUND
    return worst_status(p.status for p in partitions)
