"""Pure renderers: results → Slack Block Kit messages or terminal text. No I/O, no Slack client."""

from bot.render.slack import SlackMessage, render_check_detail, render_error, render_health_report, render_help
from bot.render.text import block_buttons, blocks_to_text, check_detail_text, check_label, health_report_text

__all__ = [
    "SlackMessage",
    "block_buttons",
    "blocks_to_text",
    "check_detail_text",
    "check_label",
    "health_report_text",
    "render_check_detail",
    "render_error",
    "render_health_report",
    "render_help",
]
