"""The `/cdc` slash command: parse, authorize in one place, then hand over to a subcommand.

Each command family module calls `router.add(...)` from its own `register(router, services)`;
the router registers the one bolt listener, acks at once, and answers unknown subcommands and
unauthorized users with an ephemeral message that says what to do instead.
"""

from __future__ import annotations

import difflib
import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.core.access import AccessPolicy, Role
from bot.core.config import PipelineConfig, UnknownPipeline
from bot.core.metrics import COMMANDS
from bot.render.slack import SlackMessage, render_error, render_help
from bot.services import Services

log = logging.getLogger(__name__)


@dataclass
class CommandContext:
    services: Services
    args: list[str]
    user_id: str
    channel_id: str
    respond: Respond
    client: WebClient
    command: dict[str, Any]

    def pipeline(self, name: str | None) -> PipelineConfig:
        return self.services.config.pipeline(name)

    def reply_private(self, message: SlackMessage) -> None:
        self.respond(text=message.text, blocks=message.blocks, response_type="ephemeral", replace_original=False)

    def post_to_channel(self, message: SlackMessage, thread_ts: str | None = None) -> str | None:
        """Post where the command was typed; fall back to the response_url when the bot is not a member."""
        try:
            answer = self.client.chat_postMessage(
                channel=self.channel_id, text=message.text, blocks=message.blocks, thread_ts=thread_ts
            )
            return str(answer["ts"])
        except Exception as exc:  # not_in_channel, channel_not_found, ...: the response_url still works
            log.info("chat.postMessage to %s failed (%s); answering through response_url", self.channel_id, exc)
            self.respond(text=message.text, blocks=message.blocks, response_type="in_channel")
            return None


Handler = Callable[[CommandContext], None]
AckText = Callable[[list[str]], str | None]
# For families whose verbs need different roles (`incident timeline` vs `incident declare`).
RoleFor = Callable[[list[str]], Role]


@dataclass
class Subcommand:
    name: str
    handler: Handler
    summary: str
    usage: str
    role: Role = Role.ANYONE
    ack_text: AckText | None = None
    role_for: RoleFor | None = None

    def required_role(self, args: list[str]) -> Role:
        return self.role_for(args) if self.role_for is not None else self.role


@dataclass
class CdcRouter:
    services: Services
    access: AccessPolicy
    subcommands: dict[str, Subcommand] = field(default_factory=dict)

    def add(
        self,
        name: str,
        handler: Handler,
        summary: str,
        usage: str = "",
        role: Role = Role.ANYONE,
        ack_text: AckText | None = None,
        role_for: RoleFor | None = None,
    ) -> None:
        self.subcommands[name] = Subcommand(name, handler, summary, usage or f"/cdc {name}", role, ack_text, role_for)

    def help_lines(self) -> list[tuple[str, str]]:
        return [(s.usage, s.summary) for s in self.subcommands.values()]

    def register(self, app: App) -> None:
        app.command("/cdc")(self.handle)

    def handle(self, ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        try:
            words = shlex.split(command.get("text") or "")
        except ValueError:
            words = (command.get("text") or "").split()
        name = words[0].lower() if words else "help"
        sub = self.subcommands.get(name)
        if sub is None:
            ack()
            COMMANDS.labels(subcommand="unknown", outcome="rejected").inc()
            close = difflib.get_close_matches(name, list(self.subcommands), n=1)
            hint = f" Did you mean `/cdc {close[0]}`?" if close else ""
            message = render_help(self.help_lines(), intro=f"`{name}` is not a /cdc command.{hint}")
            respond(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        user_id = command.get("user_id", "")
        role = sub.required_role(words[1:])
        if not self.access.allows(user_id, role):
            ack()
            COMMANDS.labels(subcommand=name, outcome="denied").inc()
            message = render_error(self.access.denial(role))
            respond(text=message.text, blocks=message.blocks, response_type="ephemeral")
            return
        # Ack within Slack's 3 seconds with a note of what is coming; the work happens after.
        note = sub.ack_text(words[1:]) if sub.ack_text else None
        # bolt answers 500 for ack(text=None): a note is sent only when there is one.
        ack(text=note) if note else ack()
        ctx = CommandContext(
            services=self.services,
            args=words[1:],
            user_id=user_id,
            channel_id=command.get("channel_id", ""),
            respond=respond,
            client=client,
            command=command,
        )
        # bolt's listener pool is small and also runs every ack; slow work goes to the services'
        # own pool so a burst of /cdc health cannot delay other requests' acks.
        self.services.background.submit(self._run, sub, ctx)

    def _run(self, sub: Subcommand, ctx: CommandContext) -> None:
        name = sub.name
        try:
            sub.handler(ctx)
            COMMANDS.labels(subcommand=name, outcome="ok").inc()
        except UnknownPipeline as exc:
            COMMANDS.labels(subcommand=name, outcome="rejected").inc()
            ctx.reply_private(render_error(str(exc)))
        except Exception:
            COMMANDS.labels(subcommand=name, outcome="error").inc()
            log.exception("/cdc %s failed", name)
            ctx.reply_private(
                render_error(
                    f"`/cdc {name}` failed inside the bot; the error is in its log. "
                    "Try again, or run `cdc-bot check` on the host."
                )
            )
