"""Scheduled posts: exactly once per scheduled time, late within the grace, never stale.

A post is claimed in the state store under (kind, scheduled time) before it is built, so two
replicas, or a catch-up run at start-up and the cron firing, cannot post it twice. The claim is
a lease (it expires unless renewed), so a replica that dies between claim and post does not stop
the next leader from posting; the built post goes through the outbox (`scheduler.outbox`), so a
Slack outage delays it until the grace ends instead of losing it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.core.metrics import SCHEDULED_POSTS
from bot.render.report_messages import REPORT_KINDS, report_message
from bot.render.scheduled import ReportMessage
from bot.render.slack import SlackMessage
from bot.services import Services
from bot.slack.posting import Poster
from bot.store.report_runs import DEFAULT_CLAIM_TTL, run_key
from scheduler.outbox import Delivery, deliver_due, deliver_post, to_payload

log = logging.getLogger(__name__)

# A report that runs this much after its time is marked late.
LATE_AFTER = timedelta(minutes=2)
INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}"

# A builder returns what to post, or None when there is nothing to say (a nightly backup that worked).
Builder = Callable[[Services, timedelta | None], SlackMessage | ReportMessage | None]

# How long a claim lasts unless renewed: a replica that died holding it is replaced after this.
CLAIM_TTL = DEFAULT_CLAIM_TTL

# A backup taken late is still worth taking; a report posted hours late is not worth reading.
GRACE_OVERRIDES = {"backup_job": timedelta(hours=6)}


class Outcome(StrEnum):
    POSTED = "posted"
    QUEUED = "queued"  # built, Slack did not take it yet: the outbox tries again until the grace ends
    GIVEN_UP = "given_up"  # built, but Slack refused it or its grace ended first
    NOT_DUE = "not_due"
    STALE = "stale"
    ALREADY_CLAIMED = "already_claimed"
    FAILED = "failed"
    DONE = "done"  # ran, nothing to post


def last_fire_time(cron: str, tz: ZoneInfo, now: datetime, window: timedelta) -> datetime | None:
    """The latest time `cron` fired in (now - window, now], or None."""
    trigger = CronTrigger.from_crontab(cron, timezone=tz)
    start = now - window - timedelta(days=1)
    fire = trigger.get_next_fire_time(None, start)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


def _clock(start: datetime | None) -> Callable[[], datetime]:
    """Now, or (for a run told its `now`) that time moving on at the real pace."""
    if start is None:
        return lambda: datetime.now(UTC)
    began = time.monotonic()
    return lambda: start + timedelta(seconds=time.monotonic() - began)


@contextmanager
def _claim_renewed(services: Services, kind: str, scheduled: datetime, clock: Callable[[], datetime]) -> Iterator[None]:
    """Renew the claim every third of its life while the post is built (checks can take a while)."""
    done = threading.Event()
    owner, runs = services.instance_id, services.store.report_runs

    def renew() -> None:
        while not done.wait(CLAIM_TTL.total_seconds() / 3):
            try:
                if not runs.renew(kind, scheduled, owner, CLAIM_TTL, now=clock()):
                    return  # taken over (we stalled): queue_post will refuse our post
            except Exception as exc:  # the store is unreachable for a moment: the claim lasts a while
                log.warning("could not renew the claim of %s for %s: %s", kind, scheduled, exc)

    renewer = threading.Thread(target=renew, name=f"cdc-claim-{kind}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()


def run_due_report(
    services: Services, kind: str, cron: str, build: Builder, post: Poster, now: datetime | None = None
) -> Outcome:
    config = services.config
    clock = _clock(now)
    now = clock()
    grace = max(config.schedules.misfire_grace, GRACE_OVERRIDES.get(kind, timedelta(0)))
    scheduled = last_fire_time(cron, config.slack.tz, now, timedelta(days=1))
    if scheduled is None:
        return Outcome.NOT_DUE
    late = now - scheduled
    if late > grace:
        # Not an error: the bot was down past the grace. A stale morning report misleads more than none.
        log.info("%s report of %s not posted: %s late, grace is %s", kind, scheduled, late, grace)
        return Outcome.STALE
    runs, owner = services.store.report_runs, services.instance_id
    # Taken by one replica at a time; a claim whose replica died before posting expires and is taken over.
    if not runs.claim(kind, scheduled, owner, CLAIM_TTL, now=now):
        return Outcome.ALREADY_CLAIMED
    try:
        with _claim_renewed(services, kind, scheduled, clock):
            message = build(services, late if late > LATE_AFTER else None)
    except Exception as exc:
        log.exception("%s report for %s failed", kind, scheduled)
        runs.finish(kind, scheduled, f"failed: {exc}", claimed_by=owner)
        SCHEDULED_POSTS.labels(kind, "failed").inc()
        return Outcome.FAILED
    if message is None:
        runs.finish(kind, scheduled, Outcome.DONE.value, claimed_by=owner)
        SCHEDULED_POSTS.labels(kind, Outcome.DONE.value).inc()
        return Outcome.DONE
    # The built post goes to the outbox before Slack sees it, so an outage or a crash from here on
    # delays it instead of losing it; only the claim's owner can queue it, so it is queued once.
    payload = to_payload(message)
    if not runs.queue_post(
        kind,
        scheduled,
        owner,
        channel=config.slack.ops_channel,
        payload=payload,
        give_up_at=scheduled + grace,
        now=clock(),
    ):
        log.warning("%s report for %s built, but another replica took the claim over meanwhile", kind, scheduled)
        return Outcome.ALREADY_CLAIMED
    delivery = deliver_post(services, run_key(kind, scheduled), post, now=clock())
    return {
        Delivery.POSTED: Outcome.POSTED,
        Delivery.GIVEN_UP: Outcome.GIVEN_UP,
    }.get(delivery, Outcome.QUEUED)


def build_morning(services: Services, late_by: timedelta | None) -> SlackMessage:
    from bot.render.reports import render_morning_report
    from bot.reports.morning import build_morning_report

    return render_morning_report(build_morning_report(services, late_by=late_by), tz=services.config.slack.timezone)


def report_builder(name: str) -> Builder:
    def build(services: Services, late_by: timedelta | None) -> ReportMessage:
        return report_message(services, name, late_by=late_by)

    build.__name__ = f"build_{name.replace('-', '_')}"
    return build


def build_backup_job(services: Services, late_by: timedelta | None) -> SlackMessage | None:
    """The nightly backup of every pipeline; posts to the ops channel only when one failed."""
    from bot.backups.nightly import run_backup
    from bot.render.scheduled import backup_run_lines, render_backup_failure

    runs = []
    for pipeline in services.config.pipelines:
        run = run_backup(pipeline, services.clients(pipeline), services.config.slack.tz)
        for line in backup_run_lines(run):
            log.info("%s", line)
        runs.append(run)
    failed = [r for r in runs if not r.ok]
    return render_backup_failure(failed) if failed else None


# Keyed by the `schedules` config key; the reports come from their registry (the same ones as
# `/cdc report` and `cdc-bot report`), the morning report with its own builder, plus the backup job.
REPORTS: dict[str, Builder] = {
    "morning": build_morning,
    **{name.replace("-", "_"): report_builder(name) for name in REPORT_KINDS if name != "morning"},
    "backup_job": build_backup_job,
}


# --- what the job store holds -------------------------------------------------------------------
# APScheduler pickles a job as a reference to a module-level function plus its arguments, so the
# jobs carry only names; what the process that runs them (the leader) works with is registered
# here under the lease name when it starts leading. The app's wiring builds that runtime.


@dataclass(frozen=True)
class SchedulerRuntime:
    """What this process's scheduled jobs run with; built once by the app's wiring."""

    services: Services
    post: Poster
    # The approval expiry sweep over the bot's one ApprovalService (the buttons' too).
    sweep_approvals: Callable[[], int]


_RUNTIMES: dict[str, SchedulerRuntime] = {}


def register_runtime(lease: str, runtime: SchedulerRuntime) -> None:
    _RUNTIMES[lease] = runtime


def unregister_runtime(lease: str, runtime: SchedulerRuntime) -> None:
    if _RUNTIMES.get(lease) is runtime:
        del _RUNTIMES[lease]


def scheduled_report(lease: str, kind: str) -> str:
    runtime = _RUNTIMES.get(lease)
    if runtime is None:
        log.warning("%s job fired with no services registered for %s (not leading here)", kind, lease)
        return "no_runtime"
    if kind not in REPORTS:
        log.warning("no scheduled job named %s (removed from this version?)", kind)
        return "unknown"
    services = runtime.services
    cron = getattr(services.config.schedules, kind)
    return run_due_report(services, kind, cron, REPORTS[kind], runtime.post).value


def deliver_outbox_job(lease: str) -> int:
    """Try the outbox's due posts again (Slack was down, or the replica that built one died); how many were due."""
    runtime = _RUNTIMES.get(lease)
    if runtime is None:
        return 0
    return len(deliver_due(runtime.services, runtime.post))


def expire_approvals_job(lease: str) -> int:
    """Expire pending approval requests past their time, and end those whose bot stopped under them."""
    runtime = _RUNTIMES.get(lease)
    return runtime.sweep_approvals() if runtime is not None else 0


def publish_lag_job(lease: str) -> None:
    """Consumer lag of every pipeline to CloudWatch; a failing pipeline does not stop the others."""
    from bot.alarms.lag_metric import publish_lag
    from bot.clients.base import BackendError

    runtime = _RUNTIMES.get(lease)
    if runtime is None:
        return
    services = runtime.services
    for pipeline in services.config.pipelines:
        try:
            publish_lag(pipeline, services.clients(pipeline))
        except BackendError as exc:
            log.warning("consumer lag of %s not published: %s", pipeline.name, exc)
