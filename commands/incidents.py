"""`/cdc incident ...`, `/cdc verify`, the incident thread's buttons and the declare modal.

Slash commands carry no thread, so `/cdc incident snapshot|severity|note|timeline|resolve|escalate`
act on the channel's single open incident, or on the one named (`INC-3`); when several are open
and none is named, the answer (only for the asker) lists them with the command to type again.
Listeners ack at once; everything slow (snapshots, checks, posting) runs on `Services.background`.
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
from bot.actions.service import request_action
from bot.clients.base import BackendError
from bot.core.access import AccessPolicy, Role
from bot.core.config import UnknownPipeline
from bot.core.redaction import redact
from bot.core.results import CheckResult, HealthReport
from bot.incidents.service import Choice, EventKind, IncidentError, IncidentRecord, IncidentService
from bot.incidents.severity import Button, Severity, StepKind, find_button
from bot.incidents.verify import DEFAULT_COUNT, VerifyError, parse_count, verify_data_flow
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
    render_acknowledged,
    render_checklist,
    render_closing,
    render_declare_modal,
    render_declared_notice,
    render_escalation,
    render_files_not_uploaded,
    render_incident_choice,
    render_incident_list,
    render_note,
    render_root,
    render_severity_change,
    render_snapshot,
    render_snapshot_failed,
    render_timeline,
    render_verify,
    snapshot_files,
)
from bot.render.slack import SlackMessage, render_check_detail, render_error, render_health_report
from bot.render.text import check_label
from bot.services import Services
from commands.approvals import SlackApprovalPublisher
from commands.router import CdcRouter, CommandContext

log = logging.getLogger(__name__)

USAGE = (
    '`/cdc incident declare [SEV1-4 "TITLE" [pipeline]]` · `/cdc incident snapshot|timeline|escalate [INC-n]` · '
    "`/cdc incident severity SEV2 [INC-n]` · `/cdc incident note [INC-n] TEXT` · "
    "`/cdc incident resolve [INC-n] [summary]` · `/cdc incident list`"
)
DECLARE_USAGE = '`/cdc incident declare SEV1|SEV2|SEV3|SEV4 "TITLE" [pipeline]` (or without arguments for a form)'
VERIFY_USAGE = "`/cdc verify [topic] [N] [pipeline]` (N up to 100, default 10)"
# Who may do what: everything that changes an incident is for operators; reading is for anyone.
OPERATOR_SUBCOMMANDS = {"declare", "snapshot", "severity", "note", "resolve", "escalate"}
READ_ONLY_STEPS = {StepKind.CHECK, StepKind.HEALTH, StepKind.VERIFY}


class IncidentDesk:
    """The Slack side of one incident operation: root message, thread posts, files, approval requests."""

    def __init__(self, services: Services, client: WebClient, access: AccessPolicy) -> None:
        self.services = services
        self.client = client
        self.access = access
        self.incidents = IncidentService(services)
        self.tz = services.config.slack.timezone

    # --- posting -------------------------------------------------------------------------------------------

    def post(self, incident: IncidentRecord, message: SlackMessage) -> str:
        answer = self.client.chat_postMessage(
            channel=incident.channel, thread_ts=incident.thread_ts, text=message.text, blocks=message.blocks
        )
        return str(answer["ts"])

    def update_root(self, incident: IncidentRecord) -> None:
        if not incident.thread_ts:
            return
        message = render_root(incident, self.tz)
        try:
            self.client.chat_update(
                channel=incident.channel, ts=incident.thread_ts, text=message.text, blocks=message.blocks
            )
        except SlackApiError as exc:  # the thread still says it; a stale root message is not worth failing for
            log.warning("could not update the root message of %s: %s", incident.ref, exc.response.get("error"))

    # --- operations ----------------------------------------------------------------------------------------

    def declare(
        self,
        *,
        pipeline: str | None,
        severity: Severity,
        title: str,
        commander: str,
        origin_channel: str,
        affected: str | None = None,
    ) -> IncidentRecord:
        ops_channel = self.services.config.slack.ops_channel
        incident = self.incidents.declare(
            pipeline=pipeline,
            severity=severity,
            title=title,
            commander=commander,
            channel=ops_channel,
            affected=affected,
        )
        message = render_root(incident, self.tz)
        answer = None
        for channel in dict.fromkeys([ops_channel, origin_channel]):
            if not channel:
                continue
            try:
                answer = self.client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)
                break
            except SlackApiError as exc:  # not in the ops channel: run it where it was declared instead
                log.warning("could not post %s in %s: %s", incident.ref, channel, exc.response.get("error"))
            except Exception as exc:  # Slack unreachable: an incident nobody can see must not stay open
                log.warning("could not post %s in %s: %s", incident.ref, channel, type(exc).__name__)
        if answer is None:
            # Closed at once, so the channel's "one open incident" is never one without a thread.
            self.incidents.resolve(incident, commander, "not posted: the bot could not post the incident")
            raise IncidentError(
                f"Could not post {incident.ref} in {ops_channel} or here; invite the bot to {ops_channel} and declare "
                "again."
            )
        # chat.postMessage answers with the channel id, which threads, files and approvals need.
        incident = self.incidents.attach_thread(
            incident.id, str(answer.get("channel") or ops_channel), str(answer["ts"])
        )
        log.info("%s declared (%s) by %s on %s", incident.ref, severity.value, commander, incident.pipeline)
        self.post(incident, render_checklist(incident))
        self.snapshot(incident, commander)
        return incident

    def snapshot(self, incident: IncidentRecord, actor: str) -> None:
        try:
            taken = self.incidents.snapshot(incident, actor)
        except (BackendError, UnknownPipeline) as exc:
            self.post(incident, render_snapshot_failed(incident, str(exc)))
            return
        log.info("%s snapshot #%d: %s", incident.ref, taken.number, taken.snapshot.get("status"))
        self.post(incident, render_snapshot(taken, self.tz))
        try:
            self.client.files_upload_v2(
                channel=incident.channel,
                thread_ts=incident.thread_ts,
                file_uploads=snapshot_files(taken),
                # The upload is complete once completed; files.info afterwards would only cost a call.
                request_file_info=False,
            )
        except Exception as exc:  # no files:write, too large: the snapshot is stored, say where
            log.warning("could not upload snapshot #%d of %s: %s", taken.number, incident.ref, type(exc).__name__)
            self.post(incident, render_files_not_uploaded(incident, taken.number))

    def set_severity(self, incident: IncidentRecord, severity: Severity, actor: str) -> None:
        old = incident.severity
        updated = self.incidents.set_severity(incident, severity, actor)
        self.update_root(updated)
        self.post(updated, render_severity_change(updated, old, actor))
        self.post(updated, render_checklist(updated))

    def note(self, incident: IncidentRecord, actor: str, text: str) -> None:
        event = self.incidents.note(incident, actor, text)
        self.post(incident, render_note(incident, actor, event.text, event.at, self.tz))

    def timeline(self, incident: IncidentRecord) -> None:
        self.post(incident, render_timeline(incident, self.incidents.timeline(incident), self.tz))

    def escalate(self, incident: IncidentRecord, actor: str) -> None:
        self.incidents.record(incident.id, actor, EventKind.ESCALATED, f"escalated ({incident.severity.value})")
        slack = self.services.config.slack
        contacts = self.services.config.contacts.model_dump()
        self.post(incident, render_escalation(incident, actor, contacts, slack.ops_channel, slack.alerts_channel))

    def resolve(self, incident: IncidentRecord, actor: str, summary: str | None) -> None:
        closing = self.incidents.resolve(incident, actor, summary)
        self.update_root(closing.incident)
        self.post(closing.incident, render_closing(closing, self.tz))

    def run_step(self, incident: IncidentRecord, button: Button, actor: str) -> None:
        """One checklist button: a read-only check posted in the thread, or an approval request there."""
        pipeline = self.services.config.pipeline(incident.pipeline)
        if button.kind is StepKind.ACK:
            self.incidents.record(incident.id, actor, EventKind.ACKNOWLEDGED, "acknowledged")
            self.post(incident, render_acknowledged(incident, actor))
        elif button.kind is StepKind.SNAPSHOT:
            self.snapshot(incident, actor)
        elif button.kind is StepKind.HEALTH:
            report = _redacted_report(self.services.health(pipeline.name))
            title = f"{incident.ref}: pipeline {pipeline.name}"
            self.post(incident, render_health_report(report, title=title, tz=self.tz))
            self.incidents.record(incident.id, actor, EventKind.CHECK, f"health checks: {report.status.value}")
        elif button.kind is StepKind.CHECK:
            result = _redacted_check(self.services.health(pipeline.name, [button.target]).checks[0])
            self.post(incident, render_check_detail(result, pipeline.name, tz=self.tz))
            self.incidents.record(
                incident.id,
                actor,
                EventKind.CHECK,
                f"{check_label(result.name)}: {result.status.value} — {result.summary}",
            )
        elif button.kind is StepKind.VERIFY:
            if not pipeline.topics:
                raise IncidentError(f"Pipeline {pipeline.name} has no `topics` configured to sample.")
            flow = verify_data_flow(self.services.clients(pipeline).kafka, pipeline.topics[0], DEFAULT_COUNT)
            self.post(incident, render_verify(flow, pipeline.name, self.tz, incident))
            self.incidents.record(
                incident.id,
                actor,
                EventKind.CHECK,
                f"verify data flow on {flow.topic}: {len(flow.messages)} latest messages",
            )
        elif button.kind is StepKind.ACTION:
            request_action(
                self.services,
                SlackApprovalPublisher(self.client, self.tz),
                action=button.target,
                words=list(button.words),
                requester=actor,
                channel=incident.channel,
                pipeline=incident.pipeline,
                thread_ts=incident.thread_ts,
                access=self.access,
            )


def _redacted_report(report: HealthReport) -> HealthReport:
    # Check summaries quote traces and reasons, which can quote secrets: the same pass as snapshots.
    return HealthReport.model_validate(redact(report.model_dump(mode="json")))


def _redacted_check(result: CheckResult) -> CheckResult:
    return CheckResult.model_validate(redact(result.model_dump(mode="json")))


# --- /cdc incident ------------------------------------------------------------------------------------------------


def _choose(ctx: CommandContext, desk: IncidentDesk, words: list[str], command: str, positions: int = 1) -> Choice:
    choice = desk.incidents.choose(ctx.channel_id, words, positions)
    if choice.incident is None:
        template = command.replace("{rest}", " ".join(choice.rest)).strip()
        ctx.reply_private(
            render_incident_choice(choice.error or "Which incident?", choice.candidates, template, desk.tz)
        )
    return choice


def _open_one(ctx: CommandContext, desk: IncidentDesk, words: list[str], command: str, positions: int = 1) -> Choice:
    choice = _choose(ctx, desk, words, command, positions)
    if choice.incident is not None and not choice.incident.is_open:
        raise IncidentError(f"{choice.incident.ref} is resolved.")
    return choice


def _declare(ctx: CommandContext, desk: IncidentDesk, words: list[str]) -> None:
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
    incident = desk.declare(
        pipeline=pipeline, severity=severity, title=" ".join(rest), commander=ctx.user_id, origin_channel=ctx.channel_id
    )
    ctx.reply_private(render_declared_notice(incident))


def _snapshot(ctx: CommandContext, desk: IncidentDesk, words: list[str]) -> None:
    choice = _open_one(ctx, desk, words, "/cdc incident snapshot INC-?")
    if choice.incident is not None:
        desk.snapshot(choice.incident, ctx.user_id)


def _severity(ctx: CommandContext, desk: IncidentDesk, words: list[str]) -> None:
    choice = _open_one(ctx, desk, words, "/cdc incident severity {rest} INC-?", positions=2)
    if choice.incident is None:
        return
    severity = Severity.parse(choice.rest[0]) if len(choice.rest) == 1 else None
    if severity is None:
        raise IncidentError("Usage: `/cdc incident severity SEV1|SEV2|SEV3|SEV4 [INC-n]`")
    desk.set_severity(choice.incident, severity, ctx.user_id)


def _note(ctx: CommandContext, desk: IncidentDesk, words: list[str]) -> None:
    choice = _open_one(ctx, desk, words, "/cdc incident note INC-? {rest}")
    if choice.incident is not None:
        desk.note(choice.incident, ctx.user_id, " ".join(choice.rest))


def _timeline(ctx: CommandContext, desk: IncidentDesk, words: list[str]) -> None:
    choice = _choose(ctx, desk, words, "/cdc incident timeline INC-?")
    if choice.incident is not None:
        desk.timeline(choice.incident)


def _escalate(ctx: CommandContext, desk: IncidentDesk, words: list[str]) -> None:
    choice = _open_one(ctx, desk, words, "/cdc incident escalate INC-?")
    if choice.incident is not None:
        desk.escalate(choice.incident, ctx.user_id)


def _resolve(ctx: CommandContext, desk: IncidentDesk, words: list[str]) -> None:
    choice = _open_one(ctx, desk, words, "/cdc incident resolve INC-? {rest}")
    if choice.incident is not None:
        desk.resolve(choice.incident, ctx.user_id, " ".join(choice.rest))


def _list(ctx: CommandContext, desk: IncidentDesk, words: list[str]) -> None:
    ctx.reply_private(render_incident_list(desk.incidents.open_incidents(), desk.tz))


SUBCOMMANDS: dict[str, Callable[[CommandContext, IncidentDesk, list[str]], None]] = {
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


def register(router: CdcRouter) -> None:
    access = router.access

    def incident(ctx: CommandContext) -> None:
        sub = ctx.args[0].lower() if ctx.args else "list"
        handler = SUBCOMMANDS.get(sub)
        if handler is None:
            ctx.reply_private(render_error(f"`{sub}` is not an incident command. {USAGE}"))
            return
        # Who may run which verb was decided by the router (role_for below), before the ack.
        desk = IncidentDesk(ctx.services, ctx.client, access)
        try:
            handler(ctx, desk, ctx.args[1:])
        except (IncidentError, ActionError, VerifyError) as exc:
            ctx.reply_private(render_error(str(exc)))

    def verify(ctx: CommandContext) -> None:
        names = ctx.services.config.pipeline_names
        topic, count, pipeline = None, DEFAULT_COUNT, None
        try:
            for word in ctx.args:
                if word.isdigit():
                    count = parse_count(word)
                elif word in names and pipeline is None:
                    pipeline = word
                elif topic is None:
                    topic = word
                else:
                    raise VerifyError(f"Usage: {VERIFY_USAGE}")
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


# --- buttons and the modal ---------------------------------------------------------------------------------------


def _press_channel(body: dict[str, Any]) -> str | None:
    return (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")


def register_listeners(app: App, services: Services, access: AccessPolicy) -> None:
    incidents = IncidentService(services)

    def private(respond: Respond, text: str) -> None:
        respond(text=text, response_type="ephemeral", replace_original=False)

    def find(value: Any, body: dict[str, Any]) -> IncidentRecord | None:
        text = str(value or "")
        if not text.isdigit() or len(text) > 9:
            return None
        incident = incidents.get(int(text))
        # A valid id pressed in some other channel is not this incident's button.
        channel = _press_channel(body)
        if incident is not None and channel and incident.channel and channel != incident.channel:
            return None
        return incident

    def run(respond: Respond, what: str, work: Callable[[], None]) -> None:
        try:
            work()
        except (IncidentError, ActionError, VerifyError, UnknownPipeline) as exc:
            private(respond, str(exc))
        except BackendError as exc:
            private(respond, f"A backend did not answer: {exc}")
        except Exception:
            log.exception("incident button %s failed", what)
            private(respond, f"`{what}` failed inside the bot; the error is in its log.")

    def button(role: Role, needs_open: bool, work: Callable[[IncidentDesk, IncidentRecord, str, str], None]) -> Any:
        def handle(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond) -> None:
            ack()
            user = str((body.get("user") or {}).get("id", ""))
            action_id = str(action.get("action_id") or "")
            incident = find(action.get("value"), body)
            if incident is None:
                private(respond, "This button does not belong to an incident of this bot; nothing was done.")
                return
            if not access.allows(user, role):
                private(respond, access.denial(role))
                return
            if needs_open and not incident.is_open:
                private(respond, f"{incident.ref} is resolved.")
                return
            desk = IncidentDesk(services, client, access)
            services.background.submit(run, respond, action_id, lambda: work(desk, incident, user, action_id))

        return handle

    app.action(SNAPSHOT_ACTION_ID)(button(Role.OPERATOR, True, lambda d, i, u, _a: d.snapshot(i, u)))
    app.action(TIMELINE_ACTION_ID)(button(Role.ANYONE, False, lambda d, i, _u, _a: d.timeline(i)))
    app.action(ESCALATE_ACTION_ID)(button(Role.OPERATOR, True, lambda d, i, u, _a: d.escalate(i, u)))
    app.action(RESOLVE_ACTION_ID)(button(Role.OPERATOR, True, lambda d, i, u, _a: d.resolve(i, u, None)))

    def step(desk: IncidentDesk, incident: IncidentRecord, user: str, action_id: str) -> None:
        found = find_button(action_id.removeprefix(STEP_ACTION_PREFIX))
        if found is None:
            raise IncidentError("This checklist button is not known to this bot version; nothing was done.")
        if found.kind not in READ_ONLY_STEPS and not access.allows(user, Role.OPERATOR):
            raise IncidentError(access.denial(Role.OPERATOR))
        desk.run_step(incident, found, user)

    # Read-only steps are for anyone; the others check the operator role in `step` (actions in request_action).
    app.action(re.compile(f"^{re.escape(STEP_ACTION_PREFIX)}"))(button(Role.ANYONE, True, step))

    @app.view(DECLARE_CALLBACK_ID)
    def declare_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        user = str((body.get("user") or {}).get("id", ""))
        values = (view.get("state") or {}).get("values") or {}

        def value(block: str) -> str:
            field = (values.get(block) or {}).get(block) or {}
            selected = field.get("selected_option") or {}
            return str(selected.get("value") or field.get("value") or "").strip()

        severity = Severity.parse(value(SEVERITY_INPUT))
        errors: dict[str, str] = {}
        if not access.allows(user, Role.OPERATOR):
            errors[SEVERITY_INPUT] = access.denial(Role.OPERATOR)
        elif severity is None:
            errors[SEVERITY_INPUT] = "Pick a severity (SEV1-SEV4)."
        if not value(TITLE_INPUT):
            errors[TITLE_INPUT] = "Say what is wrong in a few words."
        pipeline = value(PIPELINE_INPUT) or None
        if pipeline is not None and pipeline not in services.config.pipeline_names:
            errors[PIPELINE_INPUT] = f"Unknown pipeline; known: {', '.join(services.config.pipeline_names)}"
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        try:
            origin = str(json.loads(view.get("private_metadata") or "{}").get("channel") or "")
        except ValueError:
            origin = ""
        assert severity is not None
        desk = IncidentDesk(services, client, access)

        def declare() -> None:
            try:
                desk.declare(
                    pipeline=pipeline,
                    severity=severity,
                    title=value(TITLE_INPUT),
                    commander=user,
                    origin_channel=origin,
                    affected=value(AFFECTED_INPUT) or None,
                )
            except Exception as exc:  # the modal is closed: tell the declarer where they typed
                log.exception("declaring an incident from the modal failed")
                if origin:
                    reason = str(exc) if isinstance(exc, IncidentError) else "the error is in the bot's log"
                    try:
                        client.chat_postEphemeral(channel=origin, user=user, text=f"Declaring failed: {reason}")
                    except SlackApiError:
                        log.warning("could not tell %s that declaring failed", user)

        services.background.submit(declare)
