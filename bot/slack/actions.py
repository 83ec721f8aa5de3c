"""Buttons: every INTERFACE.md action_id is answered, never silently dropped."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.context import BotContext
from bot.views.commands import not_available_yet

log = logging.getLogger(__name__)

ACTION_IDS = (
    "ack",
    "assign",
    "enrich",
    "mark_patched",
    "mark_monitored",
    "request_isolation",
    "approve_isolation",
    "reject_isolation",
    "release_isolation",
    "close_alert",
)


def register(app: App, ctx: BotContext) -> None:
    """Attach a handler to each action_id."""
    for action_id in ACTION_IDS:
        app.action(action_id)(_not_yet(ctx, action_id))


def _not_yet(ctx: BotContext, action_id: str) -> Any:
    def handler(ack: Ack, respond: Respond, body: dict[str, Any]) -> None:
        ack()
        message = not_available_yet(action_id, ctx.catalog)
        respond(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=False,
        )

    return handler
