"""`/pan investigate`: acknowledge at once, investigate afterwards."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack

from bot.context import BotContext
from bot.slack.parse import Indicator
from bot.views.commands import not_available_yet


def start_investigation(
    ctx: BotContext, ack: Ack, body: dict[str, Any], indicator: Indicator
) -> None:
    """Answer that investigations are not wired yet (the investigations issue does it)."""
    message = not_available_yet("investigate", ctx.catalog)
    ack(response_type="ephemeral", text=message.text, blocks=message.blocks)
