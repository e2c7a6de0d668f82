"""Replicas on one PostgreSQL: one leads and runs the jobs; a due report is posted once, even across leaders."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, inspect, text

from bot.app.wiring import build_bot, build_services
from bot.core.config import Config
from bot.sandbox.fake_slack import FakeSlackServer
from bot.slack.client import make_web_client
from bot.store.state import ReportRun, StateStore
from scheduler import JobRunner

SGT = ZoneInfo("Asia/Singapore")


def _cron_at(moment: datetime) -> str:
    local = moment.astimezone(SGT)
    return f"{local.minute} {local.hour} * * *"


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_lease_is_held_by_one_and_passes_on_after_expiry(pg_url: str) -> None:
    store = StateStore(pg_url)
    name = f"test-lease-{uuid.uuid4().hex[:8]}"
    t0 = datetime.now(UTC)
    ttl = timedelta(seconds=10)
    results: list[tuple[str, bool]] = []
    barrier = threading.Barrier(4)

    def contend(holder: str) -> None:
        barrier.wait()
        results.append((holder, StateStore(pg_url).leases.acquire(name, holder, ttl, now=t0)))

    threads = [threading.Thread(target=contend, args=(f"replica-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [holder for holder, won in results if won]
    assert len(results) == 4 and len(winners) == 1
    winner = winners[0]
    other = next(h for h, _ in results if h != winner)
    # The holder renews; the others wait until it expires (or is released).
    assert store.leases.acquire(name, winner, ttl, now=t0 + timedelta(seconds=5))
    assert not store.leases.acquire(name, other, ttl, now=t0 + timedelta(seconds=14))
    assert store.leases.acquire(name, other, ttl, now=t0 + timedelta(seconds=16))
    assert not store.leases.acquire(name, winner, ttl, now=t0 + timedelta(seconds=17))
    store.leases.release(name, other, now=t0 + timedelta(seconds=18))
    assert store.leases.acquire(name, winner, ttl, now=t0 + timedelta(seconds=18))
    lease = store.leases.get(name)
    assert lease is not None and lease.holder == winner and lease.acquired_at == t0 + timedelta(seconds=18)


def test_two_schedulers_one_leader_one_post(
    make_config: Callable[..., Config], slack: FakeSlackServer, pg_url: str
) -> None:
    now = datetime.now(UTC)
    minute_ago = _cron_at(now - timedelta(minutes=1))
    # Every other job's last time is far outside its grace, so only the morning report is due.
    long_ago = _cron_at(now - timedelta(hours=12))
    schedules = {
        "morning": minute_ago,
        "weekly_performance": long_ago,
        "capacity": long_ago,
        "backups": long_ago,
        "security": long_ago,
        "backup_job": long_ago,
        "leader_lease": "3s",
    }
    config = make_config(schedules=schedules)
    tag = uuid.uuid4().hex[:8]
    lease, table = f"test-scheduler-{tag}", f"test_jobs_{tag}"
    replicas = [build_services(config, pg_url) for _ in range(2)]
    # This test's own claim of "morning at that minute", in case the same minute ran before.
    scheduled = now.astimezone(SGT).replace(second=0, microsecond=0) - timedelta(minutes=1)
    with replicas[0].store.session() as session:
        session.execute(delete(ReportRun).where(ReportRun.key == f"morning@{scheduled.astimezone(UTC).isoformat()}"))
    client = make_web_client(token=slack.bot_token, base_url=slack.api_url)
    runners: list[JobRunner] = []
    try:
        for index, services in enumerate(replicas):
            wired = build_bot(services, client, lease=lease, jobs_table=table, identity=f"pod-{index}")
            runners.append(wired.scheduler.start())
        leaders = [r for r in runners if r.is_leader]
        assert len(leaders) == 1
        leader, follower = leaders[0], next(r for r in runners if not r.is_leader)
        assert {"report:morning", "report:backup_job", "lag-metric"} <= {j.id for j in leader.get_jobs()}
        assert follower.get_jobs() == [] and follower.scheduler is None

        posted = slack.wait_for("chat.postMessage", timeout=30)
        assert "Morning health check" in json.dumps(posted[0].args["blocks"])
        # The jobs live in the shared database, with their next run times, for whoever leads next.
        with replicas[0].store.engine.connect() as conn:
            assert inspect(conn).has_table(table)
            stored = set(conn.execute(text(f"SELECT id FROM {table}")).scalars())
        assert {"report:morning", "lag-metric"} <= stored

        # The leader goes away: the follower takes over and runs its catch-up, which finds the post claimed.
        leader.shutdown()
        assert _wait(lambda: follower.is_leader, timeout=10)
        assert _wait(lambda: bool(follower.get_jobs()), timeout=5)
        time.sleep(1.5)
        assert len(slack.calls_to("chat.postMessage")) == 1
        with replicas[1].store.session() as session:
            run = session.get(ReportRun, f"morning@{scheduled.astimezone(UTC).isoformat()}")
            assert run is not None and run.outcome == "posted" and run.claimed_by
    finally:
        for runner in runners:
            runner.shutdown()
        with replicas[0].store.engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
