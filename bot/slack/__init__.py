"""Slack listeners, one module per surface, each with a `register(app, ctx)`."""

from __future__ import annotations

from slack_bolt import App

from bot.context import BotContext
from bot.slack import actions, commands


def register_listeners(app: App, ctx: BotContext) -> None:
    """Attach every listener to the Bolt app."""
    commands.register(app, ctx)
    actions.register(app, ctx)
