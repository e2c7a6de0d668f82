"""The fake Slack Web API and the request signer, driven by the real slack_sdk and slack_bolt."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import Ack, App, Say
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.fake_slack import FakeSlackServer
from bot.sandbox.slack_signing import (
    block_actions_body,
    post_signed,
    sign,
    slash_command_body,
    view_submission_body,
)

TOKEN = "xoxb-sandbox"
SECRET = "sandbox-signing-secret"


@pytest.fixture
def slack() -> Iterator[FakeSlackServer]:
    with FakeSlackServer(user_groups={"S0ONCALL": ["U1", "U2"]}) as server:
        yield server


@pytest.fixture
def client(slack: FakeSlackServer) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.api_url, timeout=5)


# ---------------------------------------------------------------- Web API


def test_post_update_and_stored_message(slack: FakeSlackServer, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*lag* ok"}}]
    posted = client.chat_postMessage(channel="#cdc-pipeline-ops", text="lag ok", blocks=blocks)
    assert posted["ok"] and posted["channel"] == "#cdc-pipeline-ops"
    ts = posted["ts"]
    assert posted["message"]["text"] == "lag ok"

    second = client.chat_postMessage(channel="#cdc-pipeline-ops", text="again")
    assert float(second["ts"]) > float(ts)

    updated = client.chat_update(channel="#cdc-pipeline-ops", ts=ts, text="lag WARN", blocks=[])
    assert updated["ts"] == ts and updated["text"] == "lag WARN"
    stored = slack.message("#cdc-pipeline-ops", ts)
    assert stored is not None and stored["text"] == "lag WARN" and stored["blocks"] == []
    assert slack.calls_to("chat.postMessage")[0].args["blocks"] == blocks
    assert slack.calls_to("chat.update")[0].token == TOKEN

    with pytest.raises(SlackApiError) as missing:
        client.chat_update(channel="#cdc-pipeline-ops", ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"


def test_threads_history_and_form_encoded_blocks(slack: FakeSlackServer, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C0OPS", text="incident")["ts"]
    client.chat_postMessage(channel="C0OPS", text="update 1", thread_ts=parent)
    # a form-encoded call (as curl or an older client sends it): blocks arrive as a JSON string
    client.api_call(
        "chat.postMessage",
        params={"channel": "C0OPS", "thread_ts": parent, "blocks": json.dumps([{"type": "divider"}])},
    )
    replies = client.conversations_replies(channel="C0OPS", ts=parent)["messages"]
    assert [m["text"] for m in replies] == ["incident", "update 1", ""]
    assert replies[0]["reply_count"] == 2 and replies[2]["blocks"] == [{"type": "divider"}]
    history = client.conversations_history(channel="C0OPS")["messages"]
    assert [m["ts"] for m in history] == [parent]
    assert client.conversations_info(channel="C0OPS")["channel"]["name"] == "cdc-pipeline-ops"


def test_ephemeral_permalink_reaction_views(slack: FakeSlackServer, client: WebClient) -> None:
    eph = client.chat_postEphemeral(channel="C0OPS", user="U1", text="only you")
    assert eph["message_ts"]
    assert slack.calls_to("chat.postEphemeral")[0].args == {
        "channel": "C0OPS",
        "user": "U1",
        "text": "only you",
    }

    ts = client.chat_postMessage(channel="C0OPS", text="x")["ts"]
    assert client.chat_getPermalink(channel="C0OPS", message_ts=ts)["permalink"].endswith(ts.replace(".", ""))
    client.reactions_add(channel="C0OPS", timestamp=ts, name="eyes")
    assert slack.message("C0OPS", ts)["reactions"][0]["name"] == "eyes"  # type: ignore[index]

    modal = {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": []}
    view = client.views_open(trigger_id="T.1", view=modal)["view"]
    assert client.views_update(view_id=view["id"], view=modal)["view"]["id"] == view["id"]
    assert client.users_info(user="U1")["user"]["id"] == "U1"
    assert client.auth_test()["user_id"] == "UBOT"


def test_files_upload_v2(slack: FakeSlackServer, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C0OPS", text="incident")["ts"]
    result = client.files_upload_v2(
        channel="C0OPS",
        content="col1,col2\n1,2\n",
        filename="snapshot.csv",
        title="Snapshot",
        initial_comment="incident snapshot",
        thread_ts=parent,
    )
    assert result["file"]["name"] == "snapshot.csv"
    assert slack.uploaded_files == [
        {
            "id": result["file"]["id"],
            "filename": "snapshot.csv",
            "title": "Snapshot",
            "content": b"col1,col2\n1,2\n",
            "channel_id": "C0OPS",
            "thread_ts": parent,
            "initial_comment": "incident snapshot",
        }
    ]
    # the three steps slack_sdk takes: get an upload URL, POST the raw bytes to it, complete
    assert [c.method for c in slack.calls[1:]] == [
        "files.getUploadURLExternal",
        "files.upload_url",
        "files.completeUploadExternal",
    ]
    assert slack.calls_to("files.completeUploadExternal")[0].args["files"] == [
        {"id": result["file"]["id"], "title": "Snapshot"}
    ]


def test_upload_url_accepts_multipart_and_api_accepts_get(slack: FakeSlackServer, client: WebClient) -> None:
    upload = client.files_getUploadURLExternal(filename="a.txt", length=5)
    boundary = "sandbox-boundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        "hello\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    request = urllib.request.Request(
        upload["upload_url"],
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    client.files_completeUploadExternal(files=[{"id": upload["file_id"]}], channel_id="C0OPS")
    assert slack.uploaded_files[0]["content"] == b"hello" and slack.uploaded_files[0]["title"] == "a.txt"

    # a plain GET with the token as a query argument, as curl or a browser would send it
    url = f"{slack.api_url}conversations.info?channel=C0OPS&token={TOKEN}"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert json.loads(response.read())["channel"]["id"] == "C0OPS"
    assert slack.calls_to("conversations.info")[0].token == TOKEN


def test_usergroups(client: WebClient) -> None:
    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError) as err:
        client.usergroups_users_list(usergroup="S0NOPE")
    assert err.value.response["error"] == "no_such_subteam"


def test_auth_unknown_method_and_fail_next(slack: FakeSlackServer, client: WebClient) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as err:
        bad.chat_postMessage(channel="C0OPS", text="x")
    assert err.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.doesNotExist")
    assert err.value.response["error"] == "unknown_method"

    slack.fail_next("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0OPS", text="x")
    assert err.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C0OPS", text="x")["ok"]


def test_rate_limit_retried_by_handler(slack: FakeSlackServer, client: WebClient) -> None:
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="C0OPS", text="after 429")["ok"]
    assert time.monotonic() - started >= 1.0  # the handler honoured Retry-After
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_rate_limit_without_handler_raises(slack: FakeSlackServer, client: WebClient) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0OPS", text="x")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"
    assert err.value.response["error"] == "ratelimited"


def test_wait_for_times_out_with_useful_message(slack: FakeSlackServer, client: WebClient) -> None:
    client.chat_postMessage(channel="C0OPS", text="hello")
    with pytest.raises(AssertionError) as err:
        slack.wait_for("chat.update", timeout=0.2)
    assert "chat.update" in str(err.value) and "chat.postMessage" in str(err.value)
    assert "hello" in str(err.value)

    # and it returns as soon as a call arrives from another thread
    threading.Timer(0.1, lambda: client.chat_postMessage(channel="C0OPS", text="late")).start()
    calls = slack.wait_for("chat.postMessage", predicate=lambda c: c.args.get("text") == "late")
    assert calls[0].args["channel"] == "C0OPS"
    slack.clear()
    assert slack.calls == [] and slack.messages == {}


def test_response_url_is_recorded(slack: FakeSlackServer) -> None:
    url = slack.response_url()
    response = WebhookClient(url).send(text="done", response_type="ephemeral", replace_original=False)
    assert response.status_code == 200
    (call,) = slack.wait_for("response_url")
    assert call.args["text"] == "done" and call.args["url_id"] == url.rsplit("/", 1)[-1]
    assert call.token is None
    unknown = WebhookClient(slack.base_url + "/response_url/nope").send(text="x")
    assert unknown.status_code == 404


# ---------------------------------------------------------------- signing


def test_signatures_verify_with_slack_sdk() -> None:
    body = slash_command_body("/cdc", "help", "U1")
    headers = sign(SECRET, body)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    stale = sign(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    assert not SignatureVerifier(SECRET).is_valid_request(body, stale)
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_bodies_look_like_slack() -> None:
    form = parse_qs(slash_command_body("/cdc", "lag prod", "U1", response_url="http://x/r"))
    assert form["command"] == ["/cdc"] and form["text"] == ["lag prod"] and form["channel_id"] == ["C0OPS"]
    action = json.loads(parse_qs(block_actions_body("approval_approve", "42", "U1", "C0OPS", "1.2"))["payload"][0])
    assert action["type"] == "block_actions" and action["actions"][0]["value"] == "42"
    assert action["container"]["message_ts"] == "1.2" and action["channel"]["id"] == "C0OPS"
    values = {"b": {"reason": {"type": "plain_text_input", "value": "why"}}}
    view = json.loads(parse_qs(view_submission_body("declare", values, "U1", "meta"))["payload"][0])
    assert view["view"]["state"]["values"] == values and view["view"]["private_metadata"] == "meta"


# ---------------------------------------------------------------- bolt round trip


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bolt_url(slack: FakeSlackServer) -> Iterator[str]:
    app = App(
        signing_secret=SECRET,
        client=WebClient(token=TOKEN, base_url=slack.api_url),
        # no auth.test at construction; bolt calls it lazily on the first request, against the fake
        token_verification_enabled=False,
    )

    @app.command("/cdc")
    def cdc(ack: Ack, say: Say, command: dict[str, Any]) -> None:
        ack()
        say("hi")

    @app.action("approval_approve")
    def approve(ack: Ack, respond: Any, body: dict[str, Any]) -> None:
        ack()
        respond(text=f"approved {body['actions'][0]['value']}", replace_original=True)

    handler = SlackRequestHandler(app)
    server: WSGIServer = make_server("127.0.0.1", 0, handler, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/slack/events"
    finally:
        server.shutdown()
        server.server_close()


def test_bolt_slash_command_round_trip(slack: FakeSlackServer, bolt_url: str) -> None:
    body = slash_command_body("/cdc", "help", "U1", channel_id="C0OPS", response_url=slack.response_url())
    status, _, _ = post_signed(bolt_url, body, SECRET)
    assert status == 200
    (call,) = slack.wait_for("chat.postMessage")
    assert call.args["channel"] == "C0OPS" and call.args["text"] == "hi" and call.token == TOKEN
    assert slack.calls_to("auth.test")


def test_bolt_button_respond_round_trip(slack: FakeSlackServer, bolt_url: str) -> None:
    body = block_actions_body("approval_approve", "42", "U1", "C0OPS", "1.2", response_url=slack.response_url())
    status, _, _ = post_signed(bolt_url, body, SECRET)
    assert status == 200
    (call,) = slack.wait_for("response_url")
    assert call.args["text"] == "approved 42" and call.args["replace_original"] is True


def test_bolt_rejects_forged_and_unsigned(slack: FakeSlackServer, bolt_url: str) -> None:
    body = slash_command_body("/cdc", "help", "U1")
    assert post_signed(bolt_url, body, "not-the-secret")[0] == 401
    assert post_signed(bolt_url, body, SECRET, timestamp=int(time.time()) - 6 * 60)[0] == 401
    unsigned = urllib.request.Request(bolt_url, data=body.encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(unsigned, timeout=5)
    assert err.value.code == 401
    time.sleep(0.2)  # give a wrongly accepted request's listener time to show up
    assert slack.calls_to("chat.postMessage") == []
