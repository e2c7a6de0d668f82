"""Pure renderers: one neutral `Message` per thing the bot says, then Block Kit or terminal text.

`message` is the model, `blockkit` and `text` the two renderers; the other modules build messages,
one per feature. No I/O, no Slack client.
"""

from bot.render.blockkit import SlackMessage, to_slack
from bot.render.format import check_label
from bot.render.health import (
    check_detail_text,
    health_report_text,
    render_check_detail,
    render_health_report,
)
from bot.render.message import Message
from bot.render.replies import render_error, render_help
from bot.render.text import render_text

__all__ = [
    "Message",
    "SlackMessage",
    "check_detail_text",
    "check_label",
    "health_report_text",
    "render_check_detail",
    "render_error",
    "render_health_report",
    "render_help",
    "render_text",
    "to_slack",
]
