"""What every runbook action is made of: parse → preview (with a fingerprint) → run, plus the shared types.

An action never runs from the command that asks for it. The request stores its arguments and
its preview; the preview's `fingerprint` is the part of the world the action depends on. Right
before running, the action observes the world again: a different fingerprint means something
changed since a person looked at the preview, and nothing runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.clients.base import PipelineClients
from bot.core.config import PipelineConfig

if TYPE_CHECKING:
    from bot.services import Services

Progress = Callable[[str], None]


class RunningApproval(Protocol):
    """What an action that keeps its own state reads of the approval it runs under.

    An `ApprovalRecord` (bot.actions.approvals) is one; it is named by shape here because that module
    knows every action, and every action knows this one.
    """

    @property
    def id(self) -> str: ...
    @property
    def pipeline(self) -> str: ...
    @property
    def requester(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def thread_ts(self) -> str | None: ...
    @property
    def message_ts(self) -> str | None: ...
    @property
    def args(self) -> dict[str, Any]: ...
    @property
    def preview(self) -> dict[str, Any]: ...
    @property
    def decided_by(self) -> str | None: ...


class ActionError(Exception):
    """The request cannot be made as asked (bad arguments, missing target, nothing to change)."""


class ActionInterrupted(Exception):
    """A resumable run stopped before its end (the bot is shutting down, or another replica holds it).

    The approval stays `running`: the next start of the bot, or another replica, resumes it.
    """


class ActionFailed(Exception):
    """A run that stopped part-way; `state_now` says what things look like afterwards."""

    def __init__(self, message: str, state_now: list[str] | None = None, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.state_now = state_now or []
        self.details = details or {}


@dataclass(frozen=True)
class Preview:
    """What the approver sees (`lines`), what must still hold to run (`fingerprint`), what to do (`plan`)."""

    lines: list[str]
    fingerprint: dict[str, Any]
    plan: dict[str, Any] = field(default_factory=dict)

    def to_json(self, title: str, risk: str) -> dict[str, Any]:
        return {
            "title": title,
            "risk": risk,
            "lines": list(self.lines),
            "fingerprint": normalize(self.fingerprint),
            "plan": normalize(self.plan),
        }


@dataclass(frozen=True)
class ActionResult:
    """A finished run: one-line summary, the touched things before and after, JSON details (never secrets)."""

    summary: str
    before: list[str]
    after: list[str]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActionContext:
    pipeline: PipelineConfig
    clients: PipelineClients
    timeout: float = 300.0
    poll_interval: float = 2.0
    progress: Progress = lambda _text: None
    sleep: Callable[[float], None] = time.sleep
    # For waits that take minutes by nature (a Connect image build).
    build_timeout: float = 1200.0
    # Set by the approval runner, for actions that keep their own state and thread (workflows).
    services: Services | None = None
    approval: RunningApproval | None = None
    # The approval's publisher (an ApprovalPublisher); workflows also post their steps when it can.
    publisher: object | None = None

    def wait_until(self, what: str, probe: Callable[[], tuple[bool, str]]) -> str:
        """Poll `probe` (→ done?, status text) until done or the timeout; reports each status as progress."""
        deadline = time.monotonic() + self.timeout
        while True:
            done, status = probe()
            self.progress(f"{what}: {status}")
            if done:
                return status
            if time.monotonic() >= deadline:
                raise ActionFailed(f"timed out after {self.timeout:g}s waiting for {what}", state_now=[status])
            self.sleep(self.poll_interval)


class Action:
    """One runbook step. Subclasses set the class attributes and implement parse/observe/validate/run."""

    name: str = ""
    title: str = ""
    usage: str = ""
    summary: str = ""
    risk: str = ""
    # Positional arguments the action takes; one more word is the pipeline name.
    max_args: int = 0
    min_args: int = 0
    # The slash command that asks for it, when it is not `/cdc action NAME` (e.g. `/cdc maintenance start`).
    command: str = ""
    # Its run records its progress and can continue after a restart (raises ActionInterrupted to pause).
    resumable: bool = False

    def split(self, words: list[str]) -> tuple[list[str], str | None]:
        """Separate the action's own arguments from a trailing pipeline name."""
        if len(words) > self.max_args + 1 or len(words) < self.min_args:
            raise ActionError(f"Usage: `/cdc action {self.usage} [pipeline]`")
        if len(words) == self.max_args + 1:
            return words[:-1], words[-1]
        return words, None

    def parse(self, words: list[str], pipeline: PipelineConfig) -> dict[str, Any]:
        return {}

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        """Read the world; ActionError when the target does not exist. Used for the preview and the re-check."""
        raise NotImplementedError

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        """Refuse a request that makes no sense against the world as observed (no-op, out of bounds)."""

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        raise NotImplementedError


def normalize(value: Any) -> Any:
    """The JSON round trip the state store applies (tuples → lists), so stored and fresh values compare equal."""
    return json.loads(json.dumps(value, default=str))


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_show(v)}" for k, v in value.items()) or "(none)"
    return str(value)


def fingerprint_changes(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Human lines for what differs between two fingerprints (`replicas: 3 → 4`, `pods: +x -y`)."""
    before, after = normalize(before), normalize(after)
    changes: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        label = f"{prefix}{key}"
        if isinstance(old, dict) and isinstance(new, dict):
            changes += fingerprint_changes(old, new, prefix=f"{label}.")
        elif isinstance(old, list) and isinstance(new, list):
            added = [str(v) for v in new if v not in old]
            gone = [str(v) for v in old if v not in new]
            parts = [f"+{v}" for v in added] + [f"-{v}" for v in gone]
            changes.append(f"{label}: {' '.join(parts) if parts else _show(old) + ' → ' + _show(new)}")
        else:
            changes.append(f"{label}: {_show(old)} → {_show(new)}")
    return changes


def parse_count(word: str, what: str, maximum: int, limit_key: str) -> int:
    try:
        value = int(word)
    except ValueError:
        raise ActionError(f"`{word}` is not a whole number of {what}") from None
    if value < 0:
        raise ActionError(f"{what.capitalize()} cannot be negative")
    if value > maximum:
        raise ActionError(
            f"{value} {what} is above the limit of {maximum} (`limits.{limit_key}` in the config guards against typos)"
        )
    return value


def selector_string(selector: dict[str, Any] | None) -> str:
    """A LabelSelector (matchLabels + matchExpressions) in its query-string form, for listing pods."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = ",".join(sorted(str(v) for v in expression.get("values") or []))
        if operator == "In":
            parts.append(f"{key} in ({values})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def pod_ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def pod_names(pods: list[dict[str, Any]]) -> list[str]:
    return sorted(str(p["metadata"]["name"]) for p in pods)


def describe_pods(pods: list[dict[str, Any]]) -> str:
    if not pods:
        return "(none)"
    ordered = sorted(pods, key=lambda p: str(p["metadata"]["name"]))
    return ", ".join(f"{p['metadata']['name']}{'' if pod_ready(p) else ' (not Ready)'}" for p in ordered)
