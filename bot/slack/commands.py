"""`/pan`: acknowledge at once, parse strictly, answer ephemerally."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App

from bot.context import BotContext
from bot.slack.investigate import start_investigation
from bot.slack.parse import CommandError, parse_command
from bot.slack.status import host_history, status_summary
from bot.views.commands import error_message, help_text, host_view, status_view
from bot.views.model import SlackMessage
from investigations.finding import Message

log = logging.getLogger(__name__)


def _ephemeral(ack: Ack, message: SlackMessage) -> None:
    ack(response_type="ephemeral", text=message.text, blocks=message.blocks)


def handle_pan(ctx: BotContext, ack: Ack, body: dict[str, Any]) -> None:
    """Answer one `/pan` command; slow subcommands continue after the acknowledgement."""
    text = str(body.get("text") or "")
    try:
        command = parse_command(text)
    except CommandError as exc:
        _ephemeral(ack, error_message(Message(key=exc.key, params=exc.params), ctx.catalog))
        return
    if command.name == "help":
        _ephemeral(ack, help_text(ctx.catalog))
    elif command.name == "status":
        _ephemeral(ack, status_view(status_summary(ctx), ctx.catalog))
    elif command.name == "host":
        assert command.indicator is not None
        _ephemeral(ack, host_view(host_history(ctx, command.indicator.value), ctx.catalog))
    else:
        assert command.indicator is not None
        start_investigation(ctx, ack, body, command.indicator)


def register(app: App, ctx: BotContext) -> None:
    """Attach `/pan` to the Bolt app."""

    @app.command("/pan")
    def pan(ack: Ack, body: dict[str, Any]) -> None:
        handle_pan(ctx, ack, body)
