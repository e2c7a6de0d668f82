"""PagerDuty through the official `pagerduty` client: REST API v2 for incidents, users and
on-call, Events API v2 for triggering. Implements `bot.clients.pager_base.Pager`.

Failures become `PagerError` (a `BackendError`) with a reason and a message of our own: the
client's messages can carry the last characters of the token, and its tracebacks are no answer
for a Slack user. Every request has a timeout, and retries are bounded so an outage costs about
one timeout, not the client's default of minutes of back-off.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx2
import pagerduty

from bot.clients.pager_base import (
    EventSeverity,
    OnCallLevel,
    PagerError,
    PagerIncident,
    PagerUser,
)

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.pagerduty.com"
DEFAULT_EVENTS_URL = "https://events.pagerduty.com"
SUMMARY_LIMIT = 1024  # Events API v2 refuses longer summaries

# PagerDuty's error code for a From header that names no user of the account.
_REQUESTER_NOT_FOUND = 1008


class PagerDutyClient:
    """One PagerDuty account. The token and routing key are values, read from the env vars the
    config names (`pagerduty.api_token_env`, `pagerduty.routing_key_env`) by the app's wiring."""

    def __init__(
        self,
        api_token: str,
        routing_key: str | None = None,
        *,
        api_url: str = DEFAULT_API_URL,
        events_url: str = DEFAULT_EVENTS_URL,
        timeout: float = 10.0,
        ca_file: str | None = None,
    ) -> None:
        if not api_token:
            raise PagerError("auth", "no PagerDuty API token is configured")
        self._secrets = tuple(s for s in (api_token, routing_key) if s)
        self._routing_key = routing_key
        self._timeout = timeout
        # A private CA (a proxy's, or the sandbox's) is trusted by path; otherwise the system store.
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        try:
            self._rest = pagerduty.RestApiV2Client(api_token, base_url=api_url.rstrip("/"), verify=verify)
            self._events = pagerduty.EventsApiV2Client(
                routing_key or "", base_url=events_url.rstrip("/"), verify=verify
            )
        except pagerduty.UrlError:
            raise PagerError("rejected", "PagerDuty base URLs must start with https://") from None
        for client in (self._rest, self._events):
            _bound_retries(client, timeout)

    def close(self) -> None:
        self._rest.close()
        self._events.close()

    # -- Events API v2 --------------------------------------------------------------------------

    def trigger(
        self,
        dedup_key: str,
        summary: str,
        severity: EventSeverity,
        source: str,
        links: Sequence[tuple[str, str]] = (),
    ) -> str:
        """Open an incident (or link to the open one with the same dedup_key); returns the dedup_key.

        PagerDuty processes events asynchronously: the incident may take a moment to be listed."""
        if not self._routing_key:
            raise PagerError("auth", "no PagerDuty Events routing key is configured")
        with self._translated("triggering an incident"):
            return str(
                self._events.trigger(
                    summary=summary[:SUMMARY_LIMIT],
                    source=source,
                    dedup_key=dedup_key,
                    severity=severity,
                    links=[{"text": text, "href": href} for text, href in links] or None,
                )
            )

    # -- incidents ------------------------------------------------------------------------------

    def acknowledge(self, incident_id: str, as_email: str) -> PagerIncident:
        return self._update(incident_id, as_email, {"status": "acknowledged"}, "acknowledging")

    def resolve(self, incident_id: str, as_email: str) -> PagerIncident:
        return self._update(incident_id, as_email, {"status": "resolved"}, "resolving")

    def escalate(self, incident_id: str, as_email: str, level: int) -> PagerIncident:
        if level < 1:
            raise PagerError("rejected", f"escalation level must be 1 or more, not {level}")
        return self._update(incident_id, as_email, {"escalation_level": level}, f"escalating to level {level}")

    def incident(self, incident_id: str) -> PagerIncident:
        with self._translated(f"reading incident {incident_id}"):
            raw = self._rest.rget(f"/incidents/{incident_id}")
            return _incident(raw, self._log_entries(incident_id))

    def find_incident_by_dedup_key(self, dedup_key: str) -> PagerIncident | None:
        with self._translated("looking up an incident by dedup key"):
            params = {"incident_key": dedup_key, "date_range": "all"}
            matches = list(self._rest.iter_all("/incidents", params=params))
            if not matches:
                return None
            # A dedup key opens a new incident once the last one is resolved: the open one, else the latest.
            raw = max(matches, key=_currency)
            return _incident(raw, self._log_entries(raw["id"]))

    def incidents_since(self, since: datetime, service_ids: Sequence[str] = ()) -> list[PagerIncident]:
        """Incidents created since `since`, with who acknowledged each and when (from the log
        entries, which keep acknowledgements that resolving clears from the incident)."""
        # A budget for the whole read (a listing plus one log read per incident), so a slow
        # PagerDuty delays the morning report by a bounded time, not per-request timeouts times N.
        budget = 6 * self._timeout
        deadline = time.monotonic() + budget
        params: dict[str, Any] = {"since": _pd_time(since)}  # until defaults to now
        if service_ids:
            params["service_ids[]"] = list(service_ids)
        found: list[PagerIncident] = []
        with self._translated("listing incidents"):
            for raw in list(self._rest.iter_all("/incidents", params=params)):
                if time.monotonic() > deadline:
                    raise PagerError("unreachable", f"PagerDuty too slow: {len(found)} incidents read in {budget:g}s")
                found.append(_incident(raw, self._log_entries(raw["id"])))
        return found

    # -- people ---------------------------------------------------------------------------------

    def user_by_email(self, email: str) -> PagerUser | None:
        with self._translated("looking up a user"):
            raw = self._rest.find("users", email, attribute="email")
            return None if raw is None else _user(raw)

    def oncall(self, escalation_policy_id: str) -> list[OnCallLevel]:
        """Who is on call at each level of the policy now; a level with nobody is listed empty."""
        with self._translated(f"reading on-call for escalation policy {escalation_policy_id}"):
            policy = self._rest.rget(f"/escalation_policies/{escalation_policy_id}")
            params = {"escalation_policy_ids[]": [escalation_policy_id], "include[]": ["users"]}
            entries = list(self._rest.iter_all("/oncalls", params=params))
            return _levels(policy, entries)

    # -- internals ------------------------------------------------------------------------------

    def _update(self, incident_id: str, as_email: str, change: dict[str, Any], doing: str) -> PagerIncident:
        # The From header makes PagerDuty record the person, not the token's owner, as the actor.
        with self._translated(f"{doing} incident {incident_id} as {as_email}", as_email=as_email):
            raw = self._rest.rput(
                f"/incidents/{incident_id}",
                json={"type": "incident_reference", **change},
                headers={"From": as_email},
            )
            updated = _incident(raw)
        log.info("PagerDuty: %s incident %s as %s: done", doing, incident_id, as_email)
        return updated

    def _log_entries(self, incident_id: str) -> list[dict[str, Any]]:
        return list(self._rest.iter_all(f"/incidents/{incident_id}/log_entries"))

    @contextmanager
    def _translated(self, doing: str, as_email: str | None = None) -> Iterator[None]:
        try:
            yield
        except PagerError:
            raise
        except pagerduty.Error as exc:
            # With a response it is PagerDuty's answer; without, the network failed.
            failure = (
                _network_failure(exc, doing, self._timeout)
                if exc.response is None
                else _http_failure(exc.response, doing, as_email)
            )
            raise self._scrubbed(failure) from None
        except (pagerduty.UrlError, httpx2.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise self._scrubbed(
                PagerError("rejected", f"PagerDuty: unexpected answer while {doing} ({type(exc).__name__})")
            ) from None

    def _scrubbed(self, error: PagerError) -> PagerError:
        # Belt and braces: no path may put a secret into a message a user or a log will see.
        message = str(error)
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return PagerError(error.reason, message)


def _bound_retries(client: pagerduty.ApiClient, timeout: float) -> None:
    """Fail within about one timeout: the client otherwise retries network errors and 5xx with
    back-off (seconds to minutes) and 429 without limit."""
    client.timeout = timeout  # type: ignore[assignment]
    client.max_network_attempts = 0
    client.sleep_timer = 0.5
    client.retry = {429: 1}


def _currency(raw: dict[str, Any]) -> tuple[bool, str, int]:
    """Sort key: open before resolved, then newest (incident numbers only grow)."""
    return raw.get("status") != "resolved", raw.get("created_at") or "", int(raw.get("incident_number") or 0)


def _levels(policy: Any, entries: list[dict[str, Any]]) -> list[OnCallLevel]:
    """On-call entries grouped by level; levels of the policy with nobody on call stay, empty."""
    levels = len(policy.get("escalation_rules") or [])
    by_level: dict[int, list[PagerUser]] = {n: [] for n in range(1, levels + 1)}
    until: dict[int, datetime] = {}
    for entry in entries:
        level = int(entry["escalation_level"])
        user = _user(entry["user"])
        if user not in by_level.setdefault(level, []):
            by_level[level].append(user)
        end = _parse_time(entry.get("end"))
        # The level is covered until its earliest shift ends.
        if end is not None and (level not in until or end < until[level]):
            until[level] = end
    return [OnCallLevel(n, tuple(users), until.get(n)) for n, users in sorted(by_level.items())]


def _http_failure(response: httpx2.Response, doing: str, as_email: str | None) -> PagerError:
    status = response.status_code
    message, code, details = _error_body(response)
    if status == 401:
        return PagerError("auth", f"PagerDuty refused the API token (401) while {doing}")
    if status == 403:
        return PagerError("forbidden", f"the PagerDuty API token may not do this: {doing} (403)")
    if status == 404:
        return PagerError("not_found", f"PagerDuty found nothing while {doing} (404)")
    if status == 400 and as_email is not None and (code == _REQUESTER_NOT_FOUND or "user not found" in message.lower()):
        return PagerError("unknown_user", f"{as_email} is not a PagerDuty user, so nothing was changed")
    if status == 429:
        return PagerError("rate_limited", f"PagerDuty rate limit hit while {doing}; try again in a minute")
    if status >= 500:
        return PagerError("unreachable", f"PagerDuty failed ({status}) while {doing}")
    why = "; ".join([message, *details]) or f"HTTP {status}"
    return PagerError("rejected", f"PagerDuty refused {doing}: {why}"[:500])


def _network_failure(exc: pagerduty.Error, doing: str, timeout: float) -> PagerError:
    cause = exc.__cause__
    if isinstance(cause, httpx2.TimeoutException):
        return PagerError("unreachable", f"PagerDuty did not answer within {timeout:g}s while {doing}")
    if isinstance(cause, httpx2.TransportError):
        return PagerError("unreachable", f"PagerDuty unreachable while {doing} ({type(cause).__name__})")
    return PagerError("rejected", f"PagerDuty call failed while {doing}")


def _error_body(response: httpx2.Response) -> tuple[str, int | None, list[str]]:
    try:
        body = response.json()
    except ValueError:
        return "", None, []
    if not isinstance(body, dict):
        return "", None, []
    # REST v2 wraps errors in "error"; Events v2 answers {"status", "message", "errors"} at the top.
    error = body.get("error") or body
    if not isinstance(error, dict):
        return str(error), None, []
    code = error.get("code")
    details = [str(d) for d in error.get("errors") or []]
    return str(error.get("message") or ""), code if isinstance(code, int) else None, details


def _incident(raw: Any, log_entries: list[dict[str, Any]] | None = None) -> PagerIncident:
    acknowledged_by, acknowledged_at, resolved_at = None, None, None
    if log_entries is not None:
        # Oldest first: the first acknowledgement is the response time; a later re-ack is not.
        for entry in sorted(log_entries, key=lambda e: e.get("created_at") or ""):
            kind = entry.get("type")
            if kind == "acknowledge_log_entry" and acknowledged_at is None:
                acknowledged_by, acknowledged_at = _agent(entry.get("agent")), _parse_time(entry.get("created_at"))
            elif kind == "resolve_log_entry":
                resolved_at = _parse_time(entry.get("created_at"))
    elif raw.get("acknowledgements"):
        first = min(raw["acknowledgements"], key=lambda a: a.get("at") or "")
        acknowledged_by, acknowledged_at = _agent(first.get("acknowledger")), _parse_time(first.get("at"))
    if resolved_at is None and raw.get("status") == "resolved":
        resolved_at = _parse_time(raw.get("last_status_change_at"))
    service = raw.get("service") or {}
    return PagerIncident(
        id=raw["id"],
        number=int(raw.get("incident_number") or 0),
        title=raw.get("title") or raw.get("summary") or "",
        status=raw.get("status") or "",
        urgency=raw.get("urgency") or "",
        service_id=service.get("id") or "",
        service_name=service.get("summary") or "",
        created_at=_parse_time(raw.get("created_at")) or datetime.fromtimestamp(0, UTC),
        html_url=raw.get("html_url") or "",
        dedup_key=raw.get("incident_key"),
        assignees=tuple(_user(a["assignee"]) for a in raw.get("assignments") or [] if a.get("assignee")),
        acknowledged_by=acknowledged_by,
        acknowledged_at=acknowledged_at,
        resolved_at=resolved_at,
    )


def _agent(ref: Any) -> PagerUser | None:
    # Acknowledged through the Events API, the agent is the service, not a person.
    if not isinstance(ref, dict) or not str(ref.get("type", "")).startswith("user"):
        return None
    return _user(ref)


def _user(raw: dict[str, Any]) -> PagerUser:
    return PagerUser(id=raw["id"], name=raw.get("name") or raw.get("summary") or raw["id"], email=raw.get("email"))


def _parse_time(text: Any) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _pd_time(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
