"""Slack's interaction payloads, parsed at the edge into small typed values.

Only the fields triage reads are modelled; everything else Slack sends is ignored.
A payload that does not fit (a forged button value, a missing user) raises
`BadPayload` and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.views.alert import ASSIGN
from bot.views.modals import (
    CLOSE_NOTE,
    CLOSE_VERDICT,
    ISOLATION_DURATION,
    ISOLATION_REASON,
    MAX_ISOLATION_HOURS,
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
)
from bot.views.model import VERDICTS
from bot.views.thread import parse_isolation_block_id

# Slack user IDs: U… or W…, upper-case letters and digits.
USER_ID = r"^[UW][A-Z0-9]{2,31}$"
_ALERT_ID = re.compile(r"^[1-9][0-9]{0,11}$")
_ACTIONS_BLOCK = re.compile(r"^alert:([1-9][0-9]{0,11}):actions$")


class BadPayload(ValueError):
    """The payload is not one panbot sent out (or was tampered with)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _User(_Model):
    id: str = Field(pattern=USER_ID)


class _Channel(_Model):
    id: str = Field(max_length=32)


class _Container(_Model):
    message_ts: str | None = None
    thread_ts: str | None = None
    channel_id: str | None = None


class _Action(_Model):
    """One element of `actions`: a button (value) or a user picker (selected_user)."""

    action_id: str = Field(max_length=255)
    block_id: str = Field(default="", max_length=255)
    value: str | None = Field(default=None, max_length=2000)
    selected_user: str | None = Field(default=None, pattern=USER_ID)


class BlockActions(_Model):
    """A `block_actions` payload: who pressed which button on which message."""

    user: _User
    trigger_id: str | None = Field(default=None, max_length=255)
    response_url: str | None = Field(default=None, max_length=2000)
    channel: _Channel | None = None
    container: _Container | None = None
    actions: list[_Action] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Press:
    """A validated button press."""

    user: str
    action_id: str
    alert_id: int
    request_id: int | None  # from an isolation prompt's block_id, when pressed there
    selected_user: str | None
    trigger_id: str | None
    response_url: str | None
    channel: str | None


def parse_press(body: dict[str, Any]) -> Press:
    """Parse a button press; raise BadPayload when its alert id is not a plain number."""
    try:
        payload = BlockActions.model_validate(body)
    except ValidationError as exc:
        raise BadPayload(f"block_actions payload: {exc.error_count()} invalid field(s)") from None
    action = payload.actions[0]
    if action.action_id == ASSIGN:
        # A users_select carries no value: the alert id is in the block_id.
        match = _ACTIONS_BLOCK.match(action.block_id)
        if match is None or action.selected_user is None:
            raise BadPayload("assign: no alert block or no selected user")
        alert_id = int(match.group(1))
    else:
        if action.value is None or not _ALERT_ID.match(action.value):
            raise BadPayload("button value is not an alert id")
        alert_id = int(action.value)
    request_id = None
    ids = parse_isolation_block_id(action.block_id)
    if ids is not None:
        if ids[0] != alert_id:
            raise BadPayload("isolation block and button disagree on the alert")
        request_id = ids[1]
    channel = payload.channel.id if payload.channel else None
    if channel is None and payload.container is not None:
        channel = payload.container.channel_id
    return Press(
        user=payload.user.id,
        action_id=action.action_id,
        alert_id=alert_id,
        request_id=request_id,
        selected_user=action.selected_user,
        trigger_id=payload.trigger_id,
        response_url=payload.response_url,
        channel=channel,
    )


# -- modal submissions ------------------------------------------------------------------


class _View(_Model):
    callback_id: str
    private_metadata: str = ""
    state: dict[str, dict[str, dict[str, dict[str, Any]]]] = Field(default_factory=dict)


class ViewSubmission(_Model):
    user: _User
    view: _View


class FormError(ValueError):
    """A modal input is missing or wrong: shown next to that input (`block_id`)."""

    def __init__(self, block_id: str, key: str) -> None:
        super().__init__(key)
        self.block_id = block_id
        self.key = key


@dataclass(frozen=True, slots=True)
class IsolationForm:
    user: str
    alert_id: int
    reason: str
    duration_hours: int | None


@dataclass(frozen=True, slots=True)
class CloseForm:
    user: str
    alert_id: int
    verdict: str
    note: str | None


def _submission(body: dict[str, Any]) -> tuple[str, int, dict[str, dict[str, dict[str, Any]]]]:
    try:
        payload = ViewSubmission.model_validate(body)
    except ValidationError as exc:
        raise BadPayload(f"view_submission payload: {exc.error_count()} invalid field(s)") from None
    if not _ALERT_ID.match(payload.view.private_metadata):
        raise BadPayload("private_metadata is not an alert id")
    values = payload.view.state.get("values", {})
    return payload.user.id, int(payload.view.private_metadata), values


def _input(values: dict[str, dict[str, dict[str, Any]]], ids: tuple[str, str]) -> dict[str, Any]:
    return values.get(ids[0], {}).get(ids[1], {})


def parse_isolation_form(body: dict[str, Any]) -> IsolationForm:
    """Parse the isolation modal; FormError names the input to fix."""
    user, alert_id, values = _submission(body)
    reason = str(_input(values, ISOLATION_REASON).get("value") or "").strip()
    if not reason or len(reason) > REASON_MAX_LENGTH:
        raise FormError(ISOLATION_REASON[0], "error.reason_required")
    raw = _input(values, ISOLATION_DURATION).get("value")
    duration = None
    if raw not in (None, ""):
        text = str(raw).strip()
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ISOLATION_HOURS:
            raise FormError(ISOLATION_DURATION[0], "error.bad_duration")
        duration = int(text)
    return IsolationForm(user, alert_id, reason, duration)


def parse_close_form(body: dict[str, Any]) -> CloseForm:
    """Parse the closing modal; FormError names the input to fix."""
    user, alert_id, values = _submission(body)
    selected = _input(values, CLOSE_VERDICT).get("selected_option") or {}
    verdict = str(selected.get("value") or "") if isinstance(selected, dict) else ""
    if verdict not in VERDICTS:
        raise FormError(CLOSE_VERDICT[0], "error.verdict_required")
    note = str(_input(values, CLOSE_NOTE).get("value") or "").strip()[:NOTE_MAX_LENGTH]
    return CloseForm(user, alert_id, verdict, note or None)
