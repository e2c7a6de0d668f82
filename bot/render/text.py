"""Message → plain text, for `cdc-bot check|report` and the terminal chat.

Pure. Buttons are numbered across the message (`[1] Approve  [2] Deny`), in the order of
`Message.buttons()`, so a terminal can press one by number. Markup becomes readable text: entities
decoded, mentions as `@U…`, emoji as characters, no `*` or `_` around bold and italics.
"""

from __future__ import annotations

import re
from typing import Any

from bot.core.results import Status
from bot.render.format import check_label, format_clock, format_elapsed_ms, format_timestamp, more
from bot.render.markup import emoji_to_text, links_to_text, unescape
from bot.render.message import (
    Actions,
    Bullets,
    Context,
    Divider,
    Fields,
    Header,
    Message,
    Part,
    Section,
    StatusRows,
)

# Re-exported: commands/ and the entry points import these from here (and, lazily below, the
# health report's text), so they keep working while they move to the feature modules.
__all__ = [
    "check_label",
    "format_clock",
    "format_elapsed_ms",
    "format_timestamp",
    "markup_to_text",
    "render_text",
]

_BOLD = re.compile(r"(?<![\w*])\*(\S|\S[^*\n]*\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(\S|\S[^_\n]*\S)_(?![\w_])")


def markup_to_text(text: str) -> str:
    """Terminal text from the message markup (see `bot.render.message`)."""
    text = links_to_text(text)
    text = emoji_to_text(text)
    lines = [line.replace("```", "") for line in text.split("\n") if line.strip() != "```"]
    # A quote (`>` at the start of a line; quoted text's own `>` is still `&gt;` here) is indented.
    lines = ["    " + line[1:] if line.startswith(">") else line for line in lines]
    # Backticks stay: in a terminal they still mark what to type.
    text = _ITALIC.sub(r"\1", _BOLD.sub(r"\1", "\n".join(lines)))
    # Entities last: a decoded `<` or `>` in user text must not be read as a link or a quote.
    return unescape(text)


def _status_rows(part: StatusRows) -> list[str]:
    if not part.rows:
        return [part.empty]
    tags = [f"[{r.status.value}] {r.key}" for r in part.rows]
    width = max(len(t) for t in tags) + 2
    lines = []
    for row, tag in zip(part.rows, tags, strict=True):
        lines.append(f"{tag:<{width}}{row.summary}")
        if row.status is Status.OK:
            continue
        lines += [f"    - {f}" for f in row.findings[: row.cap]]
        if len(row.findings) > row.cap:
            lines.append(f"    {more(len(row.findings) - row.cap)}")
    return lines


def _bullets(part: Bullets) -> list[str]:
    lines = [f"{markup_to_text(part.title)}:"] if part.title else []
    if not part.items and not part.hidden:
        return lines + ([markup_to_text(part.empty)] if part.empty else [])
    lines += [f"• {markup_to_text(item)}" for item in part.items]
    if part.hidden:
        lines.append(more(part.hidden, part.noun))
    return lines


def _lines(part: Part, number: int) -> tuple[list[str], int]:
    """Lines of one part, and the number of the last button shown so far."""
    if isinstance(part, Header):
        # Plain text: only its emoji codes mean something.
        text = emoji_to_text(part.text)
        text = f"{text}: {part.status.value}" if part.status is not None else text
        return [f"{text} {part.detail}" if part.detail else text], number
    if isinstance(part, Section):
        lines = [markup_to_text(part.text)]
        if part.accessory is not None:
            number += 1
            lines.append(f"[{number}] {emoji_to_text(part.accessory.label)}")
        return lines, number
    if isinstance(part, Fields):
        return [f"{markup_to_text(label)}: {markup_to_text(value)}" for label, value in part.pairs], number
    if isinstance(part, Bullets):
        return _bullets(part), number
    if isinstance(part, Context):
        return [" · ".join(markup_to_text(t) for t in part.texts)], number
    if isinstance(part, Divider):
        return [""], number
    if isinstance(part, Actions):
        labels = []
        for b in part.buttons:
            number += 1
            labels.append(f"[{number}] {emoji_to_text(b.label)}")
        return ["  ".join(labels)], number
    if isinstance(part, StatusRows):
        return _status_rows(part), number
    raise TypeError(f"not a message part: {part!r}")


def render_text(message: Message) -> str:
    """The whole message as terminal text; files for the thread are listed at the end."""
    out: list[str] = []
    number = 0
    for part in message.parts:
        lines, number = _lines(part, number)
        out += lines
    for file in message.attachments:
        out.append(f"{file.title}: {file.filename} (in the thread in Slack)")
    # Dividers are blank lines; never two in a row, none at the ends.
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(out))
    return text.strip("\n")


def __getattr__(name: str) -> Any:
    # Lazy: bot.render.health imports this module to render, so it cannot be imported at the top.
    if name in ("health_report_text", "check_detail_text"):
        from bot.render import health

        return getattr(health, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
