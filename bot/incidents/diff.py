"""What changed between two snapshots of the same pipeline: the answer to "is it getting better?"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.checks.base import fmt_int, get_path
from bot.core.results import Status
from bot.incidents.snapshot import check_of


@dataclass(frozen=True)
class Change:
    area: str  # pods, deployments, connector, lag, freshness, alarms, msk, checks, events
    text: str
    # True: better, False: worse, None: neither (a pod replaced, an alarm added).
    better: bool | None = None


def _status(value: Any) -> Status:
    try:
        return Status(str(value))
    except ValueError:
        return Status.UNKNOWN


def _trend(old: Any, new: Any) -> bool | None:
    old_s, new_s = _status(old), _status(new)
    if old_s == new_s:
        return None
    return new_s.severity < old_s.severity


def _by(items: Any, key: str) -> dict[str, dict[str, Any]]:
    return {str(i.get(key)): i for i in items or [] if isinstance(i, dict) and i.get(key) is not None}


def _pods(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    before, after = _by(get_path(old, "kubernetes", "pods"), "name"), _by(get_path(new, "kubernetes", "pods"), "name")
    for name in sorted(after.keys() - before.keys()):
        pod = after[name]
        state = "Ready" if pod.get("is_ready") else f"not Ready ({pod.get('status')})"
        changes.append(Change("pods", f"pod {name} appeared, {state}", None if pod.get("is_ready") else False))
    for name in sorted(before.keys() - after.keys()):
        changes.append(Change("pods", f"pod {name} disappeared"))
    for name in sorted(before.keys() & after.keys()):
        was, now = before[name], after[name]
        if bool(was.get("is_ready")) != bool(now.get("is_ready")):
            if now.get("is_ready"):
                changes.append(Change("pods", f"pod {name} became Ready", True))
            else:
                changes.append(Change("pods", f"pod {name} is no longer Ready ({now.get('status')})", False))
        elif was.get("status") != now.get("status"):
            changes.append(Change("pods", f"pod {name}: {was.get('status')} → {now.get('status')}"))
        if int(now.get("restarts") or 0) > int(was.get("restarts") or 0):
            changes.append(
                Change("pods", f"pod {name} restarted: restarts {was.get('restarts')} → {now.get('restarts')}", False)
            )
    return changes


def _workloads(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    for kind, label in (("deployments", "deployment"), ("statefulsets", "statefulset")):
        before, after = _by(get_path(old, "kubernetes", kind), "name"), _by(get_path(new, "kubernetes", kind), "name")
        for name in sorted(after.keys() - before.keys()):
            changes.append(Change(kind, f"{label} {name} appeared"))
        for name in sorted(before.keys() - after.keys()):
            changes.append(Change(kind, f"{label} {name} disappeared", False))
        for name in sorted(before.keys() & after.keys()):
            was, now = before[name], after[name]
            if (was.get("desired"), was.get("ready")) != (now.get("desired"), now.get("ready")):
                better = None
                if now.get("desired") == was.get("desired"):
                    better = int(now.get("ready") or 0) > int(was.get("ready") or 0)
                changes.append(
                    Change(
                        kind,
                        f"{label} {name}: {was.get('ready')}/{was.get('desired')} → "
                        f"{now.get('ready')}/{now.get('desired')} ready",
                        better,
                    )
                )
    return changes


_STATE_RANK = {"RUNNING": 0, "PAUSED": 1, "STOPPED": 1, "UNASSIGNED": 2, "RESTARTING": 2, "FAILED": 3}


def _state_trend(old: Any, new: Any) -> bool | None:
    if old == new:
        return None
    return _STATE_RANK.get(str(new), 2) < _STATE_RANK.get(str(old), 2)


def _connector(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    was, now = (
        get_path(old, "kubernetes", "connector", default={}),
        get_path(new, "kubernetes", "connector", default={}),
    )
    if not was or not now or was.get("found") is None or now.get("found") is None:
        return []
    changes: list[Change] = []
    name = now.get("name") or was.get("name")
    if was.get("found") != now.get("found"):
        return [Change("connector", f"connector {name} {'appeared' if now.get('found') else 'disappeared'}")]
    if was.get("state") != now.get("state"):
        changes.append(
            Change(
                "connector",
                f"connector {name}: {was.get('state')} → {now.get('state')}",
                _state_trend(was.get("state"), now.get("state")),
            )
        )
    before, after = _by(was.get("tasks"), "id"), _by(now.get("tasks"), "id")
    for task in sorted(after.keys() | before.keys(), key=lambda t: (len(t), t)):
        old_state = (before.get(task) or {}).get("state", "absent")
        new_state = (after.get(task) or {}).get("state", "absent")
        if old_state != new_state:
            changes.append(
                Change("connector", f"task {task}: {old_state} → {new_state}", _state_trend(old_state, new_state))
            )
    return changes


def _lag(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    before = get_path(check_of(old, "consumer_lag"), "details", "groups", default={}) or {}
    after = get_path(check_of(new, "consumer_lag"), "details", "groups", default={}) or {}
    changes: list[Change] = []
    for group in sorted(before.keys() | after.keys()):
        was, now = (before.get(group) or {}).get("total"), (after.get(group) or {}).get("total")
        if was == now:
            continue
        if was is None or now is None:
            text = f"lag {group}: {'no commits' if was is None else fmt_int(was)} → "
            text += "no commits" if now is None else fmt_int(now)
            changes.append(Change("lag", text, None if was is None else False))
            continue
        delta = int(now) - int(was)
        direction = "up" if delta > 0 else "down"
        changes.append(
            Change(
                "lag",
                f"lag {group} {direction} {fmt_int(abs(delta))}: {fmt_int(was)} → {fmt_int(now)} behind",
                delta < 0,
            )
        )
    return changes


def _freshness(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    before = _by(get_path(check_of(old, "data_freshness"), "details", "tables"), "table")
    after = _by(get_path(check_of(new, "data_freshness"), "details", "tables"), "table")
    changes = []
    for table in sorted(before.keys() & after.keys()):
        was, now = before[table].get("status"), after[table].get("status")
        if was != now:
            changes.append(Change("freshness", f"freshness {table}: {was} → {now}", _trend(was, now)))
    return changes


def _alarms(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    before = _by(get_path(check_of(old, "alarms"), "details", "alarms"), "name")
    after = _by(get_path(check_of(new, "alarms"), "details", "alarms"), "name")
    changes = []
    rank = {"OK": 0, "INSUFFICIENT_DATA": 1, "ALARM": 2}
    for name in sorted(before.keys() | after.keys()):
        was = (before.get(name) or {}).get("state", "absent")
        now = (after.get(name) or {}).get("state", "absent")
        if was != now:
            better = None if "absent" in (was, now) else rank.get(now, 1) < rank.get(was, 1)
            changes.append(Change("alarms", f"alarm {name}: {was} → {now}", better))
    return changes


def _msk(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    was, now = old.get("msk") or {}, new.get("msk") or {}
    if was.get("state") and now.get("state") and was["state"] != now["state"]:
        return [Change("msk", f"MSK cluster: {was['state']} → {now['state']}", now["state"] == "ACTIVE")]
    return []


def _checks(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    before = _by(get_path(old, "health", "checks"), "name")
    after = _by(get_path(new, "health", "checks"), "name")
    changes = []
    if old.get("status") != new.get("status"):
        changes.append(
            Change(
                "checks",
                f"overall: {old.get('status')} → {new.get('status')}",
                _trend(old.get("status"), new.get("status")),
            )
        )
    for name in [n for n in after if n in before]:
        was, now = before[name].get("status"), after[name].get("status")
        if was != now:
            changes.append(Change("checks", f"check {name}: {was} → {now}", _trend(was, now)))
    return changes


def _events(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    def keys(snapshot: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (str(e.get("reason")), str(e.get("object"))): e
            for e in get_path(snapshot, "kubernetes", "events", default=[]) or []
        }

    before, after = keys(old), keys(new)
    fresh = [after[k] for k in after if k not in before]
    return [Change("events", f"new Warning event {e.get('reason')} on {e.get('object')}", False) for e in fresh[:5]]


def diff_snapshots(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every difference a responder cares about, grouped by area, in a stable order."""
    changes: list[Change] = []
    for part in (_checks, _pods, _workloads, _connector, _lag, _freshness, _alarms, _msk, _events):
        changes += part(old, new)
    return changes
