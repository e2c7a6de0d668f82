"""The services facade: what features need at run time (config, state store, per-pipeline clients).

Slack, the scheduler and the CLI all get their services from `Services`, so `/cdc health`,
the 9:00 report and `cdc-bot check` run the same code against the same clients. It is built in
one place, `bot.app.wiring`, which injects the client factory and the check runner: this module
imports no adapter and no feature.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from bot.clients.base import PipelineClients
from bot.core.config import Config, PipelineConfig
from bot.core.metrics import observe_report
from bot.core.results import HealthReport
from bot.store.state import StateStore

ClientFactory = Callable[[PipelineConfig, float], PipelineClients]


class CheckRunner(Protocol):
    """Runs the named checks (all applicable ones when None) of a pipeline under one deadline."""

    def __call__(
        self, pipeline: PipelineConfig, clients: PipelineClients, names: Iterable[str] | None, timeout: float
    ) -> HealthReport: ...


@dataclass
class Services:
    """What every door (Slack, scheduler, CLI) needs: config, state, and per-pipeline clients."""

    config: Config
    store: StateStore
    client_factory: ClientFactory
    check_runner: CheckRunner
    _clients: dict[str, PipelineClients] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _in_flight: dict[tuple[str, tuple[str, ...], float], Future[HealthReport]] = field(default_factory=dict, init=False)
    # Where slash-command work runs after the ack; bounded so a burst queues instead of thrashing.
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=8, thread_name_prefix="cdc-work"), init=False
    )
    # Who this bot is when it holds a lease in the state store (a running workflow); unique per instance,
    # so two bots in one process (tests, the shell) are told apart like two replicas.
    instance_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}", init=False
    )
    # Set by close(): long-running work (workflows) stops at its next poll and leaves its state to resume.
    stopped: threading.Event = field(default_factory=threading.Event, init=False)

    def close(self) -> None:
        """Shutting down: running workflows stop at their next poll and release their leases; slash-command
        work already under way finishes (each piece is bounded by its deadline), queued work is dropped."""
        self.stopped.set()
        self.background.shutdown(wait=True, cancel_futures=True)

    @property
    def check_timeout(self) -> float:
        return self.config.checks.timeout.total_seconds()

    def clients(self, pipeline: PipelineConfig) -> PipelineClients:
        # Clients are built once per pipeline and reused: librdkafka and boto3 clients are costly to make.
        with self._lock:
            if pipeline.name not in self._clients:
                # Backend calls get a little less than the check deadline, so a slow call fails inside it.
                per_call = max(1.0, self.check_timeout * 0.8)
                self._clients[pipeline.name] = self.client_factory(pipeline, per_call)
            return self._clients[pipeline.name]

    def health(
        self,
        pipeline_name: str | None = None,
        names: Iterable[str] | None = None,
        timeout: timedelta | float | None = None,
    ) -> HealthReport:
        pipeline = self.config.pipeline(pipeline_name)
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else (timeout or self.check_timeout)
        key = (pipeline.name, tuple(names or ()), seconds)
        # Single flight: callers asking for the same run while one is under way share its result,
        # so ten people typing /cdc health at 9:01 cost one run of the checks, not ten.
        with self._lock:
            future = self._in_flight.get(key)
            owner = future is None
            if owner:
                future = Future()
                self._in_flight[key] = future
        assert future is not None
        if not owner:
            return future.result()
        try:
            report = self.check_runner(pipeline, self.clients(pipeline), names, seconds)
            observe_report(report)
            future.set_result(report)
            return report
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self._lock:
                self._in_flight.pop(key, None)
