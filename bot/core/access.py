"""Who may do what: declared in config (`access:`), decided here and nowhere else.

Roles:
- anyone in the workspace: read-only commands (health, lag, help, ...);
- operators: commands that change things or request destructive actions;
- approvers: approve or deny a requested action (never their own).
Both lists take user ids (U...) and user-group ids (S...); groups are resolved with
`usergroups.users.list` and cached briefly, so a rota change in Slack applies within a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from enum import StrEnum

from bot.core.config import AccessSettings

log = logging.getLogger(__name__)

GroupResolver = Callable[[str], list[str]]
GROUP_CACHE_SECONDS = 60.0


class Role(StrEnum):
    ANYONE = "anyone"
    OPERATOR = "operator"
    APPROVER = "approver"


class AccessPolicy:
    def __init__(self, settings: AccessSettings, resolve_group: GroupResolver | None = None) -> None:
        self._settings = settings
        self._resolve_group = resolve_group
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def _members(self, entries: list[str]) -> set[str]:
        members = {e for e in entries if e.startswith(("U", "W"))}
        for group in (e for e in entries if e.startswith("S")):
            members |= self._group(group)
        return members

    def _group(self, group: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(group)
            if cached and now - cached[0] < GROUP_CACHE_SECONDS:
                return cached[1]
        users: frozenset[str] = frozenset()
        if self._resolve_group is not None:
            try:
                users = frozenset(self._resolve_group(group))
            except Exception as exc:  # Slack down: deny rather than guess, and say why in the log
                log.warning("cannot resolve user group %s: %s", group, exc)
                if cached:
                    return cached[1]
                return frozenset()
        with self._lock:
            self._cache[group] = (now, users)
        return users

    def allows(self, user_id: str, role: Role) -> bool:
        if role is Role.ANYONE:
            return True
        if role is Role.OPERATOR:
            # Approvers can always do what operators can.
            return user_id in self._members(self._settings.operators + self._settings.approvers)
        return user_id in self._members(self._settings.approvers)

    def denial(self, role: Role) -> str:
        if role is Role.APPROVER:
            return "Only approvers (`access.approvers` in the bot's config) can do that."
        return "Only operators (`access.operators` in the bot's config) can do that. Ask an operator or an approver."


def slack_group_resolver(client: object) -> GroupResolver:
    def resolve(group: str) -> list[str]:
        answer = client.usergroups_users_list(usergroup=group)  # type: ignore[attr-defined]
        return list(answer.get("users", []))

    return resolve
