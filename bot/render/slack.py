"""Where commands/ and scheduler/ have always found the Slack renderers; each now lives with its feature.

Kept so those callers need no change while they are being restructured: import from the feature
modules (`bot.render.health`, `bot.render.replies`) or `bot.render.blockkit` in new code.
"""

from bot.render.blockkit import MAX_BLOCKS, SlackMessage
from bot.render.format import FIELD_TEXT_MAX, LINE_MAX, SECTION_TEXT_MAX, clip, fit_code_table, fit_lines
from bot.render.health import render_check_detail, render_health_report
from bot.render.message import escape
from bot.render.replies import CONTACT_LABELS, render_contacts, render_error, render_help

__all__ = [
    "CONTACT_LABELS",
    "FIELD_TEXT_MAX",
    "LINE_MAX",
    "MAX_BLOCKS",
    "SECTION_TEXT_MAX",
    "SlackMessage",
    "clip",
    "escape",
    "fit_code_table",
    "fit_lines",
    "render_check_detail",
    "render_contacts",
    "render_error",
    "render_health_report",
    "render_help",
]
