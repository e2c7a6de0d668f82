"""Posting a report to Slack: the message, then its files (charts) into the message's thread."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient

from bot.render.scheduled import ReportMessage
from bot.render.slack import SlackMessage

log = logging.getLogger(__name__)

# What the scheduler posts with: (channel, message). Slack in production, a list in tests.
Poster = Callable[[str, SlackMessage | ReportMessage], None]


def post_report(client: WebClient, channel: str, report: ReportMessage | SlackMessage) -> str:
    """Post and return the message ts. A failed file upload is logged, not raised: the report itself is out."""
    message = report.message if isinstance(report, ReportMessage) else report
    answer = client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
    ts = str(answer["ts"])
    files = report.files if isinstance(report, ReportMessage) else []
    if files:
        upload_files_to_thread(client, str(answer.get("channel") or channel), ts, report)  # type: ignore[arg-type]
    return ts


def slack_poster(client: WebClient) -> Poster:
    """A `Poster` over `post_report`, for the scheduler's jobs."""

    def post(channel: str, message: SlackMessage | ReportMessage) -> None:
        post_report(client, channel, message)

    return post


def upload_files_to_thread(client: WebClient, channel_id: str, thread_ts: str, report: ReportMessage) -> None:
    # files.completeUploadExternal takes a channel id; chat.postMessage's answer gives it even for "#name".
    try:
        client.files_upload_v2(
            channel=channel_id,
            thread_ts=thread_ts,
            file_uploads=[{"content": f.content, "filename": f.filename, "title": f.title} for f in report.files],
            # The upload is done once completed; files.info afterwards would only cost a call.
            request_file_info=False,
        )
    except Exception:  # Slack refused the file (no files:write scope, size): the report stands without it
        log.exception("could not upload %d file(s) to the thread of %s", len(report.files), thread_ts)
