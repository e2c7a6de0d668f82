"""Ephemeral replies and reference cards: errors, `/cdc help`, `/cdc contacts`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.render.blockkit import SlackMessage, to_slack
from bot.render.format import LINE_MAX, SECTION_TEXT_MAX, clip
from bot.render.message import Context, Header, Message, Part, Section, escape

CONTACT_LABELS = {
    "L1": "L1 Support",
    "L2": "L2 Support",
    "L3": "L3 Support",
    "product_owner": "Product Owner",
    "tech_lead": "Tech Lead",
    "aws_tam": "AWS TAM",
}


def chunks(lines: Sequence[str], limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Whole lines packed into as few sections as fit: a long list spills over instead of being cut."""
    out: list[str] = []
    current: list[str] = []
    for line in lines:
        line = clip(line, LINE_MAX)
        if current and len("\n".join([*current, line])) > limit:
            out.append("\n".join(current))
            current = []
        current.append(line)
    if current:
        out.append("\n".join(current))
    return out


def error_message(message: str) -> Message:
    return Message(escape(message), [Section(f":warning: {escape(message)}")])


def render_error(message: str) -> SlackMessage:
    return to_slack(error_message(message))


def help_message(commands: list[tuple[str, str]], intro: str | None = None) -> Message:
    """Every command on its own line."""
    lines = [f"`{escape(cmd)}` — {escape(text)}" for cmd, text in commands]
    parts: list[Part] = [Section(f":warning: {escape(intro)}")] if intro else []
    parts.append(Section("*cdc-bot commands*"))
    parts += [Section(chunk) for chunk in chunks(lines)]
    fallback = (f"{intro} " if intro else "") + "cdc-bot commands: " + ", ".join(cmd for cmd, _ in commands)
    return Message(escape(fallback), parts)


def render_help(commands: list[tuple[str, str]], intro: str | None = None) -> SlackMessage:
    return to_slack(help_message(commands, intro))


def escalation_lines(contacts: dict[str, str | None]) -> tuple[list[str], list[str]]:
    """The runbook's escalation path (L1 → L3), numbered, and the other key contacts."""
    path = [
        f"{i}. *{CONTACT_LABELS[k]}*: {escape(contacts[k] or '')}"
        for i, k in enumerate(("L1", "L2", "L3"), 1)
        if contacts.get(k)
    ]
    keys = [
        f"• *{CONTACT_LABELS.get(k, k)}*: {escape(v)}" for k, v in contacts.items() if v and k not in ("L1", "L2", "L3")
    ]
    return path, keys


NO_PATH = "No escalation path configured (`contacts:` in the config)."


def contacts_message(contacts: dict[str, str | None], channels: Any) -> Message:
    path, keys = escalation_lines(contacts)
    parts: list[Part] = [Header(":rotating_light: Escalation path")]
    parts.append(Section("\n".join(path) if path else NO_PATH))
    if keys:
        parts.append(Section("*Key contacts*\n" + "\n".join(keys)))
    parts.append(Context([f"Ops: {escape(channels.ops_channel)} · Alerts: {escape(channels.alerts_channel)}"]))
    return Message("Escalation path: " + "; ".join(p.split(". ", 1)[1] for p in path).replace("*", ""), parts)


def render_contacts(contacts: dict[str, str | None], channels: Any) -> SlackMessage:
    return to_slack(contacts_message(contacts, channels))
