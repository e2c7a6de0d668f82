"""One platform-neutral message model: what the bot says, before it is Block Kit or terminal text.

Every feature renderer builds a `Message`; `bot.render.blockkit` turns it into Slack blocks and
`bot.render.text` into plain text for the CLI and the shell. Nothing here knows Slack's types.

Text in parts is *markup*, a small inline language both renderers understand: `*bold*`, `_italic_`,
`` `code` `` and ```` ``` ```` fences, `:emoji:` short codes, `<@USER>` mentions, and the three
entities `&amp;` `&lt;` `&gt;`. Builders put user- or backend-supplied text through `escape` so it
cannot format or ping; fields marked *raw* hold plain text and the renderers escape them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.results import Status
from bot.render.markup import escape

__all__ = [
    "Actions",
    "Attachment",
    "Bullets",
    "Button",
    "Confirm",
    "Context",
    "Divider",
    "Fields",
    "Header",
    "Message",
    "Part",
    "Section",
    "StatusRow",
    "StatusRows",
    "escape",
]


@dataclass(frozen=True)
class Confirm:
    """A "are you sure?" dialog in front of a button."""

    title: str
    text: str
    confirm: str
    deny: str


@dataclass(frozen=True)
class Button:
    """A button: its `action_id` and `value` are the contract with the listeners (see DESIGN.md)."""

    label: str
    action_id: str
    value: str
    style: str | None = None  # "primary" | "danger" | None
    confirm: Confirm | None = None


@dataclass(frozen=True)
class Header:
    """The message's title, plain text (no markup).

    `emoji` is an icon shown before it in Slack. `status`, when the title does not say it, is shown as
    its emoji in Slack and spelled out (`: CRIT`) in text, where the verdict must not hide in a glyph.
    """

    text: str
    emoji: str | None = None
    status: Status | None = None
    # Text only: the rest of a terminal's first line (a Nagios-style summary); in Slack the parts
    # below say it and the header stays short.
    detail: str | None = None


@dataclass(frozen=True)
class Section:
    """A paragraph of markup, optionally with one button beside it."""

    text: str
    accessory: Button | None = None


@dataclass(frozen=True)
class Fields:
    """Label/value pairs shown as a two-column grid (both markup)."""

    pairs: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Bullets:
    """A list of markup items under an optional bold title; `hidden` counts items the builder left out."""

    items: Sequence[str]
    title: str | None = None
    hidden: int = 0
    noun: str = ""
    empty: str = ""  # shown when there are no items


@dataclass(frozen=True)
class Context:
    """Small print: one or more markup snippets on one line (footers, notes)."""

    texts: Sequence[str]

    @classmethod
    def of(cls, *texts: str) -> Context:
        return cls(list(texts))


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Actions:
    """A row of buttons; `block_id` names the row for the listeners that update it."""

    buttons: Sequence[Button]
    block_id: str | None = None


@dataclass(frozen=True)
class StatusRow:
    """One check's verdict line with the findings under it (raw text: renderers escape it).

    `key` is the stable check name (the terminal shows it, scripts grep it); `label` is the human one.
    """

    status: Status
    key: str
    label: str
    summary: str
    findings: Sequence[str] = ()
    cap: int = 5  # findings shown before "…and N more"


@dataclass(frozen=True)
class StatusRows:
    """Checks worst first. Slack shows one section per row (`together`: all in one section)."""

    rows: Sequence[StatusRow]
    together: bool = False
    empty: str = "No checks ran."


Part = Header | Section | Fields | Bullets | Context | Divider | Actions | StatusRows


@dataclass(frozen=True)
class Attachment:
    """A file that goes into the message's thread: a chart, a snapshot's text or JSON."""

    filename: str
    title: str
    content: bytes | str
    kind: str = "file"  # "image" | "file"


@dataclass
class Message:
    """`text` is the fallback (notifications, screen readers); `parts` are shown in order."""

    text: str
    parts: list[Part] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)

    def buttons(self) -> list[Button]:
        """Every button in the order both renderers show them: the text renderer's `[n]` is index n-1."""
        found: list[Button] = []
        for part in self.parts:
            if isinstance(part, Section) and part.accessory is not None:
                found.append(part.accessory)
            elif isinstance(part, Actions):
                found += list(part.buttons)
        return found
