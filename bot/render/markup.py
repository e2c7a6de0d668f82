"""The message markup (see `bot.render.message`): escaping it, and reading it back as plain text.

Shared by the text renderer and the shell's Block Kit reader, which both turn mentions, links and
emoji short codes into what a terminal can show.
"""

from __future__ import annotations

import re

# The short codes the bot uses, as characters; others stay as `:code:`.
EMOJI = {
    ":large_green_circle:": "🟢",
    ":large_yellow_circle:": "🟡",
    ":large_orange_circle:": "🟠",
    ":large_blue_circle:": "🔵",
    ":red_circle:": "🔴",
    ":white_circle:": "⚪",
    ":warning:": "⚠️",
    ":information_source:": "ℹ️",
    ":hourglass_flowing_sand:": "⏳",
    ":hourglass:": "⌛",
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":no_entry:": "⛔",
    ":gear:": "⚙️",
    ":raised_hand:": "✋",
    ":rotating_light:": "🚨",
    ":camera_with_flash:": "📸",
    ":memo:": "📝",
    ":eyes:": "👀",
    ":construction:": "🚧",
    ":octagonal_sign:": "🛑",
    ":small_red_triangle:": "🔺",
    ":small_blue_diamond:": "🔹",
    ":arrows_counterclockwise:": "🔄",
    ":double_vertical_bar:": "⏸️",
    ":grey_question:": "❔",
    ":arrow_up_down:": "↕️",
    ":telephone_receiver:": "📞",
    ":mag:": "🔍",
}
_EMOJI_CODE = re.compile(r":[a-z0-9_+\-]+:")
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def escape(text: str) -> str:
    """The markup's three control characters; also stops an exception message from pinging `<!channel>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def emoji_to_text(text: str) -> str:
    return _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(0), m.group(0)), text)


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith("@"):
        return label or target
    if target.startswith("#"):
        return f"#{label}" if label else target
    if target.startswith("!"):
        # <!here>, <!channel>, <!date^…|fallback>
        return label or "@" + target[1:].split("^")[0]
    return f"{label} ({target})" if label and label != target else target


def links_to_text(text: str) -> str:
    """Mentions as `@U…`, channels as `#name`, links as `label (url)`."""
    return _SLACK_LINK.sub(_link, text)
