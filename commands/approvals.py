"""The Approve / Deny buttons on approval messages, and the Slack side of posting and updating them.

The listeners ack at once, make the decision (a few state-store reads and one compare-and-set),
answer the presser privately when the press changed nothing, and leave the run itself to the
ApprovalService's background threads, which update the message in place as it goes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.actions.service import ApprovalPublisher, ApprovalRecord, ApprovalService, Decision
from bot.actions.workflows import StepView, WorkflowNote
from bot.core.access import AccessPolicy
from bot.core.results import HealthReport
from bot.render.approvals import APPROVE_ACTION_ID, DENY_ACTION_ID, decision_notice, render_approval
from bot.render.maintenance import render_workflow_note, render_workflow_step
from bot.render.slack import SlackMessage, render_health_report
from bot.services import Services
from bot.store.workflows import WorkflowRecord

log = logging.getLogger(__name__)


class SlackApprovalPublisher:
    """Posts an approval request and keeps its message current with `chat.update`.

    It is also the `WorkflowPublisher` of the workflow an approval runs (a maintenance window):
    each step in the approval message's thread, updated in place.
    """

    def __init__(self, client: WebClient, tz: str = "UTC") -> None:
        self.client = client
        self.tz = tz

    def post(self, approval: ApprovalRecord) -> tuple[str, str]:
        message = render_approval(approval, self.tz)
        answer = self.client.chat_postMessage(
            channel=approval.channel, thread_ts=approval.thread_ts, text=message.text, blocks=message.blocks
        )
        return str(answer.get("channel") or approval.channel), str(answer["ts"])

    def update(self, approval: ApprovalRecord, progress: str | None = None) -> None:
        if not approval.message_ts:
            return
        message = render_approval(approval, self.tz, progress)
        self.client.chat_update(
            channel=approval.channel, ts=approval.message_ts, text=message.text, blocks=message.blocks
        )

    def _post_in_thread(self, workflow: WorkflowRecord, message: SlackMessage) -> str:
        answer = self.client.chat_postMessage(
            channel=workflow.channel, thread_ts=workflow.thread_ts, text=message.text, blocks=message.blocks
        )
        return str(answer["ts"])

    def post_step(self, workflow: WorkflowRecord, step: StepView) -> str | None:
        return self._post_in_thread(workflow, render_workflow_step(step, self.tz))

    def update_step(self, workflow: WorkflowRecord, step: StepView, ts: str) -> None:
        message = render_workflow_step(step, self.tz)
        self.client.chat_update(channel=workflow.channel, ts=ts, text=message.text, blocks=message.blocks)

    def post_note(self, workflow: WorkflowRecord, note: WorkflowNote) -> None:
        self._post_in_thread(workflow, render_workflow_note(workflow.id, note))

    def post_report(self, workflow: WorkflowRecord, title: str, report: HealthReport) -> None:
        self._post_in_thread(workflow, render_health_report(report, title=title, tz=self.tz))


def _press_origin(body: dict[str, Any]) -> tuple[str | None, str | None]:
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts")
    return channel, message_ts


def register(app: App, services: Services, access: AccessPolicy) -> ApprovalService:
    service = ApprovalService(services, access)
    tz = services.config.slack.timezone

    def listener(decide: Callable[..., Decision]) -> Callable[..., None]:
        def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
            ack()
            user = str((body.get("user") or {}).get("id", ""))
            channel, message_ts = _press_origin(body)
            publisher: ApprovalPublisher = SlackApprovalPublisher(client, tz)
            try:
                decision = decide(
                    str(action.get("value") or ""), user, publisher, channel=channel, message_ts=message_ts
                )
            except Exception:  # the state store is down: say so rather than leave the press unanswered
                log.exception("approval button %s by %s failed", action.get("action_id"), user)
                respond(
                    text="The bot could not record your press (its state store did not answer); nothing was run. "
                    "Try again in a minute.",
                    response_type="ephemeral",
                    replace_original=False,
                )
                return
            log.info("approval button %s by %s: %s", action.get("action_id"), user, decision.outcome.value)
            notice = decision_notice(decision, tz)
            if notice:
                respond(text=notice, response_type="ephemeral", replace_original=False)

        return handle

    app.action(APPROVE_ACTION_ID)(listener(service.approve))
    app.action(DENY_ACTION_ID)(listener(service.deny))
    return service
