"""The PagerDuty adapter driving the real `pagerduty` client against the local peer over TLS."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pagerduty
import pytest

from bot.clients.base import BackendError
from bot.clients.pager_base import Pager, PagerError
from bot.clients.pagerduty import PagerDutyClient
from bot.sandbox.pagerduty_peer import OutageMode, PagerDutyPeer

API_TOKEN = "pdtok-u+Zx8Qa2-SECRET-7h3k"
ROUTING_KEY = "R0UTINGKEY5ecret-q9Zv"


@dataclass
class Account:
    peer: PagerDutyPeer
    alice: str
    bob: str
    carol: str
    policy: str
    service: str


@pytest.fixture
def account() -> Iterator[Account]:
    with PagerDutyPeer(api_token=API_TOKEN) as peer:
        pd = peer.account
        alice = pd.add_user("Alice Ops", "alice@example.com")
        bob = pd.add_user("Bob Lead", "bob@example.com")
        carol = pd.add_user("Carol Dba", "carol@example.com")
        # Three levels; nobody is on call at level 3 (a gap in the schedule).
        policy = pd.add_escalation_policy("CDC pipeline", [[alice], [bob, carol], []])
        service = pd.add_service("cdc-pipeline", policy, routing_key=ROUTING_KEY)
        yield Account(peer, alice, bob, carol, policy, service)


def client_for(peer: PagerDutyPeer, token: str = API_TOKEN, timeout: float = 5.0) -> PagerDutyClient:
    return PagerDutyClient(
        token, ROUTING_KEY, api_url=peer.url, events_url=peer.url, timeout=timeout, ca_file=str(peer.ca_path)
    )


@pytest.fixture
def pager(account: Account) -> Iterator[PagerDutyClient]:
    client = client_for(account.peer)
    yield client
    client.close()


def test_the_adapter_is_a_pager(pager: PagerDutyClient) -> None:
    typed: Pager = pager  # mypy checks the Protocol; this keeps the test honest at run time too
    assert callable(typed.oncall)


def test_trigger_twice_with_one_dedup_key_opens_one_incident(account: Account, pager: PagerDutyClient) -> None:
    links = [("Runbook", "https://wiki.example.com/cdc")]
    first = pager.trigger("cdc-prod-lag", "Consumer lag 120k on pii-masking-app", "critical", "cdc-bot", links)
    second = pager.trigger("cdc-prod-lag", "Consumer lag 130k on pii-masking-app", "critical", "cdc-bot")

    assert first == second == "cdc-prod-lag"
    assert len(account.peer.account.incident_ids()) == 1
    events = account.peer.requests_to("POST", "/v2/enqueue")
    assert [e.status for e in events] == [202, 202]
    assert events[0].body["routing_key"] == ROUTING_KEY
    assert events[0].body["links"] == [{"text": "Runbook", "href": "https://wiki.example.com/cdc"}]
    incident = pager.find_incident_by_dedup_key("cdc-prod-lag")
    assert incident is not None and incident.status == "triggered"
    assert incident.title == "Consumer lag 120k on pii-masking-app"
    assert [u.name for u in incident.assignees] == ["Alice Ops"]


def test_an_unknown_routing_key_is_refused_clearly(account: Account) -> None:
    client = PagerDutyClient(
        API_TOKEN,
        "not-a-routing-key",
        api_url=account.peer.url,
        events_url=account.peer.url,
        ca_file=str(account.peer.ca_path),
    )
    with pytest.raises(PagerError) as caught:
        client.trigger("cdc-prod-lag", "lag", "critical", "cdc-bot")
    assert caught.value.reason == "rejected"
    assert "'routing_key' is invalid" in str(caught.value) and "not-a-routing-key" not in str(caught.value)
    assert account.peer.account.incident_ids() == []
    client.close()


def test_trigger_without_a_routing_key_says_so(account: Account) -> None:
    client = PagerDutyClient(API_TOKEN, None, api_url=account.peer.url, ca_file=str(account.peer.ca_path))
    with pytest.raises(PagerError, match="no PagerDuty Events routing key"):
        client.trigger("k", "lag", "critical", "cdc-bot")
    client.close()


def test_events_acknowledge_and_resolve_by_dedup_key_then_a_new_trigger_opens_anew(
    account: Account, pager: PagerDutyClient
) -> None:
    # The peer's Events v2 semantics, through the official client's own acknowledge/resolve.
    events = pagerduty.EventsApiV2Client(
        ROUTING_KEY, base_url=account.peer.url, verify=account.peer.client_ssl_context()
    )
    pager.trigger("cdc-dr-lag", "DR lag", "error", "cdc-bot")
    events.acknowledge("cdc-dr-lag")
    acked = pager.find_incident_by_dedup_key("cdc-dr-lag")
    assert acked is not None and acked.status == "acknowledged"
    assert acked.acknowledged_at is not None and acked.acknowledged_by is None  # the integration, not a person
    events.resolve("cdc-dr-lag")
    pager.trigger("cdc-dr-lag", "DR lag again", "error", "cdc-bot")

    assert len(account.peer.account.incident_ids()) == 2  # a resolved incident is not linked to
    statuses = sorted(pager.incident(i).status for i in account.peer.account.incident_ids())
    assert statuses == ["resolved", "triggered"]
    current = pager.find_incident_by_dedup_key("cdc-dr-lag")
    assert current is not None and current.title == "DR lag again" and current.status == "triggered"
    events.close()


def test_a_dedup_key_that_was_never_used_finds_nothing(pager: PagerDutyClient) -> None:
    assert pager.find_incident_by_dedup_key("no-such-key") is None


def test_acknowledge_sends_the_person_as_from(account: Account, pager: PagerDutyClient) -> None:
    incident_id = account.peer.account.add_incident(account.service, "Connector FAILED")

    acked = pager.acknowledge(incident_id, "bob@example.com")

    assert acked.status == "acknowledged"
    assert acked.acknowledged_by is not None and acked.acknowledged_by.name == "Bob Lead"
    (put,) = account.peer.requests_to("PUT", f"/incidents/{incident_id}")
    assert put.from_header == "bob@example.com"
    assert put.body == {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    again = pager.incident(incident_id)
    assert again.acknowledged_at is not None and again.time_to_acknowledge is not None


def test_an_unknown_email_is_a_clear_error_and_acknowledges_nothing(account: Account, pager: PagerDutyClient) -> None:
    incident_id = account.peer.account.add_incident(account.service, "Connector FAILED")

    with pytest.raises(PagerError) as caught:
        pager.acknowledge(incident_id, "mallory@example.com")

    assert caught.value.reason == "unknown_user"
    assert "mallory@example.com is not a PagerDuty user" in str(caught.value)
    assert isinstance(caught.value, BackendError)
    incident = pager.incident(incident_id)
    assert incident.status == "triggered" and incident.acknowledged_by is None


def test_a_write_without_from_is_refused_by_the_peer(account: Account) -> None:
    incident_id = account.peer.account.add_incident(account.service, "Connector FAILED")
    raw = pagerduty.RestApiV2Client(API_TOKEN, base_url=account.peer.url, verify=account.peer.client_ssl_context())

    with pytest.raises(pagerduty.HttpError) as caught:
        raw.rput(f"/incidents/{incident_id}", json={"type": "incident_reference", "status": "acknowledged"})

    assert caught.value.response is not None and caught.value.response.status_code == 400
    assert caught.value.response.json()["error"]["code"] == 2016
    raw.close()


def test_resolve_keeps_who_acknowledged_from_the_log(account: Account, pager: PagerDutyClient) -> None:
    incident_id = account.peer.account.add_incident(account.service, "Redshift stale")
    pager.acknowledge(incident_id, "alice@example.com")

    resolved = pager.resolve(incident_id, "alice@example.com")

    assert resolved.status == "resolved" and resolved.assignees == ()
    # PagerDuty clears acknowledgements on resolve; the log entries still say who and when.
    again = pager.incident(incident_id)
    assert again.resolved_at is not None
    assert again.acknowledged_by is not None and again.acknowledged_by.name == "Alice Ops"
    with pytest.raises(PagerError) as caught:
        pager.acknowledge(incident_id, "alice@example.com")
    assert caught.value.reason == "rejected" and "Already Resolved" in str(caught.value)


def test_escalate_moves_the_level(account: Account, pager: PagerDutyClient) -> None:
    incident_id = account.peer.account.add_incident(account.service, "MSK broker down")
    pager.acknowledge(incident_id, "alice@example.com")

    escalated = pager.escalate(incident_id, "alice@example.com", 2)

    assert account.peer.account.incident_level(incident_id) == 2
    assert {u.name for u in escalated.assignees} == {"Bob Lead", "Carol Dba"}
    assert escalated.status == "triggered"  # the new level is paged, not pre-acknowledged
    put = account.peer.requests_to("PUT", f"/incidents/{incident_id}")[-1]
    assert put.from_header == "alice@example.com"
    assert put.body == {"incident": {"type": "incident_reference", "escalation_level": 2}}


def test_escalate_beyond_the_policy_is_refused_and_changes_nothing(account: Account, pager: PagerDutyClient) -> None:
    incident_id = account.peer.account.add_incident(account.service, "MSK broker down")

    with pytest.raises(PagerError) as caught:
        pager.escalate(incident_id, "alice@example.com", 7)

    assert caught.value.reason == "rejected" and "level 7" in str(caught.value)
    assert account.peer.account.incident_level(incident_id) == 1


def test_incidents_since_follows_pagination_and_reports_acknowledgements(
    account: Account, pager: PagerDutyClient
) -> None:
    pd = account.peer.account
    other = pd.add_service("another-team", account.policy)
    start = datetime.now(UTC) - timedelta(hours=20)
    for n in range(230):
        created = start + timedelta(minutes=n)
        pd.add_incident(account.service, f"lag #{n}", created_at=created, acknowledged_by=account.alice)
    pd.add_incident(other, "not ours", created_at=start)
    pd.add_incident(account.service, "too old", created_at=start - timedelta(days=2))

    found = pager.incidents_since(start - timedelta(minutes=1), service_ids=[account.service])

    assert len(found) == 230 and len({i.id for i in found}) == 230
    assert all(i.acknowledged_by and i.acknowledged_by.name == "Alice Ops" for i in found)
    assert all(i.time_to_acknowledge == timedelta(minutes=3) for i in found)
    pages = account.peer.requests_to("GET", "/incidents")
    assert [p.query["offset"] for p in pages] == [["0"], ["100"], ["200"]]
    assert all(p.query["service_ids[]"] == [account.service] for p in pages)


def test_oncall_lists_every_level(account: Account, pager: PagerDutyClient) -> None:
    levels = pager.oncall(account.policy)

    assert [lvl.level for lvl in levels] == [1, 2, 3]
    assert [u.email for u in levels[0].users] == ["alice@example.com"]
    assert {u.email for u in levels[1].users} == {"bob@example.com", "carol@example.com"}
    assert levels[2].users == ()  # nobody on call there: shown, not hidden
    assert levels[0].until is not None and levels[0].until > datetime.now(UTC)
    (request,) = account.peer.requests_to("GET", "/oncalls")
    assert request.query["escalation_policy_ids[]"] == [account.policy]


def test_oncall_for_an_unknown_policy(pager: PagerDutyClient) -> None:
    with pytest.raises(PagerError) as caught:
        pager.oncall("PNOPE00")
    assert caught.value.reason == "not_found"


def test_user_by_email(pager: PagerDutyClient) -> None:
    user = pager.user_by_email("Carol@Example.com")
    assert user is not None and user.name == "Carol Dba" and user.email == "carol@example.com"
    assert pager.user_by_email("nobody@example.com") is None


@pytest.mark.parametrize("mode", ["refused", "error", "hang"])
def test_an_outage_is_a_backend_error_within_the_timeout(account: Account, mode: OutageMode) -> None:
    incident_id = account.peer.account.add_incident(account.service, "Connector FAILED")
    client = client_for(account.peer, timeout=1.0)
    client.incident(incident_id)  # a kept-alive connection must not hide the outage
    account.peer.outage(mode)
    try:
        calls: list[Callable[[], object]] = [
            lambda: client.incident(incident_id),
            lambda: client.acknowledge(incident_id, "alice@example.com"),
            lambda: client.trigger("k", "lag", "error", "cdc-bot"),
        ]
        for call in calls:
            started = time.monotonic()
            with pytest.raises(BackendError) as caught:
                call()
            assert time.monotonic() - started < 2.5
            assert isinstance(caught.value, PagerError) and caught.value.reason == "unreachable"
            assert "PagerDuty" in str(caught.value)
    finally:
        account.peer.outage(None)
    assert client.incident(incident_id).status == "triggered"  # back on the same URL
    client.close()


def test_a_wrong_token_is_an_auth_error(account: Account) -> None:
    client = client_for(account.peer, token="wrong-token-wxyz")
    with pytest.raises(PagerError) as caught:
        client.oncall(account.policy)
    assert caught.value.reason == "auth"
    assert "refused the API token" in str(caught.value) and "wxyz" not in str(caught.value)
    client.close()


def test_base_urls_must_be_https() -> None:
    with pytest.raises(PagerError, match="https://"):
        PagerDutyClient(API_TOKEN, ROUTING_KEY, api_url="http://127.0.0.1:9")


def test_no_secret_in_errors_or_logs(account: Account, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    good = client_for(account.peer, timeout=1.0)
    bad = client_for(account.peer, token=API_TOKEN[::-1], timeout=1.0)
    incident_id = account.peer.account.add_incident(account.service, "Connector FAILED")
    good.trigger("secret-check", "lag", "warning", "cdc-bot")
    good.acknowledge(incident_id, "alice@example.com")
    good.incidents_since(datetime.now(UTC) - timedelta(hours=1))
    good.oncall(account.policy)
    failing_calls: list[Callable[[], object]] = [
        lambda: bad.incident(incident_id),
        lambda: good.acknowledge(incident_id, "mallory@example.com"),
        lambda: good.incident("PMISSING"),
    ]
    for failing in failing_calls:
        with pytest.raises(PagerError) as caught:
            failing()
        errors.append(caught.value)
    account.peer.outage("error")
    with pytest.raises(PagerError) as caught:
        good.trigger("secret-check-2", "lag", "warning", "cdc-bot")
    errors.append(caught.value)
    account.peer.outage(None)

    assert caplog.records, "the client's DEBUG logging was captured"
    texts = [r.getMessage() for r in caplog.records] + [str(e) for e in errors]
    texts += [caplog.text]
    for secret in (API_TOKEN, API_TOKEN[::-1], ROUTING_KEY, API_TOKEN[-4:], API_TOKEN[::-1][-4:], ROUTING_KEY[-4:]):
        assert not [t for t in texts if secret in t], f"a secret leaked: ...{secret[-4:]}"
    assert all(e.__cause__ is None and e.__suppress_context__ for e in errors)  # no chained raw tracebacks
    good.close()
    bad.close()


def test_the_peer_certificate_is_verified(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the throwaway CA the client must refuse the peer: TLS verification is really on.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    client = PagerDutyClient(API_TOKEN, ROUTING_KEY, api_url=account.peer.url, timeout=2.0)
    with pytest.raises(PagerError) as caught:
        client.oncall(account.policy)
    assert caught.value.reason == "unreachable"
    client.close()


def test_ssl_cert_file_is_honoured_without_ca_file(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    # TESTING.md's route (and a TLS-intercepting proxy's): trust via SSL_CERT_FILE, no adapter setting.
    monkeypatch.setenv("SSL_CERT_FILE", str(account.peer.ca_path))
    client = PagerDutyClient(API_TOKEN, ROUTING_KEY, api_url=account.peer.url, timeout=2.0)
    assert [lvl.level for lvl in client.oncall(account.policy)] == [1, 2, 3]
    client.close()
