"""The Web API methods the bot calls, answered the way slack.com does (chat, files, views, conversations...)."""

from __future__ import annotations

import copy
import itertools
import threading
import time
import uuid
from typing import Any

from bot.sandbox.fake_slack.wire import (
    BOT_ID,
    BOT_USER_ID,
    PERMALINK_BASE,
    TEAM_ID,
    Answer,
    Args,
    MethodError,
    PendingUpload,
    channel_display_name,
    require_arg,
)


class SlackMethods:
    """One handler per Web API method, over the server's messages, files, views and channels."""

    # set by FakeSlackServer.__init__
    channels: dict[str, str]
    user_groups: dict[str, list[str]]
    messages: dict[tuple[str, str], dict[str, Any]]
    uploaded_files: list[dict[str, Any]]
    views: dict[str, dict[str, Any]]
    _cond: threading.Condition
    _uploads: dict[str, PendingUpload]
    _joined: set[str]
    _last_ts_us: int
    _ids: itertools.count[int]

    @property
    def base_url(self) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        # Slack ts values are unique per channel and increase; microseconds of wall time, bumped if equal
        now_us = int(time.time() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _channel_object(self, channel: str) -> dict[str, Any]:
        name = channel_display_name(channel, self.channels)
        return {
            "id": channel,
            "name": name,
            "is_channel": True,
            "is_private": False,
            "is_archived": False,
            "is_member": True,
            "is_general": False,
            "created": 1764158400,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "num_members": 1,
        }

    def _find_message(self, args: Args, ts_field: str = "ts") -> tuple[str, str, dict[str, Any]]:
        channel = str(require_arg(args, "channel", "channel_not_found"))
        ts = str(require_arg(args, ts_field, "message_not_found"))
        found = self.messages.get((channel, ts))
        if found is None:
            raise MethodError("message_not_found")
        return channel, ts, found

    # ------------------------------------------------------------------ methods

    def _auth_test(self, args: Args) -> Answer:
        return {
            "ok": True,
            "url": f"{PERMALINK_BASE}/",
            "team": "CDC Sandbox",
            "user": "cdc-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, args: Args) -> Answer:
        channel = str(require_arg(args, "channel", "channel_not_found"))
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise MethodError("no_text")
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "team": TEAM_ID,
            "text": args.get("text") or "",
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key):
                message[key] = args[key]
        thread_ts = args.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
            parent = self.messages.get((channel, str(thread_ts)))
            if parent is not None:
                parent["thread_ts"] = parent["ts"]
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = ts
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _chat_update(self, args: Args) -> Answer:
        channel, ts, found = self._find_message(args)
        if "text" in args:
            found["text"] = args["text"] or ""
        for key in ("blocks", "attachments", "metadata"):
            if key in args:
                found[key] = args[key]
        found["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": found.get("text", ""),
            "message": copy.deepcopy(found),
        }

    def _chat_post_ephemeral(self, args: Args) -> Answer:
        require_arg(args, "channel", "channel_not_found")
        require_arg(args, "user", "user_not_in_channel")
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            raise MethodError("no_text")
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_delete(self, args: Args) -> Answer:
        channel, ts, _ = self._find_message(args)
        del self.messages[(channel, ts)]
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_get_permalink(self, args: Args) -> Answer:
        channel, ts, _ = self._find_message(args, ts_field="message_ts")
        slug = channel.lstrip("#")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"{PERMALINK_BASE}/archives/{slug}/p{ts.replace('.', '')}",
        }

    def _files_get_upload_url(self, args: Args) -> Answer:
        filename = str(require_arg(args, "filename", "invalid_arguments"))
        try:
            length = int(require_arg(args, "length", "invalid_arguments"))
        except ValueError as err:
            raise MethodError("invalid_arguments") from err
        file_id = self._next_id("F")
        self._uploads[file_id] = PendingUpload(file_id=file_id, filename=filename, length=length)
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base_url}/upload/v1/{file_id}"}

    def _files_complete_upload(self, args: Args) -> Answer:
        files = require_arg(args, "files", "invalid_arguments")
        if not isinstance(files, list):
            raise MethodError("invalid_arguments")
        channel = args.get("channel_id") or None
        if channel is None and args.get("channels"):
            channel = str(args["channels"]).split(",")[0]
        answered: list[dict[str, Any]] = []
        uploads: list[tuple[PendingUpload, str]] = []
        for item in files:
            upload = self._uploads.get(str(item.get("id")))
            if upload is None or upload.content is None:
                raise MethodError("file_not_found" if upload is None else "file_upload_not_completed")
            uploads.append((upload, str(item.get("title") or upload.filename)))
        for upload, title in uploads:
            del self._uploads[upload.file_id]
            self.uploaded_files.append(
                {
                    "id": upload.file_id,
                    "filename": upload.filename,
                    "title": title,
                    "content": upload.content,
                    "channel_id": channel,
                    "thread_ts": args.get("thread_ts") or None,
                    "initial_comment": args.get("initial_comment") or None,
                }
            )
            answered.append(
                {
                    "id": upload.file_id,
                    "name": upload.filename,
                    "title": title,
                    "size": len(upload.content or b""),
                    "user": BOT_USER_ID,
                    "permalink": f"{PERMALINK_BASE}/files/{BOT_USER_ID}/{upload.file_id}/{upload.filename}",
                    "channels": [channel] if channel else [],
                }
            )
        return {"ok": True, "files": answered}

    def _store_view(self, view: Any, view_id: str | None = None) -> dict[str, Any]:
        if not isinstance(view, dict) or "type" not in view:
            raise MethodError("invalid_arguments")
        stored = copy.deepcopy(view)
        stored.update(
            {
                "id": view_id or self._next_id("V"),
                "team_id": TEAM_ID,
                "app_id": "A0SANDBOX",
                "bot_id": BOT_ID,
                "hash": uuid.uuid4().hex[:16],
                "state": {"values": {}},
            }
        )
        self.views[stored["id"]] = stored
        return copy.deepcopy(stored)

    def _views_open(self, args: Args) -> Answer:
        require_arg(args, "trigger_id", "invalid_trigger_id")
        return {"ok": True, "view": self._store_view(args.get("view"))}

    def _views_update(self, args: Args) -> Answer:
        view_id = args.get("view_id")
        if not view_id and args.get("external_id"):
            view_id = next((vid for vid, v in self.views.items() if v.get("external_id") == args["external_id"]), None)
        if not view_id or view_id not in self.views:
            raise MethodError("not_found")
        return {"ok": True, "view": self._store_view(args.get("view"), view_id=str(view_id))}

    def _views_publish(self, args: Args) -> Answer:
        require_arg(args, "user_id", "user_not_found")
        return {"ok": True, "view": self._store_view(args.get("view"))}

    def _conversations_info(self, args: Args) -> Answer:
        channel = str(require_arg(args, "channel", "channel_not_found"))
        return {"ok": True, "channel": self._channel_object(channel)}

    def _conversations_list(self, args: Args) -> Answer:
        seen = dict.fromkeys(list(self.channels) + [c for c, _ in self.messages] + sorted(self._joined))
        return {
            "ok": True,
            "channels": [self._channel_object(c) for c in seen],
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_join(self, args: Args) -> Answer:
        channel = str(require_arg(args, "channel", "channel_not_found"))
        self._joined.add(channel)
        return {"ok": True, "channel": self._channel_object(channel)}

    def _conversations_replies(self, args: Args) -> Answer:
        channel = str(require_arg(args, "channel", "channel_not_found"))
        ts = str(require_arg(args, "ts", "thread_not_found"))
        parent = self.messages.get((channel, ts))
        if parent is None:
            raise MethodError("thread_not_found")
        replies = sorted(
            (m for (c, _), m in self.messages.items() if c == channel and m.get("thread_ts") == ts and m is not parent),
            key=lambda m: float(m["ts"]),
        )
        return {
            "ok": True,
            "messages": copy.deepcopy([parent, *replies]),
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _conversations_history(self, args: Args) -> Answer:
        channel = str(require_arg(args, "channel", "channel_not_found"))
        limit = int(args.get("limit") or 100)
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        top_level = [
            m
            for (c, _), m in self.messages.items()
            if c == channel and m.get("thread_ts", m["ts"]) == m["ts"] and oldest <= float(m["ts"]) <= latest
        ]
        top_level.sort(key=lambda m: float(m["ts"]), reverse=True)
        return {
            "ok": True,
            "messages": copy.deepcopy(top_level[:limit]),
            "has_more": len(top_level) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _users_info(self, args: Args) -> Answer:
        user = str(require_arg(args, "user", "user_not_found"))
        name = "cdc-bot" if user == BOT_USER_ID else user.lower()
        return {
            "ok": True,
            "user": {
                "id": user,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": name,
                "tz": "UTC",
                "tz_offset": 0,
                "is_bot": user == BOT_USER_ID,
                "deleted": False,
                "profile": {"display_name": name, "real_name": name, "email": f"{name}@sandbox.invalid"},
            },
        }

    def _usergroups_users_list(self, args: Args) -> Answer:
        group = str(require_arg(args, "usergroup", "no_such_subteam"))
        if group not in self.user_groups:
            raise MethodError("no_such_subteam")
        return {"ok": True, "users": list(self.user_groups[group])}

    def _reactions_add(self, args: Args) -> Answer:
        name = str(require_arg(args, "name", "invalid_name"))
        _, _, found = self._find_message(args, ts_field="timestamp")
        reactions: list[dict[str, Any]] = found.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if BOT_USER_ID in reaction["users"]:
                    raise MethodError("already_reacted")
                reaction["users"].append(BOT_USER_ID)
                reaction["count"] += 1
                break
        else:
            reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
        return {"ok": True}
