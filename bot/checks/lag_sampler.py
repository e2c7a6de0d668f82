"""LagSampler: a shared, bounded, thread-safe sliding window of consumer-group offsets.

One sampler serves every reader of consumer lag (the watch, `/cdc lag`, the consumer_lag check,
the ConsumerLag metric job): each calls `sample()` when it wants fresh data, then
`evaluate(group)` for Burrow's verdict, time lag and forecast. Calls closer together than
`min_interval_s` share one read, so several readers do not multiply the load on the brokers.

A read is: committed offsets per group, concurrently on a small thread pool (OffsetFetch takes one
group per request), then ONE batched `end_offsets` for every partition of every group.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from bot.checks.lag_time import EndOffsetHistory, TimeLag, forecast, time_lag
from bot.checks.lag_window import (
    GroupVerdict,
    LagStatus,
    PartitionSample,
    PartitionVerdict,
    group_status,
    partition_status,
)
from bot.clients.base import TopicPartition

log = logging.getLogger(__name__)

ALL_GROUPS = "all"


class OffsetReader(Protocol):
    """The three reads of `bot.clients.base.KafkaAdmin` the sampler uses (any KafkaAdmin is one)."""

    def list_groups(self) -> list[str]: ...
    def committed_offsets(self, groups: list[str]) -> dict[str, dict[TopicPartition, int]]: ...
    def end_offsets(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]: ...


def expand_consumer_groups(
    configured: str | Sequence[str], available: Iterable[str], exclude: Iterable[str] = ()
) -> list[str]:
    """`consumer_groups: all` -> every group the cluster lists, minus `exclude` glob patterns.

    Groups named explicitly next to `all` are kept even when they match an exclude pattern or are
    not listed (a group that has never committed is still worth reporting as NOTFOUND).
    """
    wanted = [configured] if isinstance(configured, str) else list(configured)
    patterns = list(exclude)
    chosen: list[str] = []
    for name in wanted:
        if name == ALL_GROUPS:
            chosen.extend(
                g for g in sorted(available) if not any(fnmatch.fnmatchcase(g, pattern) for pattern in patterns)
            )
        else:
            chosen.append(name)
    return list(dict.fromkeys(chosen))  # de-duplicated, first occurrence kept


@dataclass(frozen=True)
class WindowSettings:
    samples: int = 10  # samples kept per partition (Burrow's `intervals`)
    seconds: float = 600.0  # and none older than this behind the newest; also the STOP threshold
    history_points: int = 60  # end-offset points per partition for time lag (kafka-lag-exporter's default)
    min_interval_s: float = 5.0  # sample() calls closer than this share one read

    def __post_init__(self) -> None:
        if self.samples < 1 or self.seconds <= 0 or self.history_points < 2 or self.min_interval_s < 0:
            raise ValueError(f"invalid lag window settings: {self}")


@dataclass(frozen=True)
class SampleRound:
    """What one `sample()` did: for logs and for the caller to report read failures."""

    at: float
    groups: int
    partitions: int
    elapsed_s: float
    errors: dict[str, str] = field(default_factory=dict)  # group (or "*" for all) -> why it was not read
    shared: bool = False  # True when an earlier read within min_interval_s was reused


@dataclass
class _PartitionState:
    samples: deque[PartitionSample]
    first_seen: float
    changed_at: float | None = None  # when the committed offset was last seen to change
    error: str | None = None  # why the latest round could not read it


@dataclass
class _GroupState:
    partitions: dict[TopicPartition, _PartitionState] = field(default_factory=dict)
    error: str | None = None  # why the latest round could not read the group
    sampled_at: float | None = None


class LagSampler:
    def __init__(
        self,
        admin: OffsetReader,
        groups: str | Sequence[str],
        *,
        exclude: Sequence[str] = (),
        settings: WindowSettings | None = None,
        lag_crit: int | None = 100_000,
        clock: Callable[[], float] = time.time,
        workers: int = 8,
    ) -> None:
        self._admin = admin
        self._configured = [groups] if isinstance(groups, str) else list(groups)
        self._exclude = list(exclude)
        self.settings = settings or WindowSettings()
        self.lag_crit = lag_crit
        self._clock = clock
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="lag-sampler")
        self._state_lock = threading.Lock()  # guards everything below
        self._read_lock = threading.Lock()  # one read at a time; later callers share its result
        self._groups: dict[str, _GroupState] = {}
        self._histories: dict[TopicPartition, EndOffsetHistory] = {}
        self._last_round: SampleRound | None = None
        self._last_done_at = float("-inf")

    # --- reading -----------------------------------------------------------------------------

    def sample(self, now: float | None = None) -> SampleRound:
        """Read offsets once and append them to the windows. Safe to call from many threads."""
        arrived = self._clock() if now is None else now
        with self._read_lock:
            at = self._clock() if now is None else now
            last = self._last_round
            # Share the previous read if it is recent, or if this caller waited for it to finish.
            if last is not None and (0 <= at - last.at < self.settings.min_interval_s or self._last_done_at > arrived):
                return SampleRound(last.at, last.groups, last.partitions, 0.0, dict(last.errors), shared=True)
            started = time.monotonic()
            errors: dict[str, str] = {}
            groups = self._resolve_groups(errors)
            committed = self._read_committed(groups, errors)
            partitions = sorted({tp for offsets in committed.values() for tp in offsets})
            ends: dict[TopicPartition, int] = {}
            end_error: str | None = None
            if partitions:
                try:
                    ends = self._admin.end_offsets(partitions)  # one batched ListOffsets for all groups
                except Exception as exc:  # noqa: BLE001 - any failure is this round's ERR, not a crash
                    end_error = f"end offsets: {exc}"
                    errors["*"] = "; ".join(filter(None, [errors.get("*"), end_error]))
            with self._state_lock:
                self._record(at, groups, committed, ends, errors, end_error)
            result = SampleRound(at, len(groups), len(partitions), time.monotonic() - started, errors)
            self._last_round = result
            # On the caller's time line: an explicit `now` (tests, replays) never makes others wait-share.
            self._last_done_at = self._clock() if now is None else at
            return result

    def _resolve_groups(self, errors: dict[str, str]) -> list[str]:
        if ALL_GROUPS not in self._configured:
            return list(dict.fromkeys(self._configured))
        try:
            available = self._admin.list_groups()
        except Exception as exc:  # noqa: BLE001
            errors["*"] = f"list_groups: {exc}"
            with self._state_lock:  # keep watching what we already knew of
                known = list(self._groups)
            return list(dict.fromkeys([g for g in self._configured if g != ALL_GROUPS] + known))
        return expand_consumer_groups(self._configured, available, self._exclude)

    def _read_committed(self, groups: list[str], errors: dict[str, str]) -> dict[str, dict[TopicPartition, int]]:
        futures = {group: self._pool.submit(self._admin.committed_offsets, [group]) for group in groups}
        committed: dict[str, dict[TopicPartition, int]] = {}
        for group, future in futures.items():
            try:
                committed[group] = future.result().get(group, {})
            except Exception as exc:  # noqa: BLE001
                errors[group] = f"committed offsets: {exc}"
        return committed

    def _record(
        self,
        at: float,
        groups: list[str],
        committed: dict[str, dict[TopicPartition, int]],
        ends: dict[TopicPartition, int],
        errors: dict[str, str],
        end_error: str | None,
    ) -> None:
        settings = self.settings
        for tp, end in ends.items():
            history = self._histories.get(tp)
            if history is None:
                history = self._histories[tp] = EndOffsetHistory(settings.history_points)
            history.add(at, end)
        for group in [g for g in self._groups if g not in groups]:
            del self._groups[group]  # no longer watched: free its windows
        for group in groups:
            state = self._groups.setdefault(group, _GroupState())
            state.sampled_at = at
            if group not in committed:
                state.error = errors.get(group, "not read")
                continue  # keep the windows: a failed read says nothing about the consumer
            state.error = end_error
            offsets = committed[group]
            for tp in [tp for tp in state.partitions if tp not in offsets]:
                del state.partitions[tp]  # the group no longer has an offset there (expired, deleted)
            for tp, offset in offsets.items():
                part = state.partitions.get(tp)
                if part is None:
                    part = state.partitions[tp] = _PartitionState(deque(maxlen=settings.samples), first_seen=at)
                end_offset = ends.get(tp)
                if end_offset is None:
                    part.error = end_error or f"no end offset for {tp[0]}[{tp[1]}]"
                    continue
                part.error = None
                self._append(part, PartitionSample(at, offset, end_offset))
        # End-offset histories of partitions no group reads any more.
        live = {tp for state in self._groups.values() for tp in state.partitions}
        for tp in [tp for tp in self._histories if tp not in live]:
            del self._histories[tp]

    def _append(self, part: _PartitionState, sample: PartitionSample) -> None:
        samples = part.samples
        if samples and sample.at <= samples[-1].at:
            return  # out of order (an injected clock going backwards)
        if samples and sample.committed != samples[-1].committed:
            part.changed_at = sample.at
        samples.append(sample)  # maxlen drops the oldest
        horizon = sample.at - self.settings.seconds
        while samples and samples[0].at < horizon:
            samples.popleft()

    # --- judging -----------------------------------------------------------------------------

    def groups(self) -> list[str]:
        """The groups the latest round read (after expanding `all`)."""
        with self._state_lock:
            return list(self._groups)

    def evaluate(self, group: str, now: float | None = None, lag_crit: int | None = None) -> GroupVerdict:
        """Burrow's verdict for one group from its windows, with time lag and forecast."""
        at = self._clock() if now is None else now
        crit: int | None = self.lag_crit if lag_crit is None else lag_crit
        with self._state_lock:  # copy under the lock, judge outside it
            state = self._groups.get(group)
            if state is None:
                return GroupVerdict(group, LagStatus.NOTFOUND, error=None)
            snapshot = [
                (tp, list(p.samples), p.first_seen, p.changed_at, p.error) for tp, p in sorted(state.partitions.items())
            ]
            histories = {tp: self._histories[tp].copy() for tp, *_ in snapshot if tp in self._histories}
            group_error, sampled_at = state.error, state.sampled_at
        verdicts = []
        for (topic, partition), window, first_seen, changed_at, error in snapshot:
            last_commit_at = changed_at if changed_at is not None else first_seen
            status = partition_status(window, at, self.settings.seconds, last_commit_at, error)
            newest = window[-1] if window else None
            verdicts.append(
                PartitionVerdict(
                    topic=topic,
                    partition=partition,
                    status=status,
                    lag=newest.lag if newest else None,
                    committed=newest.committed if newest else None,
                    end=newest.end if newest else None,
                    samples=len(window),
                    complete=min(1.0, len(window) / self.settings.samples),
                    time_lag=self._time_lag(histories.get((topic, partition)), newest, at),
                    last_commit_age_s=max(0.0, at - last_commit_at),
                    error=error,
                )
            )
        return GroupVerdict(
            group=group,
            status=group_status(verdicts, group_error),
            partitions=verdicts,
            forecast=forecast((window for _, window, *_ in snapshot), crit),
            sampled_at=sampled_at,
            error=group_error,
        )

    @staticmethod
    def _time_lag(history: EndOffsetHistory | None, newest: PartitionSample | None, now: float) -> TimeLag | None:
        if history is None or newest is None:
            return None
        return time_lag(history, newest.committed, now)

    def evaluate_all(self, now: float | None = None, lag_crit: int | None = None) -> dict[str, GroupVerdict]:
        at = self._clock() if now is None else now
        return {group: self.evaluate(group, at, lag_crit) for group in self.groups()}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> LagSampler:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
