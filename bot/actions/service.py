"""Approvals: request → approve / deny / expire → re-check → run, each step a compare-and-set in the state store.

State machine (every arrow is one `UPDATE … WHERE state = <from>` whose row count decides who won):

    pending ──approve──▶ approved ──re-check OK──▶ running ──▶ succeeded | failed
       │                    └──world changed──▶ drifted
       ├──deny──▶ denied
       └──press after expires_at──▶ expired

So a double click, two approvers at once, or two bot replicas on one database run an action
exactly once. Slack is reached only through the `ApprovalPublisher` protocol; nothing here
imports slack_sdk. Requests are built in `bot.actions.requests`, the record in `bot.actions.approvals`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from bot.actions import ACTIONS
from bot.actions.approvals import (
    BOT_ACTOR,
    FINAL_STATES,
    ApprovalPublisher,
    ApprovalRecord,
    ApprovalState,
    Decision,
    Outcome,
    audit_approval,
    load_approval,
    publish_quietly,
)
from bot.actions.base import (
    Action,
    ActionContext,
    ActionError,
    ActionFailed,
    ActionInterrupted,
    Preview,
    fingerprint_changes,
)
from bot.actions.requests import action_context, request_action
from bot.clients.base import BackendError
from bot.core.access import AccessPolicy, Role
from bot.core.config import UnknownPipeline
from bot.services import Services
from bot.store.models import utcnow

# Callers import the approval flow's names from here.
__all__ = [
    "BOT_ACTOR",
    "FINAL_STATES",
    "ApprovalPublisher",
    "ApprovalRecord",
    "ApprovalService",
    "ApprovalState",
    "Decision",
    "Outcome",
    "action_context",
    "load_approval",
    "request_action",
]

log = logging.getLogger(__name__)


def _settled(record: ApprovalRecord) -> Outcome:
    """What a press on an approval that is no longer pending gets."""
    return Outcome.EXPIRED if record.state is ApprovalState.EXPIRED else Outcome.ALREADY_DECIDED


class _ProgressReporter:
    """Progress lines onto the approval message: only changes, and not more often than chat.update allows."""

    def __init__(self, publisher: ApprovalPublisher, record: ApprovalRecord, interval: float) -> None:
        self._publisher, self._record, self._interval = publisher, record, interval
        self._last_text: str | None = None
        self._last_at = float("-inf")

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if text == self._last_text or now - self._last_at < self._interval:
            return
        self._last_text, self._last_at = text, now
        publish_quietly(self._publisher, self._record, text)


# How long an approved request may wait to start, and a run may overstay every deadline, before
# the sweep concludes that its bot stopped.
ABANDON_MARGIN = timedelta(minutes=5)


class ApprovalService:
    """Decisions on approval buttons and the background runner; one per bot process."""

    def __init__(self, services: Services, access: AccessPolicy, workers: int = 4) -> None:
        self.services = services
        self.access = access
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cdc-action")
        self._futures: set[Future[Any]] = set()
        self._lock = threading.Lock()

    # --- decisions ------------------------------------------------------------------------------

    def _find(self, approval_id: str, channel: str | None, message_ts: str | None) -> ApprovalRecord | None:
        # Ids are 24 characters; anything far longer was not made by this bot.
        record = load_approval(self.services, approval_id) if 0 < len(approval_id) <= 64 else None
        if record is None:
            return None
        # A valid id pressed on some other message is not this approval's button.
        if channel and record.channel and channel != record.channel:
            return None
        if message_ts and record.message_ts and message_ts != record.message_ts:
            return None
        return record

    def _reject(self, user: str, approval_id: str, reason: Outcome, record: ApprovalRecord | None) -> Decision:
        details = {"approval": approval_id[:64], "reason": reason.value}
        if record is None:
            self.services.store.audit_log.record(user, "action.press_rejected", details=details)
        else:
            audit_approval(self.services, user, "action.press_rejected", record, reason=reason.value)
        return Decision(reason, record)

    def _refuse_approval(self, user: str, record: ApprovalRecord) -> Outcome | None:
        """Why `user` may not approve this (None: they may): approvers only, and never their own request."""
        if not self.access.allows(user, Role.APPROVER):
            return Outcome.NOT_ALLOWED
        return Outcome.OWN_REQUEST if user == record.requester else None

    def _refuse_denial(self, user: str, record: ApprovalRecord) -> Outcome | None:
        """Why `user` may not deny this (None: they may): approvers deny; the requester may withdraw it."""
        return None if self.access.allows(user, Role.APPROVER) or user == record.requester else Outcome.NOT_ALLOWED

    def _pending(
        self,
        approval_id: str,
        user: str,
        publisher: ApprovalPublisher,
        refusal: Callable[[str, ApprovalRecord], Outcome | None],
        channel: str | None,
        message_ts: str | None,
        now: datetime,
    ) -> ApprovalRecord | Decision:
        """The checks a press goes through before deciding: the approval if it is still open to `user`,
        else the Decision to answer with (unknown, not allowed, already decided, expired now)."""
        record = self._find(approval_id, channel, message_ts)
        if record is None:
            return self._reject(user, approval_id, Outcome.UNKNOWN, None)
        refused = refusal(user, record)
        if refused is not None:
            return self._reject(user, approval_id, refused, record)
        if record.state is not ApprovalState.PENDING:
            return Decision(_settled(record), record)
        if record.expires_at <= now:
            return self._expire(record, user, publisher, now)
        return record

    def approve(
        self,
        approval_id: str,
        user: str,
        publisher: ApprovalPublisher,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        now: datetime | None = None,
    ) -> Decision:
        """Approve and start the run in the background; anything else leaves the approval as it was."""
        now = now or utcnow()
        record = self._pending(approval_id, user, publisher, self._refuse_approval, channel, message_ts, now)
        if isinstance(record, Decision):
            return record
        won = self.services.store.approvals.transition(
            record.id,
            {ApprovalState.PENDING},
            ApprovalState.APPROVED,
            unexpired_at=now,
            not_requester=user,
            decided_by=user,
            decided_at=now,
        )
        if not won:
            return self._lost_race(record, user, publisher, now)
        approved = load_approval(self.services, record.id) or record
        audit_approval(self.services, user, "action.approved", approved, requested_by=record.requester)
        self._submit(self.run, record.id, publisher)
        return Decision(Outcome.APPROVED, approved)

    def deny(
        self,
        approval_id: str,
        user: str,
        publisher: ApprovalPublisher,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        now: datetime | None = None,
    ) -> Decision:
        """Approvers deny; the requester may withdraw their own request the same way."""
        now = now or utcnow()
        record = self._pending(approval_id, user, publisher, self._refuse_denial, channel, message_ts, now)
        if isinstance(record, Decision):
            return record
        won = self.services.store.approvals.transition(
            record.id, {ApprovalState.PENDING}, ApprovalState.DENIED, unexpired_at=now, decided_by=user, decided_at=now
        )
        if not won:
            return self._lost_race(record, user, publisher, now)
        denied = load_approval(self.services, record.id) or record
        audit_approval(self.services, user, "action.denied", denied, requested_by=record.requester)
        self._submit(publish_quietly, publisher, denied)
        return Decision(Outcome.DENIED, denied)

    def _lost_race(self, record: ApprovalRecord, user: str, publisher: ApprovalPublisher, now: datetime) -> Decision:
        fresh = load_approval(self.services, record.id) or record
        if fresh.state is ApprovalState.PENDING:  # it expired between the read and the update
            return self._expire(fresh, user, publisher, now)
        return Decision(_settled(fresh), fresh)

    def _expire(
        self, record: ApprovalRecord, user: str | None, publisher: ApprovalPublisher, now: datetime
    ) -> Decision:
        if self.services.store.approvals.transition(
            record.id, {ApprovalState.PENDING}, ApprovalState.EXPIRED, expired_at=now, finished_at=now
        ):
            expired = load_approval(self.services, record.id) or record
            audit_approval(
                self.services, BOT_ACTOR, "action.expired", expired, pressed_by=user, expires_at=record.expires_at
            )
            self._submit(publish_quietly, publisher, expired)
            return Decision(Outcome.EXPIRED, expired)
        fresh = load_approval(self.services, record.id) or record
        return Decision(_settled(fresh), fresh)

    def expire_due(self, publisher: ApprovalPublisher, now: datetime | None = None) -> int:
        """Expire every pending request past its time (for a periodic sweep); returns how many."""
        now = now or utcnow()
        count = 0
        for row in self.services.store.approvals.expired_pending(now):
            if self._expire(ApprovalRecord.model_validate(row), None, publisher, now).outcome is Outcome.EXPIRED:
                count += 1
        return count

    def settle_abandoned(self, publisher: ApprovalPublisher, now: datetime | None = None) -> int:
        """End requests whose bot stopped under them, so no message says "Running…" forever.

        Approved but not started for minutes: the re-check never ran, so nothing ran. Running past
        every action's deadline and not resumable (maintenance workflows resume instead): the
        outcome is unknown, and the message says to look before asking again.
        """
        now = now or utcnow()
        actions = self.services.config.actions
        deadline = max(actions.timeout, actions.build_timeout) + ABANDON_MARGIN
        count = 0
        for row in self.services.store.approvals.abandoned(now - ABANDON_MARGIN, now - deadline):
            record = ApprovalRecord.model_validate(row)
            action = ACTIONS.get(record.action)
            if record.state is ApprovalState.APPROVED:
                error = "the bot stopped before running it; nothing was run. Ask again if it is still needed"
            elif action is not None and action.resumable:
                continue
            else:
                error = (
                    "the bot stopped while this ran, so the outcome is unknown; "
                    "check the pipeline (`/cdc health`) before asking again"
                )
            final = self._finish(record, record.state, ApprovalState.FAILED, publisher, error=error)
            count += 1 if final is not None and final.state is ApprovalState.FAILED else 0
        return count

    # --- the run -----------------------------------------------------------------------------------

    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        future = self._executor.submit(fn, *args)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)
        if future.exception() is not None:
            log.error("background approval work failed", exc_info=future.exception())

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait for background runs and message updates to finish (shutdown, tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                pending = list(self._futures)
            if not pending:
                return True
            for future in pending:
                with contextlib.suppress(Exception):  # reported by _forget
                    future.result(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            return not self._futures

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)

    def run(self, approval_id: str, publisher: ApprovalPublisher) -> ApprovalRecord | None:
        """Re-check the preconditions and run an approved action; synchronous (the caller's thread)."""
        record = load_approval(self.services, approval_id)
        if record is None or record.state is not ApprovalState.APPROVED:
            return record
        store = self.services.store
        action = ACTIONS.get(record.action)
        try:
            if action is None:
                raise ActionError(f"this bot does not know the action {record.action}")
            pipeline = self.services.config.pipeline(record.pipeline)
        except (ActionError, UnknownPipeline) as exc:
            return self._finish(record, ApprovalState.APPROVED, ApprovalState.FAILED, publisher, error=str(exc))
        publish_quietly(publisher, record, "Approved. Checking that nothing changed since the preview…")
        ctx = action_context(self.services, pipeline)

        fresh: Preview | None = None
        try:
            fresh = action.observe(ctx, record.args)
            changes = fingerprint_changes(record.preview.get("fingerprint") or {}, fresh.fingerprint)
        except ActionError as exc:
            changes = [str(exc)]
        except BackendError as exc:
            return self._finish(
                record,
                ApprovalState.APPROVED,
                ApprovalState.FAILED,
                publisher,
                error=f"could not re-check the preconditions, so nothing was run: {exc}",
            )
        except Exception as exc:  # a bug in a re-check must still end the request, saying nothing ran
            log.exception("re-check of %s (approval %s) crashed", record.action, record.id)
            return self._finish(
                record,
                ApprovalState.APPROVED,
                ApprovalState.FAILED,
                publisher,
                error=f"the bot hit an internal error re-checking the preconditions ({type(exc).__name__}); "
                "nothing was run",
            )
        if changes:
            return self._finish(
                record,
                ApprovalState.APPROVED,
                ApprovalState.DRIFTED,
                publisher,
                error="the pipeline changed since the preview; nothing was run",
                result={"changes": changes, "state_now": fresh.lines if fresh else []},
            )

        if not store.approvals.transition(
            record.id, {ApprovalState.APPROVED}, ApprovalState.RUNNING, started_at=utcnow()
        ):
            return load_approval(self.services, record.id)  # another runner took it
        running = load_approval(self.services, record.id) or record
        audit_approval(self.services, BOT_ACTOR, "action.started", running, approved_by=running.decided_by)
        publish_quietly(publisher, running, "Running…")
        return self._execute(running, action, ctx, publisher)

    def resume(self, approval_id: str, publisher: ApprovalPublisher) -> ApprovalRecord | None:
        """Continue a resumable run left `running` by a bot that stopped; synchronous (the caller's thread).

        No re-check of the preview (it was approved and started); the action's own records say what is done.
        """
        record = load_approval(self.services, approval_id)
        if record is None or record.state is not ApprovalState.RUNNING:
            return record
        action = ACTIONS.get(record.action)
        if action is None or not action.resumable:
            return record
        try:
            pipeline = self.services.config.pipeline(record.pipeline)
        except UnknownPipeline as exc:
            return self._finish(record, ApprovalState.RUNNING, ApprovalState.FAILED, publisher, error=str(exc))
        audit_approval(self.services, BOT_ACTOR, "action.resumed", record, instance=self.services.instance_id)
        publish_quietly(publisher, record, "Resumed after a restart of the bot…")
        return self._execute(record, action, ctx=action_context(self.services, pipeline), publisher=publisher)

    def _execute(
        self, running: ApprovalRecord, action: Action, ctx: ActionContext, publisher: ApprovalPublisher
    ) -> ApprovalRecord | None:
        """Run a `running` approval's action to its final state (or leave it running when interrupted)."""
        interval = self.services.config.actions.progress_interval.total_seconds()
        ctx.progress = _ProgressReporter(publisher, running, interval)
        ctx.approval, ctx.publisher = running, publisher
        started = time.monotonic()
        try:
            outcome = action.run(ctx, running.args, running.preview)
        except ActionInterrupted as exc:
            log.info("action %s (approval %s) paused: %s", running.action, running.id, exc)
            return load_approval(self.services, running.id)
        except ActionFailed as exc:
            return self._failed(running, publisher, started, str(exc), exc.state_now, exc.details, action, ctx)
        except BackendError as exc:
            return self._failed(running, publisher, started, str(exc), [], {}, action, ctx)
        except Exception as exc:  # a bug must still end in a final state that says so
            log.exception("action %s (approval %s) crashed", running.action, running.id)
            error = f"the bot hit an internal error ({type(exc).__name__}); see its log"
            return self._failed(running, publisher, started, error, [], {}, action, ctx)
        result = {
            "summary": outcome.summary,
            "before": outcome.before,
            "after": outcome.after,
            "details": outcome.details,
            "duration_ms": int((time.monotonic() - started) * 1000),
        }
        return self._finish(running, ApprovalState.RUNNING, ApprovalState.SUCCEEDED, publisher, result=result)

    def _failed(
        self,
        record: ApprovalRecord,
        publisher: ApprovalPublisher,
        started: float,
        error: str,
        state_now: list[str],
        details: dict[str, Any],
        action: Any,
        ctx: ActionContext,
    ) -> ApprovalRecord | None:
        if not state_now:
            # Say what things look like now, as far as the backends still answer.
            try:
                state_now = action.observe(ctx, record.args).lines
            except Exception as exc:
                state_now = [f"could not read the state after the failure: {exc}"]
        result = {"state_now": state_now, "details": details, "duration_ms": int((time.monotonic() - started) * 1000)}
        return self._finish(record, ApprovalState.RUNNING, ApprovalState.FAILED, publisher, error=error, result=result)

    def _finish(
        self,
        record: ApprovalRecord,
        from_state: ApprovalState,
        to_state: ApprovalState,
        publisher: ApprovalPublisher,
        error: str | None = None,
        result: dict[str, Any] | None = None,
    ) -> ApprovalRecord | None:
        if not self.services.store.approvals.transition(
            record.id, {from_state}, to_state, finished_at=utcnow(), error=error, result=result
        ):
            return load_approval(self.services, record.id)
        final = load_approval(self.services, record.id) or record
        details: dict[str, Any] = {"requested_by": record.requester, "approved_by": record.decided_by}
        if error:
            details["error"] = error
        if result:
            details.update({k: v for k, v in result.items() if k in ("summary", "changes", "duration_ms")})
        audit_approval(self.services, BOT_ACTOR, f"action.{to_state.value}", final, **details)
        publish_quietly(publisher, final)
        return final
