"""The declare-an-incident modal: a Slack view (a form), so Block Kit only; it has no text rendering."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, InputBlock, Option, PlainTextInputElement, StaticSelectElement
from slack_sdk.models.views import View

from bot.incidents.severity import DEFINITIONS, Severity
from bot.render.format import clip

DECLARE_CALLBACK_ID = "incident_declare"
# Block and action ids of the declare modal's inputs.
SEVERITY_INPUT, TITLE_INPUT, PIPELINE_INPUT, AFFECTED_INPUT = "severity", "title", "pipeline", "affected"


def render_declare_modal(pipelines: Sequence[str], private_metadata: str = "") -> dict[str, Any]:
    """`/cdc incident declare` without arguments: severity (with the runbook's definitions), title,
    pipeline, what is affected."""
    severities = [Option(value=s.value, label=s.value, description=clip(DEFINITIONS[s], 75)) for s in Severity]
    pipeline_options = [Option(value=name, label=clip(name, 75)) for name in pipelines[:100]]
    blocks: list[Block] = [
        InputBlock(
            block_id=SEVERITY_INPUT,
            label="Severity",
            element=StaticSelectElement(action_id=SEVERITY_INPUT, placeholder="How bad is it?", options=severities),
        ),
        InputBlock(
            block_id=TITLE_INPUT,
            label="Title",
            element=PlainTextInputElement(
                action_id=TITLE_INPUT, placeholder="What is wrong, in a few words", max_length=200
            ),
        ),
        InputBlock(
            block_id=PIPELINE_INPUT,
            label="Pipeline",
            element=StaticSelectElement(
                action_id=PIPELINE_INPUT, options=pipeline_options, initial_option=pipeline_options[0]
            ),
        ),
        InputBlock(
            block_id=AFFECTED_INPUT,
            label="What is affected",
            optional=True,
            element=PlainTextInputElement(
                action_id=AFFECTED_INPUT, multiline=True, placeholder="Tables, consumers, reports…", max_length=1000
            ),
        ),
    ]
    view = View(
        type="modal",
        callback_id=DECLARE_CALLBACK_ID,
        title="Declare an incident",
        submit="Declare",
        close="Cancel",
        blocks=blocks,
        private_metadata=private_metadata,
    )
    return view.to_dict()
