"""The Slack `IncidentPublisher`: the incident's root message, its thread and the snapshot files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.results import CheckResult, HealthReport
from bot.incidents.publisher import PublishError
from bot.incidents.service import ClosingSummary, IncidentRecord, SnapshotTaken, TimelineEntry
from bot.incidents.severity import Severity
from bot.incidents.verify import VerifyResult
from bot.render.incidents import (
    render_acknowledged,
    render_checklist,
    render_closing,
    render_escalation,
    render_files_not_uploaded,
    render_note,
    render_root,
    render_severity_change,
    render_snapshot,
    render_snapshot_failed,
    render_timeline,
    render_verify,
    snapshot_files,
)
from bot.render.slack import SlackMessage, render_check_detail, render_health_report


class SlackIncidentPublisher:
    def __init__(self, client: WebClient, tz: str = "UTC") -> None:
        self.client = client
        self.tz = tz

    def _post(self, incident: IncidentRecord, message: SlackMessage) -> str:
        answer = self.client.chat_postMessage(
            channel=incident.channel, thread_ts=incident.thread_ts, text=message.text, blocks=message.blocks
        )
        return str(answer["ts"])

    def post_root(self, incident: IncidentRecord, channel: str) -> tuple[str, str]:
        message = render_root(incident, self.tz)
        try:
            answer = self.client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
        except SlackApiError as exc:  # not_in_channel, channel_not_found, ...
            raise PublishError(str(exc.response.get("error"))) from exc
        except Exception as exc:  # Slack unreachable
            raise PublishError(type(exc).__name__) from exc
        # chat.postMessage answers with the channel id even when given "#name".
        return str(answer.get("channel") or channel), str(answer["ts"])

    def update_root(self, incident: IncidentRecord) -> None:
        if not incident.thread_ts:
            return
        message = render_root(incident, self.tz)
        try:
            self.client.chat_update(
                channel=incident.channel, ts=incident.thread_ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as exc:
            raise PublishError(str(exc.response.get("error"))) from exc

    def post_checklist(self, incident: IncidentRecord) -> None:
        self._post(incident, render_checklist(incident))

    def post_snapshot(self, incident: IncidentRecord, taken: SnapshotTaken) -> None:
        self._post(incident, render_snapshot(taken, self.tz))

    def upload_snapshot_files(self, incident: IncidentRecord, taken: SnapshotTaken) -> None:
        self.client.files_upload_v2(
            channel=incident.channel,
            thread_ts=incident.thread_ts,
            file_uploads=snapshot_files(taken),
            # The upload is complete once completed; files.info afterwards would only cost a call.
            request_file_info=False,
        )

    def post_files_not_uploaded(self, incident: IncidentRecord, number: int) -> None:
        self._post(incident, render_files_not_uploaded(incident, number))

    def post_snapshot_failed(self, incident: IncidentRecord, reason: str) -> None:
        self._post(incident, render_snapshot_failed(incident, reason))

    def post_severity_change(self, incident: IncidentRecord, old: Severity, actor: str) -> None:
        self._post(incident, render_severity_change(incident, old, actor))

    def post_note(self, incident: IncidentRecord, actor: str, text: str, at: datetime) -> None:
        self._post(incident, render_note(incident, actor, text, at, self.tz))

    def post_timeline(self, incident: IncidentRecord, entries: Sequence[TimelineEntry]) -> None:
        self._post(incident, render_timeline(incident, entries, self.tz))

    def post_escalation(
        self,
        incident: IncidentRecord,
        actor: str,
        contacts: dict[str, str | None],
        ops_channel: str,
        alerts_channel: str,
    ) -> None:
        self._post(incident, render_escalation(incident, actor, contacts, ops_channel, alerts_channel))

    def post_closing(self, closing: ClosingSummary) -> None:
        self._post(closing.incident, render_closing(closing, self.tz))

    def post_acknowledged(self, incident: IncidentRecord, actor: str) -> None:
        self._post(incident, render_acknowledged(incident, actor))

    def post_health(self, incident: IncidentRecord, report: HealthReport, title: str) -> None:
        self._post(incident, render_health_report(report, title=title, tz=self.tz))

    def post_check(self, incident: IncidentRecord, result: CheckResult, pipeline: str) -> None:
        self._post(incident, render_check_detail(result, pipeline, tz=self.tz))

    def post_verify(self, incident: IncidentRecord, result: VerifyResult, pipeline: str) -> None:
        self._post(incident, render_verify(result, pipeline, self.tz, incident))
