"""The 9:00 report: on time, late within the grace (marked so), never stale, never twice."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.app.wiring import build_bot, build_services
from bot.sandbox.fake_slack import FakeSlackServer
from bot.services import Services
from bot.slack.client import make_web_client
from bot.slack.posting import slack_poster
from scheduler.jobs import Outcome, build_morning, last_fire_time, run_due_report

SGT = ZoneInfo("Asia/Singapore")
NINE_SGT = datetime(2026, 11, 26, 9, 0, tzinfo=SGT)


def test_last_fire_time_in_the_configured_timezone() -> None:
    now = NINE_SGT + timedelta(minutes=20)
    assert last_fire_time("0 9 * * *", SGT, now, timedelta(days=1)) == NINE_SGT
    # At 8:59 the last 9:00 was yesterday's.
    assert last_fire_time("0 9 * * *", SGT, NINE_SGT - timedelta(minutes=1), timedelta(days=1)) == NINE_SGT - timedelta(
        days=1
    )


def _run(services: Services, slack: FakeSlackServer, now: datetime) -> Outcome:
    post = slack_poster(make_web_client(token=slack.bot_token, base_url=slack.api_url))
    return run_due_report(services, "morning", services.config.schedules.morning, build_morning, post, now=now)


def test_on_time_then_not_again(make_services: Callable[..., Services], slack: FakeSlackServer) -> None:
    services = make_services()
    assert _run(services, slack, NINE_SGT + timedelta(seconds=5)) is Outcome.POSTED
    posted = slack.calls_to("chat.postMessage")
    assert len(posted) == 1 and posted[0].args["channel"] == "#cdc-pipeline-ops"
    blocks = json.dumps(posted[0].args["blocks"])
    assert "Morning health check" in blocks and "late" not in blocks
    # The cron firing and a catch-up run at the same 9:00 do not post twice.
    assert _run(services, slack, NINE_SGT + timedelta(minutes=1)) is Outcome.ALREADY_CLAIMED
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_back_by_930_posts_once_marked_late(make_services: Callable[..., Services], slack: FakeSlackServer) -> None:
    services = make_services()
    assert _run(services, slack, NINE_SGT + timedelta(minutes=25)) is Outcome.POSTED
    blocks = json.dumps(slack.calls_to("chat.postMessage")[0].args["blocks"])
    assert "Posted 25m late" in blocks
    assert _run(services, slack, NINE_SGT + timedelta(minutes=26)) is Outcome.ALREADY_CLAIMED


def test_back_after_the_grace_posts_nothing_stale(
    make_services: Callable[..., Services], slack: FakeSlackServer
) -> None:
    services = make_services()
    assert _run(services, slack, NINE_SGT + timedelta(minutes=45)) is Outcome.STALE
    assert not slack.calls_to("chat.postMessage")


def test_two_replicas_on_one_database_post_once(
    make_config: Callable[..., object], slack: FakeSlackServer, pg_url: str
) -> None:
    # Several replicas share PostgreSQL (a schema of this test's own).
    config = make_config()
    replicas = [build_services(config, pg_url) for _ in range(2)]  # type: ignore[arg-type]
    now = NINE_SGT + timedelta(seconds=3)
    outcomes: list[Outcome] = []
    barrier = threading.Barrier(2)

    def replica(services: Services) -> None:
        barrier.wait()
        outcomes.append(_run(services, slack, now))

    threads = [threading.Thread(target=replica, args=(s,)) for s in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == sorted([Outcome.POSTED, Outcome.ALREADY_CLAIMED])
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_scheduler_catches_up_a_missed_report_at_start(
    make_services: Callable[..., Services], slack: FakeSlackServer
) -> None:
    """Started now, with a schedule whose last run was a minute ago: the catch-up job posts it, late-marked or not."""
    services = make_services(schedules={"morning": _cron_a_minute_ago()})
    scheduler = build_bot(services, make_web_client(token=slack.bot_token, base_url=slack.api_url)).scheduler.start()
    try:
        posted = slack.wait_for("chat.postMessage", timeout=30)
        assert "Morning health check" in json.dumps(posted[0].args["blocks"])
        jobs = {job.id for job in scheduler.get_jobs()}
        assert "report:morning" in jobs
    finally:
        scheduler.shutdown(wait=False)


def _cron_a_minute_ago() -> str:
    moment = datetime.now(UTC) - timedelta(minutes=1)
    # The sandbox config's timezone is Asia/Singapore.
    local = moment.astimezone(SGT)
    return f"{local.minute} {local.hour} * * *"
