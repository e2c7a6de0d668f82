"""`cdc-bot shell`: a terminal chat that drives the real listeners.

Typed `/cdc ...` lines become signed slash-command requests dispatched into the same bolt app
that serves Slack; what the bot posts lands in an in-process local Slack Web API and is shown
as text. Buttons are numbered: type the number to press one. `:as USER` switches who you are,
so a request and its approval by a second person can be tried from one terminal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.request import BoltRequest

from bot.app.wiring import build_bot, build_services
from bot.core.config import Config
from bot.sandbox.fake_slack import FakeSlackServer, RecordedCall
from bot.sandbox.slack_signing import block_actions_body, sign, slash_command_body
from bot.sandbox.slack_viewer import block_buttons, blocks_to_text
from bot.services import Services
from bot.slack.client import make_web_client

SHELL_SECRET = "cdc-bot-shell"
CHANNEL = "C0OPS"
SHOWN_METHODS = {
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "response_url",
    "files.completeUploadExternal",
}
HELP = """Type /cdc commands as in Slack (try `/cdc help`, `/cdc health`, `/cdc lag`).
  N          press button N of the last message that had buttons
  :as USER   act as another Slack user id (e.g. :as U0APPROVER to approve a request)
  :wait N    keep showing what the bot posts for N seconds (long actions, a maintenance drain)
  :quit      leave (Ctrl-D works too)"""


@dataclass
class ShellSession:
    services: Services
    user_id: str
    output: Callable[[str], None] = print
    quiet_seconds: float = 1.0
    max_wait: float = 30.0
    # The sandbox config names the user group S0ONCALL among the operators.
    slack: FakeSlackServer = field(default_factory=lambda: FakeSlackServer(user_groups={"S0ONCALL": ["U0ONCALL"]}))
    _seen: int = 0
    _buttons: list[dict[str, Any]] = field(default_factory=list)
    _button_message: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        self.slack.start()
        client = make_web_client(token=self.slack.bot_token, base_url=self.slack.api_url)
        # Like the server, minus the scheduler: the shell answers what is typed, it posts no reports.
        self.bot = build_bot(self.services, client=client, signing_secret=SHELL_SECRET).start(scheduler=False)
        self.app = self.bot.app

    def close(self) -> None:
        self.bot.close()
        self.slack.stop()

    def _dispatch(self, body: str) -> str:
        headers: dict[str, str | Sequence[str]] = {k.lower(): [v] for k, v in sign(SHELL_SECRET, body).items()}
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        if response.status != 200:
            return f"(the bot answered HTTP {response.status})"
        return response.body or ""

    def command(self, line: str) -> None:
        words = line.strip().split(maxsplit=1)
        text = words[1] if len(words) > 1 else ""
        body = slash_command_body(
            "/cdc", text, user_id=self.user_id, channel_id=CHANNEL, response_url=self.slack.response_url()
        )
        ack = self._dispatch(body)
        if ack.strip():
            self.output(f"(only you) {_ack_text(ack)}")
        self.wait_and_show()

    def press(self, number: int) -> None:
        if not 1 <= number <= len(self._buttons) or self._button_message is None:
            self.output(
                f"No button {number}. "
                + (f"Buttons: 1-{len(self._buttons)}." if self._buttons else "No message with buttons yet.")
            )
            return
        button = self._buttons[number - 1]
        channel, ts = self._button_message
        message = self.slack.message(channel, ts) or {}
        body = block_actions_body(
            button.get("action_id", ""),
            button.get("value", ""),
            user_id=self.user_id,
            channel_id=channel,
            message_ts=ts,
            response_url=self.slack.response_url(),
            message=message,
        )
        self._dispatch(body)
        self.wait_and_show()

    def wait_and_show(self) -> None:
        """Show what the bot posts: wait for its first visible post, then until it has been quiet a moment.

        Only visible posts count: a lookup such as `usergroups.users.list` comes first and would
        otherwise end the wait before a slow answer (an approval preview) arrives.
        """
        deadline = time.monotonic() + self.max_wait
        last_change = None
        while time.monotonic() < deadline:
            time.sleep(0.1)
            if self.show_new():
                last_change = time.monotonic()
            elif last_change is not None and time.monotonic() - last_change >= self.quiet_seconds:
                break

    def watch(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(0.2)
            self.show_new()

    def show_new(self) -> int:
        """Print calls not shown yet; returns how many were visible posts."""
        calls = self.slack.calls[self._seen :]
        self._seen += len(calls)
        shown = 0
        for call in calls:
            if call.method in SHOWN_METHODS:
                self.output(self._format(call))
                shown += 1
        return shown

    def _format(self, call: RecordedCall) -> str:
        args = call.args
        blocks = args.get("blocks") or []
        where = {
            "chat.postMessage": f"posted in {args.get('channel')}" + (" (thread)" if args.get("thread_ts") else ""),
            "chat.update": "updated its message",
            "chat.postEphemeral": "only you can see this",
            "files.completeUploadExternal": "uploaded files",
        }.get(call.method)
        if call.method == "response_url":
            where = "only you can see this" if args.get("response_type", "ephemeral") == "ephemeral" else "posted"
        body = blocks_to_text(blocks) if blocks else str(args.get("text", ""))
        buttons = block_buttons(blocks) if blocks else []
        if buttons and call.method in ("chat.postMessage", "chat.update"):
            self._buttons = buttons
            ts = args.get("ts") if call.method == "chat.update" else (call.answer or {}).get("ts")
            if ts:
                self._button_message = (str(args.get("channel")), str(ts))
        elif call.method == "chat.update" and self._button_message and str(args.get("ts")) == self._button_message[1]:
            self._buttons = []  # the buttons are gone from that message (decided, expired)
        rule = "─" * 60
        return f"\n── cdc-bot · {where} {rule[: max(0, 56 - len(where or ''))]}\n{body}\n"


def _ack_text(body: str) -> str:
    import json

    try:
        return str(json.loads(body).get("text", body))
    except ValueError:
        return body


def run_shell(
    config: Config,
    user_id: str = "U0OPERATOR",
    input_fn: Callable[[str], str] = input,
    output: Callable[[str], None] = print,
) -> int:
    services = build_services(config)
    session = ShellSession(services=services, user_id=user_id, output=output)
    interactive = sys.stdin.isatty() and input_fn is input
    output(f"cdc-bot shell · pipelines: {', '.join(config.pipeline_names)} · you are {user_id}")
    output(HELP)
    try:
        while True:
            try:
                line = input_fn(f"{session.user_id}> " if interactive else "").strip()
            except EOFError:
                break
            if not line:
                continue
            if line in (":quit", ":q", "exit", "quit"):
                break
            if line.startswith(":as"):
                parts = line.split()
                if len(parts) == 2:
                    session.user_id = parts[1]
                    output(f"you are now {session.user_id}")
                else:
                    output("usage: :as USER_ID")
            elif line.startswith(":wait"):
                parts = line.split()
                seconds = float(parts[1]) if len(parts) == 2 and parts[1].replace(".", "", 1).isdigit() else 10.0
                session.watch(seconds)
            elif line.isdigit():
                session.press(int(line))
            elif line.startswith("/cdc"):
                session.command(line)
            else:
                output("Type a /cdc command, a button number, :as USER or :quit.")
    finally:
        # Work still running (an action, a maintenance step) stops at its next poll and is picked
        # up again by the next bot on the same state store.
        services.close()
        time.sleep(0.5)
        session.close()
    return 0
