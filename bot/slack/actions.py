"""Buttons: every INTERFACE.md action_id, answered within Slack's 3 seconds.

Each press is acknowledged first, parsed into a `Press`, and handed to its triage
step. A modal is opened right away with the press's trigger_id (valid 3 s, once);
refusals, "already …" and errors go back to the presser only (ephemeral).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackClientError
from slack_sdk.webhook import WebhookClient

from bot.context import BotContext
from bot.triage.payloads import BadPayload, parse_press
from bot.triage.service import Answer, Triage
from bot.triage.steps import handle_press
from bot.views.alert import ACTION_IDS
from bot.views.commands import error_message
from bot.views.model import SlackMessage
from investigations.finding import Message

log = logging.getLogger(__name__)

__all__ = ["ACTION_IDS", "register"]


def register(app: App, ctx: BotContext, triage: Triage) -> None:
    """Attach one handler to each action_id."""
    for action_id in ACTION_IDS:
        app.action(action_id)(_handler(ctx, triage))


def _handler(ctx: BotContext, triage: Triage) -> Any:
    def handler(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        answer_press(ctx, triage, body)

    return handler


def answer_press(ctx: BotContext, triage: Triage, body: dict[str, Any]) -> None:
    """Run a press (already acknowledged) and show the presser what came of it."""
    try:
        press = parse_press(body)
    except BadPayload as exc:
        log.warning("refused a button payload: %s", exc)
        tell(ctx, body, _error(ctx, "error.bad_request"))
        return
    try:
        answer = handle_press(triage, press)
    except Exception:  # the edge: the presser hears of it, the log keeps the traceback
        log.exception("button %s on alert %s failed", press.action_id, press.alert_id)
        answer = Answer(_error(ctx, "error.internal"))
    if answer.modal is not None:
        _open(ctx, body, press.trigger_id, answer.modal)
    if answer.ephemeral is not None:
        tell(ctx, body, answer.ephemeral)


def _error(ctx: BotContext, key: str, **params: str) -> SlackMessage:
    return error_message(Message(key=key, params=params), ctx.catalog)


def _open(
    ctx: BotContext, body: dict[str, Any], trigger_id: str | None, view: dict[str, Any]
) -> None:
    if not trigger_id:
        tell(ctx, body, _error(ctx, "error.bad_request"))
        return
    try:
        ctx.slack.views_open(trigger_id=trigger_id, view=view)
    except SlackClientError as exc:
        log.warning("could not open a modal: %s", exc)
        tell(ctx, body, _error(ctx, "error.modal_failed"))


def tell(ctx: BotContext, body: dict[str, Any], message: SlackMessage) -> None:
    """Show a message to the presser only: by response_url, else chat.postEphemeral."""
    response_url = body.get("response_url")
    user = (body.get("user") or {}).get("id")
    channel = (body.get("channel") or {}).get("id") or ctx.settings.slack_channel
    try:
        if isinstance(response_url, str) and response_url.startswith(("https://", "http://")):
            _respond(response_url, message)
        elif isinstance(user, str) and channel:
            ctx.slack.chat_postEphemeral(
                channel=channel, user=user, text=message.text, blocks=message.blocks
            )
    except (SlackClientError, OSError) as exc:
        log.warning("could not answer a press: %s", exc)


def _respond(url: str, message: SlackMessage) -> None:
    response = WebhookClient(url, timeout=10).send(
        text=message.text,
        blocks=message.blocks,
        response_type="ephemeral",
        replace_original=False,
    )
    if response.status_code != 200:
        log.warning("response_url answered HTTP %s", response.status_code)
