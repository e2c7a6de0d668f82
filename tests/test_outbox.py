"""Scheduled posts survive faults: a replica dying between claim and post, Slack failing for a while,
a try whose answer was lost; and they are still posted exactly once, on SQLite and across replicas
on PostgreSQL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.app.wiring import build_services
from bot.core.metrics import SCHEDULED_POSTS
from bot.render.scheduled import ReportMessage
from bot.render.slack import SlackMessage
from bot.sandbox.fake_slack import FakeSlackServer
from bot.services import Services
from bot.slack.client import make_web_client
from bot.slack.posting import PostFailed, SlackPoster, slack_poster
from bot.store.report_runs import run_key
from scheduler.jobs import CLAIM_TTL, Outcome, build_morning, run_due_report
from scheduler.outbox import Delivery, backoff, deliver_due

SGT = ZoneInfo("Asia/Singapore")
NINE_SGT = datetime(2026, 11, 26, 9, 0, tzinfo=SGT)
KEY = run_key("morning", NINE_SGT)


def _poster(slack: FakeSlackServer) -> SlackPoster:
    return slack_poster(make_web_client(token=slack.bot_token, base_url=slack.api_url))


def _run(services: Services, post: SlackPoster, now: datetime) -> Outcome:
    return run_due_report(services, "morning", services.config.schedules.morning, build_morning, post, now=now)


def _posted(slack: FakeSlackServer) -> list[dict[str, object]]:
    """The messages Slack took (calls it refused do not count)."""
    return [m for (channel, _), m in slack.messages.items() if channel == "#cdc-pipeline-ops"]


def test_a_claim_left_by_a_replica_that_died_is_taken_over_and_posted_once(
    make_services: Callable[..., Services], slack: FakeSlackServer
) -> None:
    services = make_services()
    claimed_at = NINE_SGT + timedelta(seconds=2)
    # The old leader claimed the 9:00 report and died before building or posting it.
    assert services.store.report_runs.claim("morning", NINE_SGT, "dead-pod", CLAIM_TTL, now=claimed_at)
    # While its claim could still be alive, nobody else posts.
    assert _run(services, _poster(slack), claimed_at + CLAIM_TTL / 2) is Outcome.ALREADY_CLAIMED
    assert not slack.calls_to("chat.postMessage")
    # Once it has expired, the next leader takes it over and posts, once.
    assert _run(services, _poster(slack), claimed_at + CLAIM_TTL + timedelta(seconds=1)) is Outcome.POSTED
    assert _run(services, _poster(slack), claimed_at + CLAIM_TTL * 3) is Outcome.ALREADY_CLAIMED
    assert len(_posted(slack)) == 1
    run = services.store.report_runs.get("morning", NINE_SGT)
    assert run is not None and run.claimed_by == services.instance_id and run.outcome == "posted"
    # Should the old owner come back with a built post, it can no longer queue it.
    assert not services.store.report_runs.queue_post(
        "morning", NINE_SGT, "dead-pod", channel="#x", payload={}, give_up_at=NINE_SGT + timedelta(hours=1)
    )


def test_slack_failing_for_a_while_delays_the_post_which_arrives_once(
    make_services: Callable[..., Services], slack: FakeSlackServer
) -> None:
    services = make_services()
    post = _poster(slack)
    start = NINE_SGT + timedelta(seconds=5)
    # HTTP 500 on the first try and the client's two retries of it.
    slack.server_error_next("chat.postMessage", times=3)
    assert _run(services, post, start) is Outcome.QUEUED
    row = services.store.outbox.get(KEY)
    assert row is not None and row.state == "pending" and str(row.last_error).startswith("unknown")
    assert _posted(slack) == []

    # Not due before its backoff.
    assert deliver_due(services, post, start + timedelta(seconds=5)) == {}
    # Then rate limited past the client's own retries (three of them): still kept.
    slack.rate_limit_next("chat.postMessage", times=4, retry_after=0)
    second = start + backoff(1) + timedelta(seconds=10)
    assert deliver_due(services, post, second) == {KEY: Delivery.RETRYING}
    # That try looked for the first one's post before posting (a 500 may come after Slack posted).
    assert slack.calls_to("conversations.history")
    assert _posted(slack) == []

    # Slack is back: the post arrives, once, and is not tried again.
    third = second + backoff(2) + timedelta(seconds=10)
    assert deliver_due(services, post, third) == {KEY: Delivery.POSTED}
    assert deliver_due(services, post, third + timedelta(hours=1)) == {}
    assert len(_posted(slack)) == 1
    row = services.store.outbox.get(KEY)
    assert row is not None and row.state == "sent" and row.attempts == 3
    run = services.store.report_runs.get("morning", NINE_SGT)
    assert run is not None and run.outcome == "posted"


def test_a_post_whose_answer_was_lost_is_found_and_not_posted_again(
    make_services: Callable[..., Services], slack: FakeSlackServer
) -> None:
    services = make_services()
    real = _poster(slack)

    class AnswerLost(SlackPoster):
        """Slack takes the post, but the answer never comes back (a read timeout)."""

        def __call__(self, channel: str, message: SlackMessage | ReportMessage, key: str | None = None) -> str | None:
            super().__call__(channel, message, key)
            raise PostFailed("no answer from Slack: TimeoutError", retry=True, maybe_delivered=True)

    start = NINE_SGT + timedelta(seconds=5)
    assert _run(services, AnswerLost(real.client), start) is Outcome.QUEUED
    assert len(_posted(slack)) == 1
    assert deliver_due(services, real, start + backoff(1) + timedelta(seconds=10)) == {KEY: Delivery.POSTED}
    assert len(_posted(slack)) == 1 and len(slack.calls_to("chat.postMessage")) == 1
    row = services.store.outbox.get(KEY)
    assert row is not None and row.state == "sent" and row.ts == _posted(slack)[0]["ts"]


def test_a_replica_dying_mid_post_leaves_it_to_the_next_one(
    make_services: Callable[..., Services], slack: FakeSlackServer
) -> None:
    services = make_services()
    start = NINE_SGT + timedelta(seconds=5)
    assert services.store.report_runs.claim("morning", NINE_SGT, "dying-pod", CLAIM_TTL, now=start)
    assert services.store.report_runs.queue_post(
        "morning",
        NINE_SGT,
        "dying-pod",
        channel="#cdc-pipeline-ops",
        payload={"text": "Morning health check", "blocks": [], "files": []},
        give_up_at=NINE_SGT + timedelta(minutes=30),
        now=start,
    )
    # It took the post for a try and died before any answer: held until its try's lease lapses.
    assert services.store.outbox.take(KEY, "dying-pod", timedelta(minutes=2), now=start) is not None
    assert deliver_due(services, _poster(slack), start + timedelta(minutes=1)) == {}
    later = start + timedelta(minutes=2, seconds=1)
    assert deliver_due(services, _poster(slack), later) == {KEY: Delivery.POSTED}
    assert len(_posted(slack)) == 1
    assert _run(services, _poster(slack), later) is Outcome.ALREADY_CLAIMED


def test_slack_unreachable_until_the_grace_ends_gives_up_with_a_log_line_and_a_metric(
    make_services: Callable[..., Services], caplog: pytest.LogCaptureFixture
) -> None:
    services = make_services()
    down = FakeSlackServer().start()
    post = _poster(down)
    down.stop()  # connection refused from now on
    start = NINE_SGT + timedelta(seconds=5)
    given_up_before = SCHEDULED_POSTS.labels("morning", "given_up")._value.get()
    assert _run(services, post, start) is Outcome.QUEUED
    row = services.store.outbox.get(KEY)
    assert row is not None and str(row.last_error).startswith("not delivered: Slack unreachable")
    now = start
    outcomes: list[Delivery] = []
    with caplog.at_level(logging.ERROR, logger="scheduler.outbox"):
        for _ in range(20):
            now += timedelta(minutes=5, seconds=1)
            outcomes += deliver_due(services, post, now).values()
            if Delivery.GIVEN_UP in outcomes:
                break
    assert outcomes[-1] is Delivery.GIVEN_UP and set(outcomes[:-1]) == {Delivery.RETRYING}
    assert any("gave up posting morning@" in r.getMessage() for r in caplog.records)
    assert SCHEDULED_POSTS.labels("morning", "given_up")._value.get() == given_up_before + 1
    row = services.store.outbox.get(KEY)
    assert row is not None and row.state == "given_up"
    run = services.store.report_runs.get("morning", NINE_SGT)
    assert run is not None and str(run.outcome).startswith("given up")


def test_two_replicas_on_postgresql_retrying_through_an_outage_post_once(
    make_config: Callable[..., object], slack: FakeSlackServer, pg_url: str
) -> None:
    config = make_config()
    replicas = [build_services(config, pg_url) for _ in range(2)]  # type: ignore[arg-type]
    posters = [_poster(slack) for _ in replicas]
    start = NINE_SGT + timedelta(seconds=5)
    slack.server_error_next("chat.postMessage", times=3)

    def together(work: Callable[[int], object]) -> list[object]:
        barrier = threading.Barrier(len(replicas))
        results: list[object] = []

        def one(index: int) -> None:
            barrier.wait()
            results.append(work(index))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(replicas))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return results

    first = together(lambda i: _run(replicas[i], posters[i], start))
    assert sorted(map(str, first)) == sorted([Outcome.QUEUED.value, Outcome.ALREADY_CLAIMED.value])
    # Both replicas run their outbox job at the same moment, twice: the post goes out once.
    later = start + backoff(1) + timedelta(seconds=10)
    for now in (later, later + timedelta(minutes=1)):
        together(lambda i, now=now: deliver_due(replicas[i], posters[i], now))  # type: ignore[misc]
    assert len(_posted(slack)) == 1
    for services in replicas:
        services.store.engine.dispose()


def test_the_leaders_outbox_job_delivers_what_waits(
    make_services: Callable[..., Services], slack: FakeSlackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job the leader runs every OUTBOX_EVERY picks the post up once its backoff has passed."""
    import scheduler.outbox
    from scheduler import job_specs
    from scheduler.jobs import SchedulerRuntime, deliver_outbox_job, register_runtime, unregister_runtime

    monkeypatch.setattr(scheduler.outbox, "FIRST_BACKOFF", timedelta(seconds=0.2))
    a_minute_ago = datetime.now(SGT) - timedelta(minutes=1)
    services = make_services(schedules={"morning": f"{a_minute_ago.minute} {a_minute_ago.hour} * * *"})
    assert "outbox" in {spec.id for spec in job_specs(services)}
    post = _poster(slack)
    slack.server_error_next("chat.postMessage", times=3)
    assert run_due_report(services, "morning", services.config.schedules.morning, build_morning, post) is Outcome.QUEUED
    runtime = SchedulerRuntime(services, post, lambda: 0)
    register_runtime("test-outbox", runtime)
    try:
        deadline = datetime.now(SGT) + timedelta(seconds=10)
        while not _posted(slack) and datetime.now(SGT) < deadline:
            deliver_outbox_job("test-outbox")
        assert len(_posted(slack)) == 1
        assert deliver_outbox_job("test-outbox") == 0
    finally:
        unregister_runtime("test-outbox", runtime)
