"""Delivering built scheduled posts from the outbox: retried with backoff until the report's grace ends.

A post that was built is queued in the state store (`store.outbox`) before anything is sent, so a
Slack outage (429 after the client's own retries, 5xx, a timeout, connection refused), a restart
or a change of leader delays it but does not lose it. The leader tries due posts every
`OUTBOX_EVERY`; whoever tries one holds it for that try, so two replicas never send it together.

Exactly once: a post Slack accepted is marked sent and never tried again. Each post carries its run
key in the message metadata; when an earlier try may have reached Slack without anyone seeing the
answer (a timeout, a 5xx, a replica that died mid-post), the channel is searched for that key
before posting again. If Slack cannot be searched at all (no `channels:history` scope), the post
is sent anyway: a duplicate morning report is the lesser harm than a lost one.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.core.metrics import SCHEDULED_POSTS
from bot.render.scheduled import ReportFile, ReportMessage
from bot.render.slack import SlackMessage
from bot.services import Services
from bot.slack.posting import Poster, PostFailed
from bot.store.models import utcnow
from bot.store.outbox import IN_FLIGHT, UNKNOWN

log = logging.getLogger(__name__)

# How long one try may take before another replica may try the post again (the client's own
# retries on 429 included), the first wait after a failed try (doubled each time), and its cap.
DELIVERY_TTL = timedelta(minutes=2)
FIRST_BACKOFF = timedelta(seconds=15)
MAX_BACKOFF = timedelta(minutes=5)
# Clocks differ between a replica and Slack: look this far back for an earlier try's post.
FIND_SLACK = timedelta(minutes=5)


class Delivery(StrEnum):
    POSTED = "posted"
    RETRYING = "retrying"  # Slack did not take it; queued for a later try
    GIVEN_UP = "given_up"
    BUSY = "busy"  # not due, already sent, or another replica is trying it now


def _as_bytes(content: bytes | str) -> bytes:
    # A file is text (snapshots, timelines) or bytes (charts); the outbox stores both as base64.
    return content if isinstance(content, bytes) else content.encode()


def to_payload(message: SlackMessage | ReportMessage) -> dict[str, Any]:
    """A built message as JSON for the outbox (files base64-encoded)."""
    report = message if isinstance(message, ReportMessage) else ReportMessage(message)
    return {
        "text": report.message.text,
        "blocks": report.message.blocks,
        "files": [
            {"filename": f.filename, "title": f.title, "content": base64.b64encode(_as_bytes(f.content)).decode()}
            for f in report.files
        ],
    }


def from_payload(payload: dict[str, Any]) -> ReportMessage:
    files = [
        ReportFile(filename=f["filename"], title=f["title"], content=base64.b64decode(f["content"]))
        for f in payload.get("files") or []
    ]
    return ReportMessage(SlackMessage(text=payload["text"], blocks=payload["blocks"]), files)


def backoff(tries: int) -> timedelta:
    """The wait after the `tries`-th failed try: 15 s, 30 s, 1 min, … at most 5 min."""
    return min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, tries - 1))


def deliver_post(services: Services, key: str, post: Poster, now: datetime | None = None) -> Delivery:
    """Try the outbox post `key` once, if it is due and nobody else is trying it."""
    outbox = services.store.outbox
    owner = services.instance_id
    now = now or utcnow()
    row = outbox.take(key, owner, DELIVERY_TTL, now=now)
    if row is None:
        return Delivery.BUSY
    tries = row.attempts + 1
    if now >= row.give_up_at:
        return _give_up(services, key, row.kind, row.last_error or "its grace ended", now)
    earlier_try_unseen = bool(row.last_error) and str(row.last_error).startswith((IN_FLIGHT, UNKNOWN))
    try:
        if earlier_try_unseen:
            ts = _find_earlier(post, row.channel, key, row.created_at - FIND_SLACK)
            if ts is not None:
                log.info("%s was posted by an earlier try (ts %s); not posting it again", key, ts)
                return _sent(services, key, row.kind, owner, ts, tries, now)
        ts = post(row.channel, from_payload(row.payload), key=key)
    except PostFailed as exc:
        return _failed(services, key, row.kind, owner, exc, tries, row.give_up_at, now)
    except Exception as exc:  # a poster bug or an unsorted error: keep the post and try again
        log.exception("posting %s failed", key)
        failure = PostFailed(f"{type(exc).__name__}: {exc}", retry=True, maybe_delivered=True)
        return _failed(services, key, row.kind, owner, failure, tries, row.give_up_at, now)
    return _sent(services, key, row.kind, owner, ts, tries, now)


def deliver_due(services: Services, post: Poster, now: datetime | None = None) -> dict[str, Delivery]:
    """Try every due post once (the leader's periodic job); what happened to each."""
    return {key: deliver_post(services, key, post, now) for key in services.store.outbox.due(now)}


def _find_earlier(post: Poster, channel: str, key: str, since: datetime) -> str | None:
    try:
        return post.find(channel, key, since)
    except PostFailed as exc:
        if exc.retry:
            raise  # Slack is still unwell: try the whole thing later
        log.warning("cannot check whether %s reached Slack already (%s); posting it", key, exc.reason)
        return None


def _sent(services: Services, key: str, kind: str, owner: str, ts: str | None, tries: int, now: datetime) -> Delivery:
    if not services.store.outbox.mark_sent(key, owner, ts, now=now):
        # Our hold lapsed mid-try and another replica took the post: it will find ours by its key.
        log.warning("%s was posted (ts %s) but another replica holds it now", key, ts)
    if tries > 1:
        log.info("%s reached Slack on try %d", key, tries)
    SCHEDULED_POSTS.labels(kind, "posted").inc()
    return Delivery.POSTED


def _failed(
    services: Services,
    key: str,
    kind: str,
    owner: str,
    exc: PostFailed,
    tries: int,
    give_up_at: datetime,
    now: datetime,
) -> Delivery:
    error = f"{UNKNOWN if exc.maybe_delivered else 'not delivered'}: {exc.reason}"
    if not exc.retry:
        return _give_up(services, key, kind, error, now, owner)
    if now >= give_up_at:
        return _give_up(services, key, kind, error, now, owner)
    # One last try at the end of the grace rather than none past it.
    at = min(now + backoff(tries), give_up_at)
    services.store.outbox.retry_later(key, owner, error, at)
    log.warning("%s did not reach Slack on try %d (%s); next try at %s", key, tries, exc.reason, at.isoformat())
    SCHEDULED_POSTS.labels(kind, "retrying").inc()
    return Delivery.RETRYING


def _give_up(services: Services, key: str, kind: str, error: str, now: datetime, owner: str | None = None) -> Delivery:
    owner = owner or services.instance_id
    if services.store.outbox.give_up(key, owner, error, now=now):
        log.error("gave up posting %s: %s", key, error)
        SCHEDULED_POSTS.labels(kind, "given_up").inc()
    return Delivery.GIVEN_UP
