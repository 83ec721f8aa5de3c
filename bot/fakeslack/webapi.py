"""The Web API methods: each takes the workspace and request params, returns Slack's JSON."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.fakeslack.blockkit import VIEW_BLOCKS, parse_blocks
from bot.fakeslack.models import Ephemeral, Message, View
from bot.fakeslack.state import Channel, SlackError, Workspace

Handler = Callable[[Workspace, dict[str, Any]], dict[str, Any]]

_WORKSPACE_URL = "https://fake-workspace.slack.com/"
_MESSAGE_KEYS = {"channel", "text", "blocks", "thread_ts", "reply_broadcast", "as_user"}


def _param(params: dict[str, Any], key: str, error: str = "invalid_arguments") -> str:
    value = params.get(key)
    if value is None or value == "":
        raise SlackError(error)
    return str(value)


def _flag(params: dict[str, Any], key: str) -> bool:
    value = params.get(key, False)
    if isinstance(value, str):
        return value.lower() in {"1", "true", "yes"}
    return bool(value)


def _content(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]] | None]:
    """Validate `text`/`blocks` as chat.* methods do: one of them (or attachments) is needed."""
    blocks = parse_blocks(params["blocks"]) if params.get("blocks") is not None else None
    text = params.get("text")
    if not text and not blocks and not params.get("attachments"):
        raise SlackError("no_text")
    return str(text or ""), blocks


def _require_scope(ws: Workspace, scope: str) -> None:
    if scope not in ws.scopes.split(","):
        raise SlackError("missing_scope", needed=scope, provided=ws.scopes)


def _postable(ws: Workspace, ref: str) -> Channel:
    channel = ws.find_channel(ref)
    if channel.is_archived:
        raise SlackError("is_archived")
    public_ok = not channel.is_private and "chat:write.public" in ws.scopes.split(",")
    if not channel.is_member and not public_ok:
        raise SlackError("not_in_channel")
    return channel


def _message_json(ws: Workspace, message: Message) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "message",
        "user": message.user,
        "bot_id": ws.bot_id,
        "app_id": ws.app_id,
        "team": ws.team_id,
        "text": message.text,
        "ts": message.ts,
    }
    if message.blocks is not None:
        body["blocks"] = message.blocks
    if message.thread_ts is not None:
        body["thread_ts"] = message.thread_ts
    return body


def auth_test(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Identify the token's bot, as `auth.test` does."""
    return {
        "ok": True,
        "url": _WORKSPACE_URL,
        "team": "Fake Workspace",
        "user": str(ws.users[ws.bot_user_id].get("name", "panbot")),
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Post a parent message or, with `thread_ts`, a thread reply."""
    _require_scope(ws, "chat:write")
    channel = _postable(ws, _param(params, "channel", "channel_not_found"))
    text, blocks = _content(params)
    thread_ts = params.get("thread_ts") or None
    if thread_ts is not None:
        try:
            parent = ws.get_message(channel.id, str(thread_ts))
        except SlackError:
            # Stricter than Slack, which may post a stray message: a lost parent is a bot bug.
            raise SlackError("thread_not_found") from None
        thread_ts = parent.thread_ts or parent.ts
    now = time.monotonic()
    if not ws.admit_post(channel.id, now):
        raise SlackError("ratelimited", status=429, headers={"Retry-After": "1"})
    message = Message(
        channel=channel.id,
        ts=ws.next_ts(),
        thread_ts=thread_ts,
        text=text,
        blocks=blocks,
        user=ws.bot_user_id,
        reply_broadcast=_flag(params, "reply_broadcast"),
        extra={k: v for k, v in params.items() if k not in _MESSAGE_KEYS},
    )
    ws.add_message(message)
    ws.post_times[channel.id].append(now)
    return {
        "ok": True,
        "channel": channel.id,
        "ts": message.ts,
        "message": _message_json(ws, message),
    }


def chat_update(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Edit a message the bot posted."""
    _require_scope(ws, "chat:write")
    channel = ws.find_channel(_param(params, "channel", "channel_not_found"))
    message = ws.get_message(channel.id, _param(params, "ts", "message_not_found"))
    if message.user != ws.bot_user_id:
        raise SlackError("cant_update_message")
    text, blocks = _content(params)
    changes: dict[str, Any] = {}
    if "text" in params:
        changes["text"] = text
    if "blocks" in params:
        changes["blocks"] = blocks
    updated = ws.replace_message(message, **changes)
    return {
        "ok": True,
        "channel": channel.id,
        "ts": updated.ts,
        "text": updated.text,
        "message": _message_json(ws, updated),
    }


def chat_post_ephemeral(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Show a message to one user in a channel."""
    _require_scope(ws, "chat:write")
    channel = _postable(ws, _param(params, "channel", "channel_not_found"))
    user = _param(params, "user", "user_not_found")
    if user not in ws.users:
        raise SlackError("user_not_found")
    text, blocks = _content(params)
    ts = ws.next_ts()
    thread_ts = params.get("thread_ts") or None
    ws.ephemerals.append(
        Ephemeral(
            channel=channel.id,
            user=user,
            ts=ts,
            text=text,
            blocks=blocks,
            thread_ts=None if thread_ts is None else str(thread_ts),
        )
    )
    return {"ok": True, "message_ts": ts}


def chat_get_permalink(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Return a message's permanent link."""
    channel = ws.find_channel(_param(params, "channel", "channel_not_found"))
    message = ws.get_message(channel.id, _param(params, "message_ts", "message_not_found"))
    link = f"{_WORKSPACE_URL}archives/{channel.id}/p{message.ts.replace('.', '')}"
    if message.thread_ts is not None:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"ok": True, "channel": channel.id, "permalink": link}


def _view_param(params: dict[str, Any]) -> dict[str, Any]:
    raw = params.get("view")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_arguments") from None
    if not isinstance(raw, dict):
        raise SlackError("invalid_arguments")
    parse_blocks(raw.get("blocks", []), VIEW_BLOCKS)
    return raw


def _stored_view(ws: Workspace, view_id: str, view: dict[str, Any]) -> dict[str, Any]:
    return {
        **view,
        "id": view_id,
        "team_id": ws.team_id,
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{time.time():.6f}.{uuid.uuid4().hex[:8]}",
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": ws.app_id,
        "bot_id": ws.bot_id,
    }


def views_open(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Open a modal; each `trigger_id` works once, as on Slack."""
    trigger_id = _param(params, "trigger_id")
    view = _view_param(params)
    if view.get("type") != "modal" or "title" not in view:
        raise SlackError("invalid_arguments")
    if trigger_id in ws.used_triggers:
        raise SlackError("expired_trigger_id")
    ws.used_triggers.add(trigger_id)
    view_id = ws.new_id("V")
    stored = _stored_view(ws, view_id, view)
    ws.views[view_id] = View(id=view_id, type="modal", view=stored, trigger_id=trigger_id)
    return {"ok": True, "view": stored}


def views_update(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Replace an open view, found by `view_id` or `external_id`."""
    view = _view_param(params)
    view_id = params.get("view_id")
    external_id = params.get("external_id")
    current = ws.views.get(str(view_id)) if view_id else None
    if current is None and external_id:
        current = next(
            (v for v in ws.views.values() if v.view.get("external_id") == external_id), None
        )
    if current is None:
        raise SlackError("not_found")
    wanted_hash = params.get("hash")
    if wanted_hash and wanted_hash != current.view["hash"]:
        raise SlackError("hash_conflict")
    stored = _stored_view(ws, current.id, view)
    ws.views[current.id] = replace(current, view=stored, updates=current.updates + 1)
    return {"ok": True, "view": stored}


def views_publish(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Publish a user's App Home."""
    user_id = _param(params, "user_id")
    if user_id not in ws.users:
        raise SlackError("user_not_found")
    view = _view_param(params)
    if view.get("type") != "home":
        raise SlackError("invalid_arguments")
    current = next(
        (v for v in ws.views.values() if v.type == "home" and v.user_id == user_id), None
    )
    view_id = current.id if current else ws.new_id("V")
    stored = _stored_view(ws, view_id, view)
    updates = current.updates + 1 if current else 0
    ws.views[view_id] = View(id=view_id, type="home", view=stored, user_id=user_id, updates=updates)
    return {"ok": True, "view": stored}


def conversations_info(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Describe a channel."""
    channel = ws.find_channel(_param(params, "channel", "channel_not_found"))
    _require_scope(ws, "groups:read" if channel.is_private else "channels:read")
    return {"ok": True, "channel": channel.info()}


def conversations_join(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Join a public channel; bots must be invited to private ones."""
    _require_scope(ws, "channels:join")
    channel = ws.find_channel(_param(params, "channel", "channel_not_found"))
    if channel.is_private or channel.is_im:
        raise SlackError("method_not_supported_for_channel_type")
    if channel.is_archived:
        raise SlackError("is_archived")
    body: dict[str, Any] = {"ok": True}
    if channel.is_member:
        body["warning"] = "already_in_channel"
        body["response_metadata"] = {"warnings": ["already_in_channel"]}
    channel.is_member = True
    body["channel"] = channel.info()
    return body


def users_info(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """Describe a user."""
    _require_scope(ws, "users:read")
    user_id = _param(params, "user", "user_not_found")
    spec = ws.users.get(user_id)
    if spec is None:
        raise SlackError("user_not_found")
    name = spec.get("name", user_id.lower())
    real_name = spec.get("real_name", name)
    return {
        "ok": True,
        "user": {
            "id": user_id,
            "team_id": ws.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": spec.get("deleted", False),
            "tz": spec.get("tz", "UTC"),
            "is_bot": spec.get("is_bot", False),
            "is_admin": spec.get("is_admin", False),
            "profile": {"real_name": real_name, "display_name": name},
        },
    }


def usergroups_users_list(ws: Workspace, params: dict[str, Any]) -> dict[str, Any]:
    """List a user group's members."""
    _require_scope(ws, "usergroups:read")
    group = _param(params, "usergroup", "no_such_subteam")
    if group not in ws.usergroups:
        raise SlackError("no_such_subteam")
    return {"ok": True, "users": list(ws.usergroups[group])}


BOT_METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "views.open": views_open,
    "views.update": views_update,
    "views.publish": views_publish,
    "conversations.info": conversations_info,
    "conversations.join": conversations_join,
    "users.info": users_info,
    "usergroups.users.list": usergroups_users_list,
}
APP_METHODS = {"apps.connections.open"}


def dispatch(
    ws: Workspace,
    method: str,
    params: dict[str, Any],
    token: str | None,
    open_socket: Callable[[], str],
) -> dict[str, Any]:
    """Authenticate, run one method under the workspace lock, and return its JSON body."""
    if method not in BOT_METHODS and method not in APP_METHODS:
        raise SlackError("unknown_method")
    if not token:
        raise SlackError("not_authed")
    if token not in (ws.bot_token, ws.app_token):
        raise SlackError("invalid_auth")
    if (token == ws.app_token) != (method in APP_METHODS):
        raise SlackError("not_allowed_token_type")
    if method == "apps.connections.open":
        return {"ok": True, "url": open_socket()}
    with ws.lock:
        return BOT_METHODS[method](ws, params)
