"""The incident thread's buttons and the declare modal: ack, check who pressed, hand over to the flows.

Everything slow (snapshots, checks, posting) runs on `Services.background` after the ack.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.actions import ActionError
from bot.clients.base import BackendError
from bot.core.access import AccessPolicy, Role
from bot.core.config import UnknownPipeline
from bot.incidents.flows import IncidentFlows
from bot.incidents.service import IncidentError, IncidentRecord
from bot.incidents.severity import Severity, StepKind, find_button
from bot.incidents.verify import VerifyError
from bot.render.incidents import (
    AFFECTED_INPUT,
    DECLARE_CALLBACK_ID,
    ESCALATE_ACTION_ID,
    PIPELINE_INPUT,
    RESOLVE_ACTION_ID,
    SEVERITY_INPUT,
    SNAPSHOT_ACTION_ID,
    STEP_ACTION_PREFIX,
    TIMELINE_ACTION_ID,
    TITLE_INPUT,
)
from commands.deps import CommandDeps

log = logging.getLogger(__name__)

READ_ONLY_STEPS = {StepKind.CHECK, StepKind.HEALTH, StepKind.VERIFY}
# What a button does once the press is accepted: (flows, incident, presser, action id).
Work = Callable[[IncidentFlows, IncidentRecord, str, str], None]


def _press_channel(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")


def _presser(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _private(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def _find(flows: IncidentFlows, value: Any, body: dict[str, Any]) -> IncidentRecord | None:
    text = str(value or "")
    if not text.isdigit() or len(text) > 9:
        return None
    incident = flows.incidents.get(int(text))
    # A valid id pressed in some other channel is not this incident's button.
    channel = _press_channel(body)
    if incident is not None and channel and incident.channel and channel != incident.channel:
        return None
    return incident


def _run(respond: Respond, what: str, work: Callable[[], None]) -> None:
    """Run a button's work after the ack; whatever goes wrong is said to the presser only."""
    try:
        work()
    except (IncidentError, ActionError, VerifyError, UnknownPipeline) as exc:
        _private(respond, str(exc))
    except BackendError as exc:
        _private(respond, f"A backend did not answer: {exc}")
    except Exception:
        log.exception("incident button %s failed", what)
        _private(respond, f"`{what}` failed inside the bot; the error is in its log.")


def _refusal(deps: CommandDeps, incident: IncidentRecord | None, user: str, role: Role, needs_open: bool) -> str | None:
    if incident is None:
        return "This button does not belong to an incident of this bot; nothing was done."
    if not deps.access.allows(user, role):
        return deps.access.denial(role)
    if needs_open and not incident.is_open:
        return f"{incident.ref} is resolved."
    return None


def _button(deps: CommandDeps, role: Role, needs_open: bool, work: Work) -> Callable[..., None]:
    def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user, action_id = _presser(body), str(action.get("action_id") or "")
        incident = _find(deps.incidents, action.get("value"), body)
        refusal = _refusal(deps, incident, user, role, needs_open)
        if refusal is not None or incident is None:
            _private(respond, refusal or "")
            return
        found = incident
        deps.services.background.submit(_run, respond, action_id, lambda: work(deps.incidents, found, user, action_id))

    return handle


def _step(access: AccessPolicy) -> Work:
    def step(flows: IncidentFlows, incident: IncidentRecord, user: str, action_id: str) -> None:
        found = find_button(action_id.removeprefix(STEP_ACTION_PREFIX))
        if found is None:
            raise IncidentError("This checklist button is not known to this bot version; nothing was done.")
        if found.kind not in READ_ONLY_STEPS and not access.allows(user, Role.OPERATOR):
            raise IncidentError(access.denial(Role.OPERATOR))
        flows.run_step(incident, found, user)

    return step


def _modal_value(view: dict[str, Any], block: str) -> str:
    values = (view.get("state") or {}).get("values") or {}
    field = (values.get(block) or {}).get(block) or {}
    selected = field.get("selected_option") or {}
    return str(selected.get("value") or field.get("value") or "").strip()


def _modal_errors(deps: CommandDeps, user: str, view: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not deps.access.allows(user, Role.OPERATOR):
        errors[SEVERITY_INPUT] = deps.access.denial(Role.OPERATOR)
    elif Severity.parse(_modal_value(view, SEVERITY_INPUT)) is None:
        errors[SEVERITY_INPUT] = "Pick a severity (SEV1-SEV4)."
    if not _modal_value(view, TITLE_INPUT):
        errors[TITLE_INPUT] = "Say what is wrong in a few words."
    pipeline = _modal_value(view, PIPELINE_INPUT)
    names = deps.services.config.pipeline_names
    if pipeline and pipeline not in names:
        errors[PIPELINE_INPUT] = f"Unknown pipeline; known: {', '.join(names)}"
    return errors


def _declare_from_modal(flows: IncidentFlows, client: WebClient, user: str, view: dict[str, Any]) -> None:
    try:
        origin = str(json.loads(view.get("private_metadata") or "{}").get("channel") or "")
    except ValueError:
        origin = ""
    severity = Severity.parse(_modal_value(view, SEVERITY_INPUT))
    assert severity is not None  # checked by _modal_errors before the ack
    try:
        flows.declare(
            pipeline=_modal_value(view, PIPELINE_INPUT) or None,
            severity=severity,
            title=_modal_value(view, TITLE_INPUT),
            commander=user,
            origin_channel=origin,
            affected=_modal_value(view, AFFECTED_INPUT) or None,
        )
    except Exception as exc:  # the modal is closed: tell the declarer where they typed
        log.exception("declaring an incident from the modal failed")
        if origin:
            reason = str(exc) if isinstance(exc, IncidentError) else "the error is in the bot's log"
            try:
                client.chat_postEphemeral(channel=origin, user=user, text=f"Declaring failed: {reason}")
            except SlackApiError:
                log.warning("could not tell %s that declaring failed", user)


def register_interactions(app: App, deps: CommandDeps) -> None:
    app.action(SNAPSHOT_ACTION_ID)(_button(deps, Role.OPERATOR, True, lambda f, i, u, _a: f.snapshot(i, u)))
    app.action(TIMELINE_ACTION_ID)(_button(deps, Role.ANYONE, False, lambda f, i, _u, _a: f.timeline(i)))
    app.action(ESCALATE_ACTION_ID)(_button(deps, Role.OPERATOR, True, lambda f, i, u, _a: f.escalate(i, u)))
    app.action(RESOLVE_ACTION_ID)(_button(deps, Role.OPERATOR, True, lambda f, i, u, _a: f.resolve(i, u, None)))
    # Read-only steps are for anyone; the others check the operator role in `step` (actions in request_action).
    step_ids = re.compile(f"^{re.escape(STEP_ACTION_PREFIX)}")
    app.action(step_ids)(_button(deps, Role.ANYONE, True, _step(deps.access)))

    def declare_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user = _presser(body)
        errors = _modal_errors(deps, user, view)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        deps.services.background.submit(_declare_from_modal, deps.incidents, client, user, view)

    app.view(DECLARE_CALLBACK_ID)(declare_submitted)
