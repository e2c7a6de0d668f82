"""`/cdc incident ...` and `/cdc verify`: parsing and answering; the use cases are `bot.incidents.flows`.

Slash commands carry no thread, so `/cdc incident snapshot|severity|note|timeline|resolve|escalate`
act on the channel's single open incident, or on the one named (`INC-3`); when several are open
and none is named, the answer (only for the asker) lists them with the command to type again.
The incident thread's buttons and the declare modal are in `commands.incident_buttons`.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from bot.actions import ActionError
from bot.clients.base import BackendError
from bot.core.access import Role
from bot.incidents.flows import IncidentFlows
from bot.incidents.service import Choice, IncidentError
from bot.incidents.severity import Severity
from bot.incidents.verify import DEFAULT_COUNT, VerifyError, parse_count, verify_data_flow
from bot.render.incidents import (
    render_declare_modal,
    render_declared_notice,
    render_incident_choice,
    render_incident_list,
    render_verify,
)
from bot.render.slack import render_error
from commands.deps import CommandDeps
from commands.router import CdcRouter, CommandContext

USAGE = (
    '`/cdc incident declare [SEV1-4 "TITLE" [pipeline]]` · `/cdc incident snapshot|timeline|escalate [INC-n]` · '
    "`/cdc incident severity SEV2 [INC-n]` · `/cdc incident note [INC-n] TEXT` · "
    "`/cdc incident resolve [INC-n] [summary]` · `/cdc incident list`"
)
DECLARE_USAGE = '`/cdc incident declare SEV1|SEV2|SEV3|SEV4 "TITLE" [pipeline]` (or without arguments for a form)'
VERIFY_USAGE = "`/cdc verify [topic] [N] [pipeline]` (N up to 100, default 10)"
# Who may do what: everything that changes an incident is for operators; reading is for anyone.
OPERATOR_SUBCOMMANDS = {"declare", "snapshot", "severity", "note", "resolve", "escalate"}


# --- /cdc incident ------------------------------------------------------------------------------------------------


def _choose(ctx: CommandContext, flows: IncidentFlows, words: list[str], command: str, positions: int = 1) -> Choice:
    choice = flows.incidents.choose(ctx.channel_id, words, positions)
    if choice.incident is None:
        template = command.replace("{rest}", " ".join(choice.rest)).strip()
        ctx.reply_private(
            render_incident_choice(
                choice.error or "Which incident?", choice.candidates, template, ctx.services.config.slack.timezone
            )
        )
    return choice


def _open_one(ctx: CommandContext, flows: IncidentFlows, words: list[str], command: str, positions: int = 1) -> Choice:
    choice = _choose(ctx, flows, words, command, positions)
    if choice.incident is not None and not choice.incident.is_open:
        raise IncidentError(f"{choice.incident.ref} is resolved.")
    return choice


def _declare(ctx: CommandContext, flows: IncidentFlows, words: list[str]) -> None:
    if not words:
        metadata = json.dumps({"channel": ctx.channel_id})
        view = render_declare_modal(ctx.services.config.pipeline_names, private_metadata=metadata)
        try:
            ctx.client.views_open(trigger_id=str(ctx.command.get("trigger_id") or ""), view=view)
        except SlackApiError as exc:  # the trigger lives 3 s; a slow start can miss it
            raise IncidentError(
                f"Could not open the form ({exc.response.get('error')}). Declare inline: {DECLARE_USAGE}"
            ) from None
        return
    severity = Severity.parse(words[0])
    rest = words[1:]
    if severity is None or not rest:
        ctx.reply_private(render_error(f"Usage: {DECLARE_USAGE}"))
        return
    pipeline = None
    # An unquoted title spreads over several words; a known pipeline name at the end is the pipeline.
    if len(rest) >= 2 and rest[-1] in ctx.services.config.pipeline_names:
        pipeline = rest.pop()
    incident = flows.declare(
        pipeline=pipeline, severity=severity, title=" ".join(rest), commander=ctx.user_id, origin_channel=ctx.channel_id
    )
    ctx.reply_private(render_declared_notice(incident))


def _snapshot(ctx: CommandContext, flows: IncidentFlows, words: list[str]) -> None:
    choice = _open_one(ctx, flows, words, "/cdc incident snapshot INC-?")
    if choice.incident is not None:
        flows.snapshot(choice.incident, ctx.user_id)


def _severity(ctx: CommandContext, flows: IncidentFlows, words: list[str]) -> None:
    choice = _open_one(ctx, flows, words, "/cdc incident severity {rest} INC-?", positions=2)
    if choice.incident is None:
        return
    severity = Severity.parse(choice.rest[0]) if len(choice.rest) == 1 else None
    if severity is None:
        raise IncidentError("Usage: `/cdc incident severity SEV1|SEV2|SEV3|SEV4 [INC-n]`")
    flows.set_severity(choice.incident, severity, ctx.user_id)


def _note(ctx: CommandContext, flows: IncidentFlows, words: list[str]) -> None:
    choice = _open_one(ctx, flows, words, "/cdc incident note INC-? {rest}")
    if choice.incident is not None:
        flows.note(choice.incident, ctx.user_id, " ".join(choice.rest))


def _timeline(ctx: CommandContext, flows: IncidentFlows, words: list[str]) -> None:
    choice = _choose(ctx, flows, words, "/cdc incident timeline INC-?")
    if choice.incident is not None:
        flows.timeline(choice.incident)


def _escalate(ctx: CommandContext, flows: IncidentFlows, words: list[str]) -> None:
    choice = _open_one(ctx, flows, words, "/cdc incident escalate INC-?")
    if choice.incident is not None:
        flows.escalate(choice.incident, ctx.user_id)


def _resolve(ctx: CommandContext, flows: IncidentFlows, words: list[str]) -> None:
    choice = _open_one(ctx, flows, words, "/cdc incident resolve INC-? {rest}")
    if choice.incident is not None:
        flows.resolve(choice.incident, ctx.user_id, " ".join(choice.rest))


def _list(ctx: CommandContext, flows: IncidentFlows, words: list[str]) -> None:
    ctx.reply_private(render_incident_list(flows.incidents.open_incidents(), ctx.services.config.slack.timezone))


SUBCOMMANDS: dict[str, Callable[[CommandContext, IncidentFlows, list[str]], None]] = {
    "declare": _declare,
    "snapshot": _snapshot,
    "severity": _severity,
    "note": _note,
    "timeline": _timeline,
    "escalate": _escalate,
    "resolve": _resolve,
    "list": _list,
}


def _ack_text(args: list[str]) -> str:
    # An empty string, not None: bolt's ack() refuses None.
    sub = args[0].lower() if args else ""
    if sub == "declare" and len(args) > 1:
        return ":rotating_light: Declaring the incident and taking a diagnostic snapshot…"
    if sub == "snapshot":
        return ":camera_with_flash: Taking a diagnostic snapshot…"
    return ""


def _verify_words(words: list[str], pipeline_names: list[str]) -> tuple[str | None, int, str | None]:
    """`[topic] [N] [pipeline]` in any order → (topic, count, pipeline); raises VerifyError."""
    topic, count, pipeline = None, DEFAULT_COUNT, None
    for word in words:
        if word.isdigit():
            count = parse_count(word)
        elif word in pipeline_names and pipeline is None:
            pipeline = word
        elif topic is None:
            topic = word
        else:
            raise VerifyError(f"Usage: {VERIFY_USAGE}")
    return topic, count, pipeline


def verify(ctx: CommandContext) -> None:
    try:
        topic, count, pipeline = _verify_words(ctx.args, list(ctx.services.config.pipeline_names))
        config = ctx.pipeline(pipeline)
        if topic is None and not config.topics:
            raise VerifyError(f"Pipeline {config.name} has no `topics` configured; name one: {VERIFY_USAGE}")
        result = verify_data_flow(ctx.services.clients(config).kafka, topic or config.topics[0], count)
    except VerifyError as exc:
        ctx.reply_private(render_error(str(exc)))
        return
    except BackendError as exc:
        ctx.reply_private(render_error(f"Kafka did not answer: {exc}"))
        return
    ctx.post_to_channel(render_verify(result, config.name, ctx.services.config.slack.timezone))


def register(router: CdcRouter, deps: CommandDeps) -> None:
    def incident(ctx: CommandContext) -> None:
        sub = ctx.args[0].lower() if ctx.args else "list"
        handler = SUBCOMMANDS.get(sub)
        if handler is None:
            ctx.reply_private(render_error(f"`{sub}` is not an incident command. {USAGE}"))
            return
        # Who may run which verb was decided by the router (role_for below), before the ack.
        try:
            handler(ctx, deps.incidents, ctx.args[1:])
        except (IncidentError, ActionError, VerifyError) as exc:
            ctx.reply_private(render_error(str(exc)))

    router.add(
        "incident",
        incident,
        "Declare and run an incident (SEV1-SEV4) in a thread: snapshots, the runbook checklist, timeline",
        "/cdc incident declare|snapshot|severity|note|timeline|escalate|resolve|list",
        ack_text=_ack_text,
        # Decided before the ack, so a refused user is not first told the incident is being declared.
        role_for=lambda args: Role.OPERATOR if args and args[0].lower() in OPERATOR_SUBCOMMANDS else Role.ANYONE,
    )
    router.add(
        "verify",
        verify,
        "Verify data flow: the latest N messages of a topic, by shape (op, field names), never values",
        "/cdc verify [topic] [N] [pipeline]",
    )
