"""Slack listeners, one module per surface, each with a `register(app, ctx)`."""

from __future__ import annotations

from slack_bolt import App

from bot.context import BotContext
from bot.slack import actions, commands, home, modals
from bot.triage.service import Triage


def register_listeners(ctx: BotContext, *apps: App) -> None:
    """Attach every listener to each Bolt app; they share one `Triage` (and its caches)."""
    triage = Triage.from_context(ctx)
    for app in apps:
        commands.register(app, ctx)
        actions.register(app, ctx, triage)
        modals.register(app, ctx, triage)
        home.register(app, ctx)
