"""Repository queries that no end-to-end test reaches on both backends: the scheduler overview's latest
runs, and the incident compare-and-sets, on SQLite and on PostgreSQL (in a schema of its own)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.models import Incident
from bot.store.state import StateStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[StateStore]:
    if request.param == "sqlite":
        opened = StateStore(f"sqlite:///{tmp_path}/state.db")
        yield opened
        opened.engine.dispose()
        return
    opened = StateStore(str(request.getfixturevalue("pg_url")))
    yield opened
    opened.engine.dispose()


def test_report_runs_are_claimed_once_and_the_latest_per_kind_is_found(store: StateStore) -> None:
    monday = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    tuesday = monday + timedelta(days=1)
    assert store.report_runs.claim("morning", monday, "pod-0")
    assert not store.report_runs.claim("morning", monday, "pod-1")  # the other replica posts nothing
    store.report_runs.finish("morning", monday, "posted")
    assert store.report_runs.claim("morning", tuesday, "pod-1")
    assert store.report_runs.claim("capacity", monday, "pod-0")
    store.report_runs.finish("capacity", monday, "failed: boom")

    latest = store.report_runs.latest_by_kind()
    assert {kind: (run.scheduled_for, run.claimed_by, run.outcome) for kind, run in latest.items()} == {
        "morning": (tuesday, "pod-1", None),
        "capacity": (monday, "pod-0", "failed: boom"),
    }


def test_incident_changes_are_compare_and_set(store: StateStore) -> None:
    incident = store.incidents.add(
        Incident(pipeline="prod", severity="SEV2", title="lag", commander="U0", status="open", channel="C0")
    )
    assert incident.id is not None and incident.started_at.tzinfo is not None
    assert store.incidents.change_severity(incident.id, "SEV2", "SEV1")
    assert not store.incidents.change_severity(incident.id, "SEV2", "SEV3")  # read before someone else's change
    assert [i.id for i in store.incidents.open()] == [incident.id]
    now = datetime.now(UTC)
    assert store.incidents.resolve(incident.id, at=now, by="U0", summary="fixed")
    assert not store.incidents.resolve(incident.id, at=now, by="U1", summary="again")
    resolved = store.incidents.get(incident.id)
    assert resolved is not None and (resolved.status, resolved.severity, resolved.resolved_by) == (
        "resolved",
        "SEV1",
        "U0",
    )
    assert store.incidents.open() == []

    store.incidents.add_event(incident.id, "U0", "note", "first")
    store.incidents.add_event(incident.id, "U0", "snapshot", "#1", {"number": 1})
    store.incidents.add_event(incident.id, "U0", "snapshot", "#2", {"number": 2})
    assert [e.text for e in store.incidents.events(incident.id)] == ["first", "#1", "#2"]
    last = store.incidents.last_event(incident.id, "snapshot")
    assert last is not None and last.data == {"number": 2}
    assert store.incidents.count_events(incident.id, "snapshot") == 2


def test_a_report_claim_expires_and_only_its_owner_can_queue_the_post(store: StateStore) -> None:
    from sqlalchemy import update

    from bot.store.models import ReportRun

    nine = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    ttl = timedelta(minutes=2)
    assert store.report_runs.claim("morning", nine, "pod-0", ttl, now=nine)
    assert store.report_runs.renew("morning", nine, "pod-0", ttl, now=nine + timedelta(minutes=1))
    assert not store.report_runs.claim("morning", nine, "pod-1", ttl, now=nine + timedelta(minutes=2, seconds=30))
    assert store.report_runs.claim("morning", nine, "pod-1", ttl, now=nine + timedelta(minutes=3, seconds=1))
    assert not store.report_runs.renew("morning", nine, "pod-0", ttl, now=nine + timedelta(minutes=4))
    give_up = nine + timedelta(minutes=30)
    assert not store.report_runs.queue_post("morning", nine, "pod-0", channel="#c", payload={}, give_up_at=give_up)
    assert store.report_runs.queue_post("morning", nine, "pod-1", channel="#c", payload={}, give_up_at=give_up)
    assert [row.key for row in store.outbox.pending()] == ["morning@2026-11-30T01:00:00+00:00"]
    # A finished claim is never taken over.
    assert not store.report_runs.claim("morning", nine, "pod-2", ttl, now=nine + timedelta(hours=1))

    # A claim made before claims expired (no expiry) lasts one ttl from when it was made.
    tuesday = nine + timedelta(days=1)
    assert store.report_runs.claim("morning", tuesday, "old-pod", ttl, now=tuesday)
    with store.session() as session:
        session.execute(update(ReportRun).where(ReportRun.claimed_by == "old-pod").values(expires_at=None))
    assert not store.report_runs.claim("morning", tuesday, "pod-1", ttl, now=tuesday + timedelta(minutes=1))
    assert store.report_runs.claim("morning", tuesday, "pod-1", ttl, now=tuesday + ttl)
