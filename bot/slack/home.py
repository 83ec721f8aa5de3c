"""The App Home tab: published whenever a user opens it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackClientError

from bot.context import BotContext
from bot.slack.status import status_summary
from bot.views.home import home_view
from bot.views.model import HostMark
from storage import triage

log = logging.getLogger(__name__)


def register(app: App, ctx: BotContext) -> None:
    """Attach the app_home_opened listener."""

    @app.event("app_home_opened")
    def opened(event: dict[str, Any]) -> None:
        publish_home(ctx, event)


def home_for(ctx: BotContext) -> dict[str, Any]:
    """The App Home view as it stands now."""
    now = ctx.clock()
    with ctx.db.session() as s:
        watched = [HostMark(w.ip, w.since, w.until, w.alert_id) for w in triage.watches(s, now)]
        isolated = [HostMark(i.ip, i.since, i.until, i.alert_id) for i in triage.isolated_hosts(s)]
    return home_view(status_summary(ctx), watched, isolated, ctx.catalog)


def publish_home(ctx: BotContext, event: dict[str, Any]) -> None:
    """Publish the Home tab for the user who opened it (the Messages tab is left alone)."""
    user = event.get("user")
    if event.get("tab") != "home" or not isinstance(user, str):
        return
    try:
        ctx.slack.views_publish(user_id=user, view=home_for(ctx))
    except SlackClientError as exc:
        log.warning("could not publish the App Home for %s: %s", user, exc)
