"""`/pan investigate`: acknowledge at once, investigate afterwards.

The acknowledgement says "investigating…" within Slack's 3 seconds; the playbook runs
on the bot's worker pool. An alert's finding goes into its thread through the outbox;
a bare value's finding comes back ephemerally through the command's `response_url`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk.webhook import WebhookClient

from bot.context import BotContext
from bot.i18n import Catalog
from bot.investigator import AlertNotFound, Investigator
from bot.slack.parse import Indicator, Subject
from bot.views import blocks as bk
from bot.views.commands import error_message, not_available_yet
from bot.views.finding import finding_reply
from bot.views.limits import fit_message
from bot.views.model import SlackMessage
from bot.views.text import say
from investigations.finding import Message

log = logging.getLogger(__name__)

RESPONSE_TIMEOUT = 10


def _shown(indicator: Indicator) -> str:
    return f"#{indicator.value}" if indicator.kind is Subject.ALERT else indicator.value


def _info(text: str, icon: str) -> SlackMessage:
    return fit_message(text, [bk.section(f"{icon} {text}")])


def investigating(indicator: Indicator, catalog: Catalog) -> SlackMessage:
    """Build the immediate answer: the investigation has started."""
    return _info(say(catalog, "answer.investigating", subject=_shown(indicator)), ":mag:")


def start_investigation(
    ctx: BotContext, ack: Ack, body: dict[str, Any], indicator: Indicator
) -> None:
    """Acknowledge with "investigating…", then investigate on the worker pool."""
    investigator = ctx.investigator
    if investigator is None:
        message = not_available_yet("investigate", ctx.catalog)
        ack(response_type="ephemeral", text=message.text, blocks=message.blocks)
        return
    started = investigating(indicator, ctx.catalog)
    ack(response_type="ephemeral", text=started.text, blocks=started.blocks)
    user = str(body.get("user_id") or "unknown")
    response_url = str(body.get("response_url") or "")
    ctx.executor.submit(_investigate, ctx.catalog, investigator, indicator, user, response_url)


def investigation_answer(
    catalog: Catalog, investigator: Investigator, indicator: Indicator, user: str
) -> SlackMessage:
    """Run the investigation; return what the user is told (the finding itself for a value)."""
    try:
        if indicator.kind is Subject.ALERT:
            alert_id = int(indicator.value)
            investigator.investigate_alert(alert_id, actor=user)
            text = say(catalog, "answer.investigation_posted", alert_id=alert_id)
            return _info(text, ":white_check_mark:")
        return finding_reply(investigator.investigate_indicator(indicator), catalog, None)
    except AlertNotFound as exc:
        return error_message(
            Message(key="error.alert_not_found", params={"alert_id": exc.alert_id}), catalog
        )
    except Exception as exc:  # the user must hear back; the traceback goes to the log
        log.exception("investigation of %s %s failed", indicator.kind.value, indicator.value)
        return error_message(
            Message(key="error.investigation_failed", params={"reason": type(exc).__name__}),
            catalog,
        )


def _investigate(
    catalog: Catalog, investigator: Investigator, indicator: Indicator, user: str, url: str
) -> None:
    message = investigation_answer(catalog, investigator, indicator, user)
    if not url:
        log.warning("no response_url to answer /pan investigate %s with", indicator.value)
        return
    try:
        response = WebhookClient(url, timeout=RESPONSE_TIMEOUT).send(
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=False,
        )
    except Exception as exc:  # network trouble: nothing else to tell the user through
        log.warning("answering /pan investigate failed: %s", type(exc).__name__)
        return
    if response.status_code != 200:
        log.warning("Slack refused the investigation answer (HTTP %s)", response.status_code)
