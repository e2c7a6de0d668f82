"""The Approve / Deny buttons on approval messages.

The listeners ack at once, make the decision (a few state-store reads and one compare-and-set)
with the bot's one ApprovalService, answer the presser privately when the press changed nothing,
and leave the run itself to the ApprovalService's background threads, which update the message
in place (through the wired Slack approval publisher) as it goes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.actions.service import Decision
from bot.render.approvals import APPROVE_ACTION_ID, DENY_ACTION_ID, decision_notice
from commands.deps import CommandDeps

log = logging.getLogger(__name__)

NOT_RECORDED = (
    "The bot could not record your press (its state store did not answer); nothing was run. Try again in a minute."
)


def _press_origin(body: dict[str, Any]) -> tuple[str | None, str | None]:
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return channel, message_ts


def register_interactions(app: App, deps: CommandDeps) -> None:
    publisher, tz = deps.approval_publisher, deps.services.config.slack.timezone

    def listener(decide: Callable[..., Decision]) -> Callable[..., None]:
        def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
            ack()
            user = str((body.get("user") or {}).get("id", ""))
            channel, message_ts = _press_origin(body)
            value = str(action.get("value") or "")
            try:
                decision = decide(value, user, publisher, channel=channel, message_ts=message_ts)
            except Exception:  # the state store is down: say so rather than leave the press unanswered
                log.exception("approval button %s by %s failed", action.get("action_id"), user)
                respond(text=NOT_RECORDED, response_type="ephemeral", replace_original=False)
                return
            log.info("approval button %s by %s: %s", action.get("action_id"), user, decision.outcome.value)
            notice = decision_notice(decision, tz)
            if notice:
                respond(text=notice, response_type="ephemeral", replace_original=False)

        return handle

    app.action(APPROVE_ACTION_ID)(listener(deps.approvals.approve))
    app.action(DENY_ACTION_ID)(listener(deps.approvals.deny))
