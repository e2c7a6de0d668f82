"""Where commands/ and scheduler/ have always found the Slack renderers; each now lives with its feature.

Kept so those callers need no change while they are being restructured: new code imports from the
feature modules (`bot.render.health`, `bot.render.replies`) and `bot.render.blockkit`.
"""

from bot.render.blockkit import SlackMessage
from bot.render.health import render_check_detail, render_health_report
from bot.render.replies import CONTACT_LABELS, render_contacts, render_error, render_help

__all__ = [
    "CONTACT_LABELS",
    "SlackMessage",
    "render_check_detail",
    "render_contacts",
    "render_error",
    "render_health_report",
    "render_help",
]
