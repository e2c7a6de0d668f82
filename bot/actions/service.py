"""Approvals: request → approve / deny / expire → re-check → run, each step a compare-and-set in the state store.

State machine (every arrow is one `UPDATE … WHERE state = <from>` whose row count decides who won):

    pending ──approve──▶ approved ──re-check OK──▶ running ──▶ succeeded | failed
       │                    └──world changed──▶ drifted
       ├──deny──▶ denied
       └──press after expires_at──▶ expired

So a double click, two approvers at once, or two bot replicas on one database run an action
exactly once. Slack is reached only through the `ApprovalPublisher` protocol; nothing here
imports slack_sdk.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from bot.actions import ACTIONS, get_action
from bot.actions.base import (
    Action,
    ActionContext,
    ActionError,
    ActionFailed,
    ActionInterrupted,
    Preview,
    fingerprint_changes,
)
from bot.clients.base import BackendError
from bot.core.access import AccessPolicy, Role
from bot.core.config import PipelineConfig, UnknownPipeline
from bot.services import Services
from bot.store.state import Approval, utcnow

log = logging.getLogger(__name__)

BOT_ACTOR = "cdc-bot"


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DENIED = "denied"
    EXPIRED = "expired"
    DRIFTED = "drifted"


FINAL_STATES = frozenset(
    {ApprovalState.SUCCEEDED, ApprovalState.FAILED, ApprovalState.DENIED, ApprovalState.EXPIRED, ApprovalState.DRIFTED}
)


@dataclass(frozen=True)
class ApprovalRecord:
    """One approval as the renderers and callers see it: a plain snapshot of the stored row."""

    id: str
    pipeline: str
    action: str
    args: dict[str, Any]
    preview: dict[str, Any]
    requester: str
    state: ApprovalState
    channel: str
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    @classmethod
    def from_row(cls, row: Approval) -> ApprovalRecord:
        return cls(
            id=row.id,
            pipeline=row.pipeline,
            action=row.action,
            args=dict(row.args or {}),
            preview=dict(row.preview or {}),
            requester=row.requester,
            state=ApprovalState(row.state),
            channel=row.channel,
            created_at=row.created_at,
            expires_at=row.expires_at,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            message_ts=row.message_ts,
            thread_ts=row.thread_ts,
            started_at=row.started_at,
            finished_at=row.finished_at,
            result=dict(row.result) if row.result is not None else None,
            error=row.error,
        )

    @property
    def title(self) -> str:
        return str(self.preview.get("title") or self.action)

    @property
    def risk(self) -> str:
        return str(self.preview.get("risk") or "")

    @property
    def lines(self) -> list[str]:
        return [str(line) for line in self.preview.get("lines") or []]

    @property
    def argv(self) -> list[str]:
        return [str(word) for word in self.args.get("argv") or []]

    @property
    def command(self) -> str:
        """The slash command that asks for the same thing again."""
        spec = ACTIONS.get(self.action)
        prefix = spec.command if spec is not None and spec.command else f"/cdc action {self.action}"
        return " ".join([prefix, *self.argv, self.pipeline])

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


class ApprovalPublisher(Protocol):
    """Where approval messages go (Slack in production); the domain only says what to show."""

    def post(self, approval: ApprovalRecord) -> tuple[str, str]:
        """Post the approval request; returns (channel id, message ts)."""
        ...

    def update(self, approval: ApprovalRecord, progress: str | None = None) -> None: ...


class Outcome(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    NOT_ALLOWED = "not_allowed"
    OWN_REQUEST = "own_request"
    ALREADY_DECIDED = "already_decided"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    approval: ApprovalRecord | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome in (Outcome.APPROVED, Outcome.DENIED)


def action_context(
    services: Services, pipeline: PipelineConfig, progress: Callable[[str], None] | None = None
) -> ActionContext:
    settings = services.config.actions
    return ActionContext(
        pipeline=pipeline,
        clients=services.clients(pipeline),
        timeout=settings.timeout.total_seconds(),
        poll_interval=settings.poll_interval.total_seconds(),
        progress=progress or (lambda _text: None),
        build_timeout=settings.build_timeout.total_seconds(),
        services=services,
    )


def load_approval(services: Services, approval_id: str) -> ApprovalRecord | None:
    row = services.store.get_approval(approval_id)
    return ApprovalRecord.from_row(row) if row is not None else None


def _audit(services: Services, actor: str, event: str, record: ApprovalRecord, **details: Any) -> None:
    # Arguments are the words typed plus parsed values; previews and results never carry secret values.
    services.store.audit(
        actor,
        event,
        pipeline=record.pipeline,
        subject=record.action,
        details={"approval": record.id, "args": record.argv, **details},
    )


def _publish(publisher: ApprovalPublisher, record: ApprovalRecord, progress: str | None = None) -> None:
    # A Slack hiccup must not stop the state machine: the store is the truth, the message a view of it.
    try:
        publisher.update(record, progress)
    except Exception:
        log.exception("could not update the message of approval %s", record.id)


def request_action(
    services: Services,
    publisher: ApprovalPublisher,
    *,
    action: str,
    words: list[str],
    requester: str,
    channel: str,
    pipeline: str | None = None,
    thread_ts: str | None = None,
    access: AccessPolicy | None = None,
    now: datetime | None = None,
) -> ApprovalRecord:
    """Validate, preview, store and post an approval request (in `thread_ts` when given).

    Raises ActionError (bad arguments, missing target, nothing to do, Slack refused the post)
    or UnknownPipeline; nothing is stored or posted for an invalid request.
    """
    spec = get_action(action)
    if access is not None and not access.allows(requester, Role.OPERATOR):
        raise ActionError(access.denial(Role.OPERATOR))
    own_words, pipeline_word = spec.split(words)
    if pipeline is not None and pipeline_word is not None:
        raise ActionError(f"Usage: `/cdc action {spec.usage} [pipeline]`")
    pipeline_config = services.config.pipeline(pipeline or pipeline_word)
    args = {**spec.parse(own_words, pipeline_config), "argv": own_words}
    ctx = action_context(services, pipeline_config)
    try:
        preview: Preview = spec.observe(ctx, args)
        spec.validate(ctx, args, preview)
    except BackendError as exc:
        raise ActionError(f"Could not read the current state for the preview, so nothing was asked: {exc}") from None
    now = now or utcnow()
    ttl = timedelta(minutes=services.config.access.approval_ttl_minutes)
    row = Approval(
        id=secrets.token_urlsafe(18),
        pipeline=pipeline_config.name,
        action=spec.name,
        args=args,
        preview=preview.to_json(spec.title, spec.risk),
        requester=requester,
        state=ApprovalState.PENDING.value,
        channel=channel,
        thread_ts=thread_ts,
        created_at=now,
        expires_at=now + ttl,
    )
    services.store.add_approval(row)
    record = ApprovalRecord.from_row(row)
    _audit(services, requester, "action.requested", record, preview=record.lines, expires_at=record.expires_at)
    try:
        posted_channel, ts = publisher.post(record)
    except Exception as exc:
        services.store.transition_approval(
            record.id, {ApprovalState.PENDING}, ApprovalState.FAILED, finished_at=now, error=f"not posted: {exc}"
        )
        _audit(services, BOT_ACTOR, "action.failed", record, error=f"approval request not posted: {exc}")
        raise ActionError(
            f"Could not post the approval request ({exc}); nothing will run. Is the bot in this channel?"
        ) from None
    services.store.set_approval_fields(record.id, channel=posted_channel, message_ts=ts)
    return replace(record, channel=posted_channel, message_ts=ts)


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
        _publish(self._publisher, self._record, text)


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
            self.services.store.audit(user, "action.press_rejected", details=details)
        else:
            _audit(self.services, user, "action.press_rejected", record, reason=reason.value)
        return Decision(reason, record)

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
        record = self._find(approval_id, channel, message_ts)
        if record is None:
            return self._reject(user, approval_id, Outcome.UNKNOWN, None)
        if not self.access.allows(user, Role.APPROVER):
            return self._reject(user, approval_id, Outcome.NOT_ALLOWED, record)
        if user == record.requester:
            return self._reject(user, approval_id, Outcome.OWN_REQUEST, record)
        if record.state is not ApprovalState.PENDING:
            return Decision(
                Outcome.EXPIRED if record.state is ApprovalState.EXPIRED else Outcome.ALREADY_DECIDED, record
            )
        if record.expires_at <= now:
            return self._expire(record, user, publisher, now)
        won = self.services.store.transition_approval(
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
        _audit(self.services, user, "action.approved", approved, requested_by=record.requester)
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
        record = self._find(approval_id, channel, message_ts)
        if record is None:
            return self._reject(user, approval_id, Outcome.UNKNOWN, None)
        if not (self.access.allows(user, Role.APPROVER) or user == record.requester):
            return self._reject(user, approval_id, Outcome.NOT_ALLOWED, record)
        if record.state is not ApprovalState.PENDING:
            return Decision(
                Outcome.EXPIRED if record.state is ApprovalState.EXPIRED else Outcome.ALREADY_DECIDED, record
            )
        if record.expires_at <= now:
            return self._expire(record, user, publisher, now)
        won = self.services.store.transition_approval(
            record.id, {ApprovalState.PENDING}, ApprovalState.DENIED, unexpired_at=now, decided_by=user, decided_at=now
        )
        if not won:
            return self._lost_race(record, user, publisher, now)
        denied = load_approval(self.services, record.id) or record
        _audit(self.services, user, "action.denied", denied, requested_by=record.requester)
        self._submit(_publish, publisher, denied)
        return Decision(Outcome.DENIED, denied)

    def _lost_race(self, record: ApprovalRecord, user: str, publisher: ApprovalPublisher, now: datetime) -> Decision:
        fresh = load_approval(self.services, record.id) or record
        if fresh.state is ApprovalState.PENDING:  # it expired between the read and the update
            return self._expire(fresh, user, publisher, now)
        return Decision(Outcome.EXPIRED if fresh.state is ApprovalState.EXPIRED else Outcome.ALREADY_DECIDED, fresh)

    def _expire(
        self, record: ApprovalRecord, user: str | None, publisher: ApprovalPublisher, now: datetime
    ) -> Decision:
        if self.services.store.transition_approval(
            record.id, {ApprovalState.PENDING}, ApprovalState.EXPIRED, expired_at=now, finished_at=now
        ):
            expired = load_approval(self.services, record.id) or record
            _audit(self.services, BOT_ACTOR, "action.expired", expired, pressed_by=user, expires_at=record.expires_at)
            self._submit(_publish, publisher, expired)
            return Decision(Outcome.EXPIRED, expired)
        fresh = load_approval(self.services, record.id) or record
        return Decision(Outcome.EXPIRED if fresh.state is ApprovalState.EXPIRED else Outcome.ALREADY_DECIDED, fresh)

    def expire_due(self, publisher: ApprovalPublisher, now: datetime | None = None) -> int:
        """Expire every pending request past its time (for a periodic sweep); returns how many."""
        now = now or utcnow()
        count = 0
        for row in self.services.store.expired_pending_approvals(now):
            if self._expire(ApprovalRecord.from_row(row), None, publisher, now).outcome is Outcome.EXPIRED:
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
        for row in self.services.store.abandoned_approvals(now - ABANDON_MARGIN, now - deadline):
            record = ApprovalRecord.from_row(row)
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
        _publish(publisher, record, "Approved. Checking that nothing changed since the preview…")
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

        if not store.transition_approval(
            record.id, {ApprovalState.APPROVED}, ApprovalState.RUNNING, started_at=utcnow()
        ):
            return load_approval(self.services, record.id)  # another runner took it
        running = load_approval(self.services, record.id) or record
        _audit(self.services, BOT_ACTOR, "action.started", running, approved_by=running.decided_by)
        _publish(publisher, running, "Running…")
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
        _audit(self.services, BOT_ACTOR, "action.resumed", record, instance=self.services.instance_id)
        _publish(publisher, record, "Resumed after a restart of the bot…")
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
        if not self.services.store.transition_approval(
            record.id, {from_state}, to_state, finished_at=utcnow(), error=error, result=result
        ):
            return load_approval(self.services, record.id)
        final = load_approval(self.services, record.id) or record
        details: dict[str, Any] = {"requested_by": record.requester, "approved_by": record.decided_by}
        if error:
            details["error"] = error
        if result:
            details.update({k: v for k, v in result.items() if k in ("summary", "changes", "duration_ms")})
        _audit(self.services, BOT_ACTOR, f"action.{to_state.value}", final, **details)
        _publish(publisher, final)
        return final
