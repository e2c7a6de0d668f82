"""One replica runs the scheduled jobs: the one holding a lease row in the shared state store.

Why a database lease and not the kubernetes client's leader election (a `Lease` object): the state
store is already what replicas share (the job store and the exactly-once post claims live there),
so the lease needs no extra RBAC, works the same outside Kubernetes and on SQLite, and does not
depend on the bot's own cluster, which the config does not name (its kubeconfig contexts are the
pipelines' clusters). The client's `LeaderElection` also runs forever in the calling thread with
no way to stop it and builds its API client from the global default configuration.

The lease is taken and renewed with one atomic UPDATE (or the first INSERT) every third of its
duration. A leader that cannot renew (database unreachable) steps down before its lease can have
expired, so two replicas never both believe they lead; and every post is still claimed per
scheduled time, so even an overlap at a step-down cannot post twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from bot.store.state import StateStore

log = logging.getLogger(__name__)


class LeaderElector:
    def __init__(
        self,
        store: StateStore,
        name: str,
        identity: str,
        ttl: timedelta,
        on_started_leading: Callable[[], None],
        on_stopped_leading: Callable[[], None],
    ) -> None:
        self.store, self.name, self.identity, self.ttl = store, name, identity, ttl
        self._on_start, self._on_stop = on_started_leading, on_stopped_leading
        self._leading = False
        self._valid_until = 0.0  # monotonic time until which the lease we last renewed is ours
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def leading(self) -> bool:
        return self._leading

    @property
    def renew_every(self) -> float:
        return max(0.2, self.ttl.total_seconds() / 3)

    def start(self) -> LeaderElector:
        # Try at once, so a single replica starts its jobs without waiting a renewal period.
        self.tick()
        self._thread = threading.Thread(target=self._run, name=f"leader-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.renew_every):
            self.tick()

    def tick(self) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            started = time.monotonic()
            try:
                held = self.store.leases.acquire(self.name, self.identity, self.ttl)
            except Exception as exc:  # the database is down: lead on only while the last renewal lasts
                held = self._leading and time.monotonic() + self.renew_every < self._valid_until
                log.warning("leader lease %s not renewed (%s); %s", self.name, exc, "still held" if held else "")
            else:
                if held:
                    # Counted from before the call: the row says expires_at = (its now) + ttl.
                    self._valid_until = started + self.ttl.total_seconds()
            if held and not self._leading:
                log.info("%s leads %s: scheduled jobs run here", self.identity, self.name)
                self._leading = True
                self._call(self._on_start)
            elif not held and self._leading:
                log.info("%s no longer leads %s: scheduled jobs stop here", self.identity, self.name)
                self._leading = False
                self._call(self._on_stop)

    def _call(self, callback: Callable[[], None]) -> None:
        try:
            callback()
        except Exception:
            log.exception("leader callback failed")

    def stop(self) -> None:
        """Stop leading (if leading) and give the lease up, so another replica takes over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        with self._lock:
            if self._leading:
                self._leading = False
                self._call(self._on_stop)
                try:
                    self.store.leases.release(self.name, self.identity)
                except Exception as exc:  # it expires by itself
                    log.warning("could not release leader lease %s: %s", self.name, exc)
