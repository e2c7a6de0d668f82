"""`/cdc help` and `/cdc contacts`."""

from __future__ import annotations

from bot.render.slack import render_contacts, render_help
from commands.deps import CommandDeps
from commands.router import CdcRouter, CommandContext


def register(router: CdcRouter, deps: CommandDeps) -> None:
    def help_(ctx: CommandContext) -> None:
        ctx.reply_private(render_help(router.help_lines()))

    def contacts(ctx: CommandContext) -> None:
        ctx.reply_private(render_contacts(ctx.services.config.contacts.model_dump(), ctx.services.config.slack))

    router.add("help", help_, "What the bot can do", "/cdc help")
    router.add("contacts", contacts, "The escalation path and key contacts", "/cdc contacts")
