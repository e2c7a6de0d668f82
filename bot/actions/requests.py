"""Asking for an action: validate the words, preview the world, store the request, post it for approval.

Nothing runs here: the request waits in the state store for a second person (`bot.actions.service`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.actions import get_action
from bot.actions.approvals import (
    BOT_ACTOR,
    ApprovalPublisher,
    ApprovalRecord,
    ApprovalState,
    audit_approval,
)
from bot.actions.base import ActionContext, ActionError, Preview
from bot.clients.base import BackendError
from bot.core.access import AccessPolicy, Role
from bot.core.config import PipelineConfig
from bot.services import Services
from bot.store.models import Approval, utcnow


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
    record = ApprovalRecord.model_validate(services.store.approvals.add(row))
    audit_approval(services, requester, "action.requested", record, preview=record.lines, expires_at=record.expires_at)
    try:
        posted_channel, ts = publisher.post(record)
    except Exception as exc:
        services.store.approvals.transition(
            record.id, {ApprovalState.PENDING}, ApprovalState.FAILED, finished_at=now, error=f"not posted: {exc}"
        )
        audit_approval(services, BOT_ACTOR, "action.failed", record, error=f"approval request not posted: {exc}")
        raise ActionError(
            f"Could not post the approval request ({exc}); nothing will run. Is the bot in this channel?"
        ) from None
    services.store.approvals.set_fields(record.id, channel=posted_channel, message_ts=ts)
    return record.model_copy(update={"channel": posted_channel, "message_ts": ts})
