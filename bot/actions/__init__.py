"""Runbook actions that run only after a second person approves them (see `bot.actions.service`)."""

from __future__ import annotations

import difflib

from bot.actions.base import Action, ActionContext, ActionError, ActionFailed, ActionResult, Preview
from bot.actions.connect import PauseConnector, RestartConnect, ResumeConnector, RotateCredentials
from bot.actions.maintenance import MaintenanceEnd, MaintenanceStart
from bot.actions.nodegroup import ScaleNodegroup
from bot.actions.rebuild import DebeziumRebuild
from bot.actions.streams import EnableMetrics, RestartStreams, ScaleStreams, TuneStreams
from bot.actions.topics import RecreateTopics

# The names are a contract (operators type them; audit entries carry them): add, never rename.
ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        RestartStreams(),
        RestartConnect(),
        ScaleStreams(),
        ScaleNodegroup(),
        TuneStreams(),
        EnableMetrics(),
        PauseConnector(),
        ResumeConnector(),
        RotateCredentials(),
        RecreateTopics(),
        DebeziumRebuild(),
        MaintenanceStart(),
        MaintenanceEnd(),
    )
}
ACTION_NAMES = tuple(ACTIONS)


def get_action(name: str) -> Action:
    found = ACTIONS.get(name)
    if found is None:
        close = difflib.get_close_matches(name, ACTION_NAMES, n=1)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise ActionError(f"No action named `{name}`.{hint} `/cdc action` lists them.")
    return found


__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "Action",
    "ActionContext",
    "ActionError",
    "ActionFailed",
    "ActionResult",
    "Preview",
    "get_action",
]
