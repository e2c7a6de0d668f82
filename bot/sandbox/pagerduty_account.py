"""The state of a local PagerDuty account and what its REST v2 and Events v2 calls do to it.

No HTTP here: `pagerduty_peer` parses requests, checks auth and paginates; this module holds
users, escalation policies, services and incidents, and answers like PagerDuty (JSON shapes,
error bodies `{"error": {"message", "code"}}`, dedup keys that link instead of opening anew).
"""

from __future__ import annotations

import itertools
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

JsonObject = dict[str, Any]

EVENT_SEVERITIES = ("critical", "error", "warning", "info")
WEB_BASE = "https://cdc-sandbox.pagerduty.com"
_FROM_REQUIRED = 'You must specify a user\'s email address in the "From" header to perform this action'


class ApiError(Exception):
    """Answer the request with `status` and PagerDuty's error body."""

    def __init__(self, status: int, message: str, code: int, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: JsonObject = {"error": {"message": message, "code": code}}
        if errors:
            self.body["error"]["errors"] = errors


def pd_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_s() -> datetime:
    """Now, to the second: PagerDuty's timestamps have no fractions, so filters compare like it."""
    return datetime.now(UTC).replace(microsecond=0)


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "Invalid Input Provided", 2001, [f"'{text}' is not a valid date"]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class _User:
    id: str
    name: str
    email: str


@dataclass
class _Policy:
    id: str
    name: str
    levels: list[list[str]]  # user ids on call at each level, level 1 first


@dataclass
class _Service:
    id: str
    name: str
    policy_id: str


@dataclass
class _LogEntry:
    id: str
    type: str
    at: datetime
    agent_user_id: str | None
    summary: str


@dataclass
class _Incident:
    id: str
    number: int
    title: str
    service_id: str
    created_at: datetime
    incident_key: str
    urgency: str = "high"
    status: str = "triggered"
    level: int = 1
    assignee_ids: list[str] = field(default_factory=list)
    acknowledgements: list[tuple[str | None, datetime]] = field(default_factory=list)
    log: list[_LogEntry] = field(default_factory=list)
    last_status_change_at: datetime | None = None


class PagerDutyAccount:
    """Thread-safe: the peer serves each request on its own thread."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.users: dict[str, _User] = {}
        self.policies: dict[str, _Policy] = {}
        self.services: dict[str, _Service] = {}
        self.routing_keys: dict[str, str] = {}
        self.incidents: dict[str, _Incident] = {}

    def _new_id(self, letter: str) -> str:
        return f"P{letter}{next(self._ids):05d}"

    # -- seeding (tests and the sandbox) --------------------------------------------------------

    def add_user(self, name: str, email: str) -> str:
        with self._lock:
            user = _User(self._new_id("U"), name, email)
            self.users[user.id] = user
            return user.id

    def add_escalation_policy(self, name: str, levels: list[list[str]]) -> str:
        with self._lock:
            policy = _Policy(self._new_id("E"), name, [list(level) for level in levels])
            self.policies[policy.id] = policy
            return policy.id

    def add_service(self, name: str, escalation_policy_id: str, routing_key: str | None = None) -> str:
        with self._lock:
            service = _Service(self._new_id("S"), name, escalation_policy_id)
            self.services[service.id] = service
            if routing_key:
                self.routing_keys[routing_key] = service.id
            return service.id

    def add_incident(
        self,
        service_id: str,
        title: str,
        created_at: datetime | None = None,
        dedup_key: str | None = None,
        acknowledged_by: str | None = None,
        acknowledged_at: datetime | None = None,
        resolved_at: datetime | None = None,
    ) -> str:
        """An incident as if triggered at `created_at`, optionally acknowledged (by user id) and resolved."""
        with self._lock:
            incident = self._open(service_id, title, dedup_key, (created_at or now_s()).replace(microsecond=0))
            if acknowledged_by is not None:
                at = acknowledged_at or incident.created_at + timedelta(minutes=3)
                self._acknowledge(incident, acknowledged_by, at)
            if resolved_at is not None:
                self._resolve(incident, acknowledged_by, resolved_at)
            return incident.id

    def incident_ids(self) -> list[str]:
        with self._lock:
            return list(self.incidents)

    def incident_level(self, incident_id: str) -> int:
        with self._lock:
            return self.incidents[incident_id].level

    # -- state changes --------------------------------------------------------------------------

    def _open(self, service_id: str, title: str, dedup_key: str | None, at: datetime) -> _Incident:
        service = self.services[service_id]
        incident = _Incident(
            id=self._new_id("I"),
            number=len(self.incidents) + 1,
            title=title,
            service_id=service_id,
            created_at=at,
            incident_key=dedup_key or uuid.uuid4().hex,
            last_status_change_at=at,
        )
        incident.assignee_ids = self._level_users(service.policy_id, 1)
        incident.log.append(_LogEntry(self._new_id("L"), "trigger_log_entry", at, None, "Triggered through the API"))
        self.incidents[incident.id] = incident
        return incident

    def _level_users(self, policy_id: str, level: int) -> list[str]:
        levels = self.policies[policy_id].levels
        return list(levels[level - 1]) if 0 < level <= len(levels) else []

    def _acknowledge(self, incident: _Incident, user_id: str | None, at: datetime) -> None:
        incident.status = "acknowledged"
        incident.acknowledgements.append((user_id, at))
        incident.last_status_change_at = at
        who = self.users[user_id].name if user_id else "the integration"
        incident.log.append(
            _LogEntry(self._new_id("L"), "acknowledge_log_entry", at, user_id, f"Acknowledged by {who}")
        )

    def _resolve(self, incident: _Incident, user_id: str | None, at: datetime) -> None:
        # PagerDuty empties assignments and acknowledgements on resolve; the log keeps the history.
        incident.status = "resolved"
        incident.assignee_ids = []
        incident.acknowledgements = []
        incident.last_status_change_at = at
        who = self.users[user_id].name if user_id else "the integration"
        incident.log.append(_LogEntry(self._new_id("L"), "resolve_log_entry", at, user_id, f"Resolved by {who}"))

    def _escalate(self, incident: _Incident, user_id: str, level: int, at: datetime) -> None:
        policy = self.policies[self.services[incident.service_id].policy_id]
        if not 1 <= level <= len(policy.levels):
            raise ApiError(400, "Invalid Input Provided", 2001, [f"Escalation level {level} does not exist"])
        # Escalating hands the incident to the level's targets and pages them again.
        incident.level = level
        incident.assignee_ids = self._level_users(policy.id, level)
        incident.status = "triggered"
        incident.acknowledgements = []
        incident.last_status_change_at = at
        incident.log.append(
            _LogEntry(self._new_id("L"), "escalate_log_entry", at, user_id, f"Escalated to level {level}")
        )

    # -- REST v2 --------------------------------------------------------------------------------

    def _incident(self, incident_id: str) -> _Incident:
        incident = self.incidents.get(incident_id)
        if incident is None:
            raise ApiError(404, "Not Found", 2100)
        return incident

    def user_by_email(self, email: str) -> _User | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    def list_incidents(self, query: dict[str, list[str]]) -> list[JsonObject]:
        statuses = set(query.get("statuses[]", []))
        service_ids = set(query.get("service_ids[]", []))
        incident_key = _one(query, "incident_key")
        if _one(query, "date_range") == "all":
            since, until = None, None
        else:
            # PagerDuty's default window is the last month up to now (this second included).
            until = parse_time(u) if (u := _one(query, "until")) else now_s() + timedelta(seconds=1)
            since = parse_time(s) if (s := _one(query, "since")) else until - timedelta(days=30)
            if since > until:
                raise ApiError(400, "Invalid Input Provided", 2001, ["since must be before until"])
        with self._lock:
            found = [
                i
                for i in self.incidents.values()
                if (not statuses or i.status in statuses)
                and (not service_ids or i.service_id in service_ids)
                and (incident_key is None or i.incident_key == incident_key)
                and (since is None or since <= i.created_at)
                and (until is None or i.created_at < until)
            ]
            return [self._incident_json(i) for i in sorted(found, key=lambda i: i.number)]

    def get_incident(self, incident_id: str) -> JsonObject:
        with self._lock:
            return {"incident": self._incident_json(self._incident(incident_id))}

    def update_incident(self, incident_id: str, from_email: str | None, body: Any) -> JsonObject:
        if not from_email:
            raise ApiError(400, _FROM_REQUIRED, 2016)
        with self._lock:
            requester = self.user_by_email(from_email)
            if requester is None:
                raise ApiError(400, "Requester User Not Found", 1008)
            incident = self._incident(incident_id)
            change = body.get("incident") if isinstance(body, dict) else None
            if not isinstance(change, dict) or change.get("type") not in ("incident", "incident_reference"):
                raise ApiError(400, "Invalid Input Provided", 2001, ["incident.type must be incident_reference"])
            status, level = change.get("status"), change.get("escalation_level")
            if status is None and level is None:
                raise ApiError(400, "Invalid Input Provided", 2001, ["Nothing to update"])
            if incident.status == "resolved":
                raise ApiError(400, "Arguments Caused Error", 2002, ["Incident Already Resolved"])
            now = now_s()
            if level is not None:
                if not isinstance(level, int) or isinstance(level, bool):
                    raise ApiError(400, "Invalid Input Provided", 2001, ["escalation_level must be an integer"])
                self._escalate(incident, requester.id, level, now)
            if status == "acknowledged":
                self._acknowledge(incident, requester.id, now)
            elif status == "resolved":
                self._resolve(incident, requester.id, now)
            elif status is not None:
                raise ApiError(400, "Invalid Input Provided", 2001, [f"status {status!r} is not allowed"])
            return {"incident": self._incident_json(incident)}

    def log_entries(self, incident_id: str) -> list[JsonObject]:
        with self._lock:
            incident = self._incident(incident_id)
            # Newest first, as PagerDuty lists them.
            return [self._log_json(incident, e) for e in sorted(incident.log, key=lambda e: e.at, reverse=True)]

    def find_users(self, query: str) -> list[JsonObject]:
        needle = query.strip().lower()
        with self._lock:
            found = [u for u in self.users.values() if needle in u.email.lower() or needle in u.name.lower()]
            return [self._user_json(u) for u in found]

    def oncalls(self, policy_ids: list[str], include_users: bool) -> list[JsonObject]:
        now = now_s()
        with self._lock:
            entries: list[JsonObject] = []
            for policy in self.policies.values():
                if policy_ids and policy.id not in policy_ids:
                    continue
                for number, user_ids in enumerate(policy.levels, start=1):
                    for user_id in user_ids:
                        user = self.users[user_id]
                        entries.append(
                            {
                                "escalation_policy": _ref("escalation_policy", policy.id, policy.name),
                                "escalation_level": number,
                                "schedule": None,
                                "user": self._user_json(user) if include_users else _ref("user", user.id, user.name),
                                "start": pd_time(now - timedelta(hours=12)),
                                "end": pd_time(now + timedelta(hours=12)),
                            }
                        )
            return entries

    def escalation_policy(self, policy_id: str) -> JsonObject:
        with self._lock:
            policy = self.policies.get(policy_id)
            if policy is None:
                raise ApiError(404, "Not Found", 2100)
            rules = [
                {
                    "id": f"R{policy.id}{n}",
                    "escalation_delay_in_minutes": 30,
                    "targets": [_ref("user", u, self.users[u].name) for u in user_ids],
                }
                for n, user_ids in enumerate(policy.levels, start=1)
            ]
            services = [_ref("service", s.id, s.name) for s in self.services.values() if s.policy_id == policy.id]
            return {
                "escalation_policy": {
                    **_ref("escalation_policy", policy.id, policy.name, full=True),
                    "name": policy.name,
                    "num_loops": 0,
                    "escalation_rules": rules,
                    "services": services,
                }
            }

    # -- Events v2 ------------------------------------------------------------------------------

    def enqueue(self, event: Any) -> tuple[int, JsonObject]:
        """POST /v2/enqueue: (status, body). Errors use the Events API's own shape, not REST's."""
        errors = _event_errors(event, self.routing_keys)
        if errors:
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
        action, dedup_key = event["event_action"], event.get("dedup_key")
        with self._lock:
            service_id = self.routing_keys[event["routing_key"]]
            open_incident = next(
                (
                    i
                    for i in self.incidents.values()
                    if dedup_key
                    and i.incident_key == dedup_key
                    and i.service_id == service_id
                    and i.status != "resolved"
                ),
                None,
            )
            now = now_s()
            if action == "trigger":
                if open_incident is None:
                    payload = event["payload"]
                    dedup_key = self._open(service_id, str(payload["summary"])[:1024], dedup_key, now).incident_key
                # else: the same dedup_key links to the open incident; nothing new is opened.
            elif open_incident is not None and action == "acknowledge" and open_incident.status == "triggered":
                self._acknowledge(open_incident, None, now)
            elif open_incident is not None and action == "resolve":
                self._resolve(open_incident, None, now)
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}

    # -- JSON shapes ----------------------------------------------------------------------------

    def _user_json(self, user: _User) -> JsonObject:
        return {**_ref("user", user.id, user.name, full=True), "name": user.name, "email": user.email}

    def _incident_json(self, incident: _Incident) -> JsonObject:
        service = self.services[incident.service_id]
        policy = self.policies[service.policy_id]
        return {
            **_ref("incident", incident.id, f"[#{incident.number}] {incident.title}", full=True),
            "incident_number": incident.number,
            "title": incident.title,
            "created_at": pd_time(incident.created_at),
            "status": incident.status,
            "urgency": incident.urgency,
            "incident_key": incident.incident_key,
            "service": _ref("service", service.id, service.name),
            "escalation_policy": _ref("escalation_policy", policy.id, policy.name),
            "assignments": [
                {"at": pd_time(incident.last_status_change_at or incident.created_at), "assignee": self._user_ref(u)}
                for u in incident.assignee_ids
            ],
            "acknowledgements": [
                {
                    "at": pd_time(at),
                    "acknowledger": self._user_ref(u) if u else _ref("service", service.id, service.name),
                }
                for u, at in incident.acknowledgements
            ],
            "last_status_change_at": pd_time(incident.last_status_change_at or incident.created_at),
        }

    def _log_json(self, incident: _Incident, entry: _LogEntry) -> JsonObject:
        service = self.services[incident.service_id]
        agent = (
            self._user_ref(entry.agent_user_id) if entry.agent_user_id else _ref("service", service.id, service.name)
        )
        return {
            **_ref("log_entry", entry.id, entry.summary, full=True, type_=entry.type),
            "created_at": pd_time(entry.at),
            "agent": agent,
            "channel": {"type": "api" if entry.agent_user_id is None else "web_ui"},
            "incident": _ref("incident", incident.id, incident.title),
            "service": _ref("service", service.id, service.name),
        }

    def _user_ref(self, user_id: str) -> JsonObject:
        return _ref("user", user_id, self.users[user_id].name)


def _ref(kind: str, id_: str, summary: str, full: bool = False, type_: str | None = None) -> JsonObject:
    plural = "escalation_policies" if kind == "escalation_policy" else f"{kind}s"
    return {
        "id": id_,
        "type": type_ or (kind if full else f"{kind}_reference"),
        "summary": summary,
        "self": f"https://api.pagerduty.com/{plural}/{id_}",
        "html_url": f"{WEB_BASE}/{plural}/{id_}",
    }


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _event_errors(event: Any, routing_keys: dict[str, str]) -> list[str]:
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors: list[str] = []
    if event.get("routing_key") not in routing_keys:
        errors.append("'routing_key' is invalid")
    action = event.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        errors.append("'event_action' is invalid")
    elif action != "trigger" and not event.get("dedup_key"):
        errors.append("'dedup_key' is required for acknowledge and resolve")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or invalid")
        else:
            errors += [f"'payload.{k}' is missing" for k in ("summary", "source") if not payload.get(k)]
            if payload.get("severity") not in EVENT_SEVERITIES:
                errors.append("'payload.severity' is invalid")
    return errors
