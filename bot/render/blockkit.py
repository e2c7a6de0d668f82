"""Message → Slack Block Kit, built with slack_sdk's block models.

Pure (no I/O, no client). The models validate Slack's limits when serialised; this renderer stays
inside them by cutting long content with a visible marker ("…and N more", "…") instead of raising:
50 blocks, 3000 characters of section text, 10 fields of 2000 characters, 150 of header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.core.results import Status
from bot.render.format import FIELD_TEXT_MAX, LINE_MAX, SECTION_TEXT_MAX, clip, fit_lines, more
from bot.render.message import (
    Actions,
    Bullets,
    Button,
    Context,
    Divider,
    Fields,
    Header,
    Message,
    Part,
    Section,
    StatusRow,
    StatusRows,
    escape,
)

MAX_BLOCKS = 50
SECTION_FIELDS_MAX = SectionBlock.fields_max_length  # 10
HEADER_TEXT_MAX = HeaderBlock.text_max_length  # 150
CONTEXT_TEXT_MAX = 3000
FALLBACK_TEXT_MAX = 4000
BUTTON_TEXT_MAX = 75
CONFIRM_TEXT_MAX = 300


@dataclass(frozen=True)
class SlackMessage:
    """What `chat.postMessage` needs, plus the neutral `message` it came from (for text front ends).

    `text` is the notification / accessibility fallback.
    """

    text: str
    blocks: list[dict[str, Any]]
    message: Message | None = field(default=None, compare=False, repr=False)

    def as_kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def to_slack(message: Message) -> SlackMessage:
    """The one way a `Message` becomes Block Kit."""
    blocks = render_blocks(message.parts)
    # to_dict() runs slack_sdk's validators: a limit we missed fails here, in tests, not at Slack.
    return SlackMessage(
        text=clip(message.text, FALLBACK_TEXT_MAX), blocks=[b.to_dict() for b in blocks], message=message
    )


def to_slack_message(text: str, parts: list[Part]) -> SlackMessage:
    """Shorthand for the renderers: a `Message` of these parts, rendered for Slack."""
    return to_slack(Message(text, parts))


def render_blocks(parts: list[Part]) -> list[Block]:
    # Status rows are the only part whose block count depends on room: render the rest first.
    fixed = sum(len(_blocks(p)) for p in parts if not isinstance(p, StatusRows))
    blocks: list[Block] = []
    for part in parts:
        if isinstance(part, StatusRows):
            blocks += _status_rows(part, MAX_BLOCKS - fixed)
        else:
            blocks += _blocks(part)
    if len(blocks) > MAX_BLOCKS:
        # Buttons at the end are how people act on the message: cut before them, not them.
        tail: list[Block] = []
        while isinstance(blocks[-1], ActionsBlock) and len(tail) < 5:
            tail.insert(0, blocks.pop())
        keep = MAX_BLOCKS - 1 - len(tail)
        marker = context(f"{more(len(blocks) - keep, 'blocks')}: the message was too long for Slack")
        blocks = [*blocks[:keep], marker, *tail]
    return blocks


# --- one part -------------------------------------------------------------------------------------------


def section(text: str, accessory: Button | None = None) -> SectionBlock:
    return SectionBlock(
        text=MarkdownTextObject(text=clip(text, SECTION_TEXT_MAX)),
        accessory=button(accessory) if accessory is not None else None,
    )


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, HEADER_TEXT_MAX), emoji=True))


def context(*texts: str) -> ContextBlock:
    elements = [MarkdownTextObject(text=clip(t, CONTEXT_TEXT_MAX)) for t in texts[: ContextBlock.elements_max_length]]
    return ContextBlock(elements=elements)


def button(b: Button) -> ButtonElement:
    confirm = None
    if b.confirm is not None:
        confirm = ConfirmObject(
            title=clip(b.confirm.title, 100),
            text=clip(b.confirm.text, CONFIRM_TEXT_MAX),
            confirm=clip(b.confirm.confirm, 30),
            deny=clip(b.confirm.deny, 30),
        )
    return ButtonElement(
        text=PlainTextObject(text=clip(b.label, BUTTON_TEXT_MAX), emoji=True),
        action_id=b.action_id,
        value=b.value,
        style=b.style,
        confirm=confirm,
    )


def bullets_text(part: Bullets, limit: int = SECTION_TEXT_MAX) -> str:
    head = f"*{part.title}*" if part.title else ""
    budget = limit - len(head) - 1 if head else limit
    if part.items or part.hidden:
        body = fit_lines([f"• {item}" for item in part.items], budget, hidden=part.hidden, noun=part.noun)
    else:
        body = part.empty
    return "\n".join(t for t in (head, body) if t)


def _fields(part: Fields) -> SectionBlock:
    pairs = list(part.pairs)
    texts = [f"*{label}*\n{value}" for label, value in pairs[:SECTION_FIELDS_MAX]]
    if len(pairs) > SECTION_FIELDS_MAX:
        texts[-1] += f"\n{more(len(pairs) - SECTION_FIELDS_MAX, 'fields')}"
    return SectionBlock(fields=[MarkdownTextObject(text=clip(t, FIELD_TEXT_MAX)) for t in texts])


def _blocks(part: Part) -> list[Block]:
    if isinstance(part, Header):
        emoji = part.emoji or (part.status.emoji if part.status is not None else None)
        return [header(f"{emoji} {part.text}" if emoji else part.text)]
    if isinstance(part, Section):
        return [section(part.text, part.accessory)]
    if isinstance(part, Fields):
        return [_fields(part)] if part.pairs else []
    if isinstance(part, Bullets):
        return [section(bullets_text(part))]
    if isinstance(part, Context):
        return [context(*part.texts)] if part.texts else []
    if isinstance(part, Divider):
        return [DividerBlock()]
    if isinstance(part, Actions):
        return [ActionsBlock(block_id=part.block_id, elements=[button(b) for b in part.buttons[:25]])]
    if isinstance(part, StatusRows):
        return _status_rows(part, MAX_BLOCKS)
    raise TypeError(f"not a message part: {part!r}")


# --- status rows ----------------------------------------------------------------------------------------


def status_row_head(row: StatusRow) -> str:
    return f"{row.status.emoji} *{escape(row.label)}* — {escape(row.summary)}"


def status_row_text(row: StatusRow) -> str:
    """A check's verdict with its findings under it, as far as one section's budget goes."""
    head = status_row_head(row)
    if row.status is Status.OK:
        return clip(head, SECTION_TEXT_MAX)
    shown = list(row.findings[: row.cap])
    hidden = len(row.findings) - len(shown)
    head = clip(head, LINE_MAX)
    if not shown and not hidden:
        return head
    bullets = [f"• {escape(f)}" for f in shown]
    return f"{head}\n{fit_lines(bullets, SECTION_TEXT_MAX - len(head) - 1, hidden=hidden)}"


def _status_rows(part: StatusRows, room: int) -> list[Block]:
    rows = list(part.rows)
    if not rows:
        return [section(part.empty)]
    if part.together:
        return [section(fit_lines([status_row_text(r) for r in rows], SECTION_TEXT_MAX, noun="checks"))]
    if len(rows) <= room:
        return [section(status_row_text(r)) for r in rows]
    # More rows than blocks: the rest share one section, still in order, without their findings.
    shown = rows[: max(0, room - 1)]
    rest = [status_row_head(r) for r in rows[len(shown) :]]
    return [*(section(status_row_text(r)) for r in shown), section(fit_lines(rest, SECTION_TEXT_MAX, noun="checks"))]
