"""Hands running workflows whose bot stopped (their lease lapsed) back to the approval runner.

One per bot process; the resumed run takes the workflow's lease itself (bot/actions/workflows.py).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.store.models import utcnow
from bot.store.workflows import lease_name

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


class WorkflowSweeper:
    """Hands running workflows whose bot stopped (lease lapsed) back to `resume`; one per bot process.

    Sweeps once at start and then every half lease, so a replica that died is replaced within
    about one and a half lease durations. The lease check is only a filter: the resumed run takes
    the lease itself, atomically, so two sweepers racing for one workflow start it once.
    """

    def __init__(
        self, services: Services, actions: Iterable[str], resume: Callable[[str], Any], workers: int = 2
    ) -> None:
        self.services = services
        self.actions = tuple(actions)
        self.resume = resume
        self.interval = max(0.2, services.config.maintenance.lease.total_seconds() / 2)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cdc-resume")
        self._in_hand: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def sweep(self, now: datetime | None = None) -> list[str]:
        now = now or utcnow()
        ttl = self.services.config.maintenance.lease
        handed: list[str] = []
        for approval_id, started_at in self.services.store.approvals.running(self.actions):
            lease = self.services.store.leases.get(lease_name(approval_id))
            if lease is not None and lease.expires_at > now:
                continue  # its runner is alive (maybe in this very process)
            if lease is None and started_at is not None and now - started_at < ttl:
                continue  # just approved: its runner is about to take the lease
            with self._lock:
                if approval_id in self._in_hand:
                    continue
                self._in_hand.add(approval_id)
            handed.append(approval_id)
            self._executor.submit(self._resume_one, approval_id)
        return handed

    def _resume_one(self, approval_id: str) -> None:
        try:
            self.resume(approval_id)
        except Exception:
            log.exception("resuming the workflow of approval %s failed", approval_id)
        finally:
            with self._lock:
                self._in_hand.discard(approval_id)

    def start(self) -> WorkflowSweeper:
        self._thread = threading.Thread(target=self._loop, name="cdc-workflow-sweeper", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """After `services.close()` (which ends the loop and the resumed runs at their next poll): wait for both."""
        if self._thread is not None:
            self._thread.join(timeout=max(10.0, self.interval * 2))
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        while True:
            try:
                self.sweep()
            except Exception:  # the state store is unreachable for a moment: try again next time
                log.exception("workflow sweep failed")
            if self.services.stopped.wait(self.interval):
                return
