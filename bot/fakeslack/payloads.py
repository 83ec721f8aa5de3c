"""Build the payloads Slack sends to an app: slash commands, button presses, modal submissions.

The dict builders feed Socket Mode envelopes; the `*_body` builders give the
form-encoded HTTP bodies Slack POSTs to `/slack/events`.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

# Loopback's discard port: a builder used without a response URL never reaches the internet.
UNSET_RESPONSE_URL = "http://127.0.0.1:9/response/unset"
TEAM_ID = "T0FAKE"
APP_ID = "A0PANBOT"
BOT_ID = "B0PANBOT"
BOT_USER_ID = "U0PANBOT"
TEAM_DOMAIN = "fake-workspace"


def new_trigger_id() -> str:
    """Return a fresh trigger id (Slack's are single-use)."""
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**13)}.{secrets.token_hex(16)}"


def _action_ts() -> str:
    return f"{time.time():.6f}"


def slash_command_payload(
    command: str = "/pan",
    text: str = "",
    *,
    user_id: str = "U0ALICE",
    channel_id: str = "C0ALERTS",
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    user_name: str | None = None,
    channel_name: str | None = None,
    api_app_id: str = APP_ID,
) -> dict[str, str]:
    """Return a slash command's fields (what Socket Mode puts in `payload`)."""
    return {
        "token": "verification_token",
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name or channel_id.lower(),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def _find_element(
    blocks: list[dict[str, Any]], action_id: str
) -> tuple[str, dict[str, Any]] | None:
    for block in blocks:
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return None


def _action(
    action_id: str,
    value: str | None,
    selected_user: str | None,
    block_id: str | None,
    blocks: list[dict[str, Any]],
) -> dict[str, Any]:
    found = _find_element(blocks, action_id)
    element = found[1] if found else {}
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id or (found[0] if found else "actions"),
    }
    if selected_user is not None:
        action.update(type="users_select", selected_user=selected_user)
    else:
        text = element.get("text") or {"type": "plain_text", "text": action_id}
        action.update(type=element.get("type", "button"), text=text)
        action["value"] = value if value is not None else str(element.get("value", ""))
        if "style" in element:
            action["style"] = element["style"]
    action["action_ts"] = _action_ts()
    return action


def block_actions_payload(
    action_id: str,
    value: str | None,
    user_id: str,
    channel_id: str,
    message_ts: str,
    *,
    thread_ts: str | None = None,
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
    selected_user: str | None = None,
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    block_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    bot_user_id: str = BOT_USER_ID,
) -> dict[str, Any]:
    """Return a `block_actions` payload for a press on a bot message's button or user picker.

    Pass the pressed message's blocks to fill the action's `block_id`, text and type as
    Slack would; `selected_user` makes it a `users_select` action.
    """
    blocks = message_blocks or []
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    message: dict[str, Any] = {
        "bot_id": BOT_ID,
        "type": "message",
        "text": message_text,
        "user": bot_user_id,
        "ts": message_ts,
        "app_id": api_app_id,
        "blocks": blocks,
        "team": team_id,
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
        message["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": api_app_id,
        "token": "verification_token",
        "container": container,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "message": message,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [_action(action_id, value, selected_user, block_id, blocks)],
    }


def view_submission_payload(
    callback_id: str,
    private_metadata: str,
    values: dict[str, dict[str, dict[str, Any]]],
    user_id: str,
    *,
    view_id: str = "V0FAKEVIEW",
    blocks: list[dict[str, Any]] | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
) -> dict[str, Any]:
    """Return a `view_submission` payload; `values` is `view.state.values` (block → action)."""
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": api_app_id,
        "token": "verification_token",
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": values},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": "panbot"},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": {"type": "plain_text", "text": "Cancel"},
            "submit": {"type": "plain_text", "text": "Submit"},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def app_home_opened_payload(
    user_id: str, *, team_id: str = TEAM_ID, api_app_id: str = APP_ID
) -> dict[str, Any]:
    """Return an Events API `event_callback` for a user opening the App Home tab."""
    now = time.time()
    return {
        "token": "verification_token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": {
            "type": "app_home_opened",
            "user": user_id,
            "channel": "D" + user_id[1:],
            "tab": "home",
            "event_ts": f"{now:.6f}",
        },
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(5).upper(),
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def slash_command_body(
    command: str = "/pan",
    text: str = "",
    *,
    user_id: str = "U0ALICE",
    channel_id: str = "C0ALERTS",
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
) -> str:
    """Return a slash command as the form-encoded body Slack POSTs."""
    return urlencode(
        slash_command_payload(
            command,
            text,
            user_id=user_id,
            channel_id=channel_id,
            response_url=response_url,
            trigger_id=trigger_id,
        )
    )


def block_actions_body(
    action_id: str,
    value: str | None,
    user_id: str,
    channel_id: str,
    message_ts: str,
    *,
    thread_ts: str | None = None,
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
    selected_user: str | None = None,
    message_text: str = "",
    message_blocks: list[dict[str, Any]] | None = None,
    block_id: str | None = None,
) -> str:
    """Return a button press as the `payload=<JSON>` form body Slack POSTs."""
    payload = block_actions_payload(
        action_id,
        value,
        user_id,
        channel_id,
        message_ts,
        thread_ts=thread_ts,
        response_url=response_url,
        trigger_id=trigger_id,
        selected_user=selected_user,
        message_text=message_text,
        message_blocks=message_blocks,
        block_id=block_id,
    )
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    callback_id: str,
    private_metadata: str,
    values: dict[str, dict[str, dict[str, Any]]],
    user_id: str,
    *,
    view_id: str = "V0FAKEVIEW",
    blocks: list[dict[str, Any]] | None = None,
) -> str:
    """Return a modal submission as the `payload=<JSON>` form body Slack POSTs."""
    payload = view_submission_payload(
        callback_id, private_metadata, values, user_id, view_id=view_id, blocks=blocks
    )
    return urlencode({"payload": json.dumps(payload)})
