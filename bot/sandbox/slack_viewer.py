"""The local Slack's viewer: Block Kit shown as plain text, the way Slack's own client shows a message.

`cdc-bot shell` plays Slack: it drives the real listeners through an in-process Slack Web API and
shows what arrives there, so what it reads is the wire format a Slack client reads. The product has
two renderers of its neutral `Message` (Block Kit and `bot.render.text`); this is the sandbox's
stand-in for the Slack app's screen, not a third renderer, and nothing on the runtime path uses it.
"""

from __future__ import annotations

from typing import Any

from bot.render.markup import emoji_to_text, links_to_text, unescape

# --- Block Kit → plain text (the terminal chat) --------------------------------------------------


def mrkdwn_to_text(text: str) -> str:
    """Readable terminal text from Slack mrkdwn: links, entities, code fences and common emoji."""
    text = emoji_to_text(unescape(links_to_text(text)))
    lines = []
    for line in text.split("\n"):
        if line.strip() == "```":
            continue
        lines.append(line.replace("```", ""))
    return "\n".join(lines)


def _text_of(obj: object) -> str:
    if isinstance(obj, dict):
        if obj.get("type") in ("plain_text", "mrkdwn"):
            return mrkdwn_to_text(str(obj.get("text", "")))
        if obj.get("type") == "image":
            return f"[image: {obj.get('alt_text', '')}]"
    return ""


def block_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in message order: `[n]` in `blocks_to_text` is index n-1 here, so a chat can press it."""
    found = []
    for block in blocks:
        candidates = [block.get("accessory")] if block.get("type") == "section" else []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        found += [c for c in candidates if isinstance(c, dict) and c.get("type") == "button"]
    return found


def _element_text(element: dict[str, Any], number: int | None) -> str:
    if number is not None:
        return f"[{number}] {_text_of(element.get('text'))}"
    label = _text_of(element.get("placeholder")) or _text_of(element.get("text")) or element.get("type", "")
    return f"<{label}>"


def blocks_to_text(blocks: list[dict[str, Any]]) -> str:
    """Plain-text rendering of Block Kit blocks for a terminal; buttons are numbered across the message."""
    out: list[str] = []
    button_no = 0

    def element(el: dict[str, Any]) -> str:
        nonlocal button_no
        if el.get("type") == "button":
            button_no += 1
            return _element_text(el, button_no)
        return _element_text(el, None)

    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_of(block.get("text"))
            out += [title, "=" * min(len(title), 60)]
        elif kind == "section":
            if block.get("text"):
                out.append(_text_of(block["text"]))
            out += [_text_of(f) for f in block.get("fields") or []]
            if isinstance(block.get("accessory"), dict) and block["accessory"].get("type") != "image":
                out.append(element(block["accessory"]))
        elif kind == "context":
            out.append(" | ".join(t for t in (_text_of(e) for e in block.get("elements") or []) if t))
        elif kind == "divider":
            out.append("-" * 40)
        elif kind == "actions":
            out.append("  ".join(element(e) for e in block.get("elements") or [] if isinstance(e, dict)))
        elif kind == "image":
            out.append(f"[image: {block.get('alt_text', '')}]")
        else:
            # rich_text and friends: the words, without their styling.
            out.append(" ".join(_collect_text(block)).strip())
    return "\n".join(out)


def _collect_text(obj: object) -> list[str]:
    if isinstance(obj, dict):
        own = [str(obj["text"])] if isinstance(obj.get("text"), str) else []
        return own + [t for k, v in obj.items() if k != "text" for t in _collect_text(v)]
    if isinstance(obj, list):
        return [t for v in obj for t in _collect_text(v)]
    return []
