"""The Slack side of approvals and the workflows they run: post and update messages in place.

Built once, in the app's wiring, and shared by the approval buttons, every command that asks for
an action, the incident checklist and the scheduler's expiry sweep.
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.actions.service import ApprovalRecord
from bot.actions.workflows import StepView, WorkflowNote
from bot.core.results import HealthReport
from bot.render.approvals import render_approval
from bot.render.maintenance import render_workflow_note, render_workflow_step
from bot.render.slack import SlackMessage, render_health_report
from bot.store.workflows import WorkflowRecord


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
