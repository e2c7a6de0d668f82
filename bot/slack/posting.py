"""Posting a report to Slack: the message, then its files (charts) into the message's thread."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render.scheduled import ReportMessage
from bot.render.slack import SlackMessage

log = logging.getLogger(__name__)

# The message metadata type a scheduled post carries its run key under, so a retry can find it.
POST_METADATA_TYPE = "cdc_bot_scheduled_post"
# Slack answers these when it may have done part of the work: the post may be there.
_MAYBE_DONE_ERRORS = frozenset({"internal_error", "fatal_error", "request_timeout", "service_unavailable"})
_TRY_AGAIN_ERRORS = frozenset({"ratelimited", "rate_limited", *_MAYBE_DONE_ERRORS})


class PostFailed(Exception):
    """A post Slack does not have, or may not have.

    `retry`: trying again later can help (429, 5xx, timeout, Slack unreachable); False when Slack
    refused this post as it is (channel_not_found, invalid_blocks). `maybe_delivered`: the request
    may have reached Slack and been posted (a timeout, a 5xx), so look for it before posting again.
    """

    def __init__(self, reason: str, *, retry: bool, maybe_delivered: bool) -> None:
        super().__init__(reason)
        self.reason, self.retry, self.maybe_delivered = reason, retry, maybe_delivered


class Poster(Protocol):
    """What the scheduler posts with: Slack in production (`slack_poster`)."""

    def __call__(self, channel: str, message: SlackMessage | ReportMessage, key: str | None = None) -> str | None:
        """Post; the message ts. Raises PostFailed when Slack did not (surely) take it.

        `key` names the post (a report run) in the message's metadata, for `find`."""
        ...

    def find(self, channel: str, key: str, since: datetime) -> str | None:
        """The ts of a post made with `key` in `channel` since `since`, or None; PostFailed if it cannot look."""
        ...


def post_report(client: WebClient, channel: str, report: ReportMessage | SlackMessage, key: str | None = None) -> str:
    """Post and return the message ts. A failed file upload is logged, not raised: the report itself is out."""
    message = report.message if isinstance(report, ReportMessage) else report
    metadata = {"event_type": POST_METADATA_TYPE, "event_payload": {"key": key}} if key else None
    answer = client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks, metadata=metadata)
    ts = str(answer["ts"])
    files = report.files if isinstance(report, ReportMessage) else []
    if files:
        upload_files_to_thread(client, str(answer.get("channel") or channel), ts, report)  # type: ignore[arg-type]
    return ts


class SlackPoster:
    """The scheduler's `Poster` over `post_report`, with Slack's failures sorted into `PostFailed`."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def __call__(self, channel: str, message: SlackMessage | ReportMessage, key: str | None = None) -> str | None:
        try:
            return post_report(self.client, channel, message, key)
        except Exception as exc:
            raise post_failure(exc) from exc

    def find(self, channel: str, key: str, since: datetime) -> str | None:
        try:
            answer = self.client.conversations_history(
                channel=channel, oldest=f"{since.timestamp():.6f}", include_all_metadata=True, limit=200
            )
        except Exception as exc:
            raise post_failure(exc) from exc
        for message in answer.get("messages") or []:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == POST_METADATA_TYPE
                and (metadata.get("event_payload") or {}).get("key") == key
            ):
                return str(message["ts"])
        return None


def slack_poster(client: WebClient) -> SlackPoster:
    """A `Poster` over `post_report`, for the scheduler's jobs."""
    return SlackPoster(client)


def post_failure(exc: Exception) -> PostFailed:
    """What a failed Web API call means for the post: retry or not, and whether Slack may have it."""
    if isinstance(exc, PostFailed):
        return exc
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = str(exc.response.get("error") or "") if isinstance(exc.response.data, dict) else ""
        if status == 429 or error in ("ratelimited", "rate_limited"):
            return PostFailed(f"rate limited by Slack ({status})", retry=True, maybe_delivered=False)
        if status >= 500:
            return PostFailed(f"Slack answered HTTP {status}", retry=True, maybe_delivered=True)
        return PostFailed(
            f"Slack refused it: {error or status}",
            retry=error in _TRY_AGAIN_ERRORS,
            maybe_delivered=error in _MAYBE_DONE_ERRORS,
        )
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, ConnectionRefusedError):  # nothing was sent
        return PostFailed(f"Slack unreachable: {reason}", retry=True, maybe_delivered=False)
    if isinstance(reason, OSError):  # a timeout or reset mid-request: it may have got there
        return PostFailed(f"no answer from Slack: {type(reason).__name__}: {reason}", retry=True, maybe_delivered=True)
    return PostFailed(f"{type(exc).__name__}: {exc}", retry=True, maybe_delivered=True)


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
