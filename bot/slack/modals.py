"""Modal submissions: the isolation request and the closing verdict.

A wrong input is answered in the modal itself (`response_action: errors`, which is
the acknowledgement); otherwise the submission is acknowledged (closing the modal)
before anything is written, and refusals or "already …" reach the submitter as an
ephemeral message in the alert channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack, App
from slack_sdk.errors import SlackClientError

from bot.context import BotContext
from bot.triage.payloads import (
    BadPayload,
    FormError,
    parse_close_form,
    parse_isolation_form,
)
from bot.triage.service import Answer, Triage
from bot.triage.steps import submit_close, submit_isolation_request
from bot.views.commands import error_message
from bot.views.modals import CLOSE_CALLBACK_ID, ISOLATION_CALLBACK_ID
from bot.views.model import SlackMessage
from investigations.finding import Message

log = logging.getLogger(__name__)

Form = TypeVar("Form")


def register(app: App, ctx: BotContext, triage: Triage) -> None:
    """Attach the view_submission handlers."""

    @app.view(ISOLATION_CALLBACK_ID)
    def isolation(ack: Ack, body: dict[str, Any]) -> None:
        handle_submission(
            ctx, triage, ack, body, parse=parse_isolation_form, submit=submit_isolation_request
        )

    @app.view(CLOSE_CALLBACK_ID)
    def close(ack: Ack, body: dict[str, Any]) -> None:
        handle_submission(ctx, triage, ack, body, parse=parse_close_form, submit=submit_close)


def handle_submission(
    ctx: BotContext,
    triage: Triage,
    ack: Ack,
    body: dict[str, Any],
    *,
    parse: Callable[[dict[str, Any]], Form],
    submit: Callable[[Triage, Form], Answer],
) -> None:
    """Validate, acknowledge, then apply one modal submission."""
    try:
        form = parse(body)
    except FormError as exc:
        ack(response_action="errors", errors={exc.block_id: ctx.catalog.t(exc.key)})
        return
    except BadPayload as exc:
        ack()
        log.warning("refused a view_submission payload: %s", exc)
        _tell(ctx, body, error_message(Message(key="error.bad_request"), ctx.catalog))
        return
    ack()
    try:
        answer = submit(triage, form)
    except Exception:  # the edge: the submitter hears of it, the log keeps the traceback
        log.exception("modal submission failed")
        answer = Answer(error_message(Message(key="error.internal"), ctx.catalog))
    if answer.ephemeral is not None:
        _tell(ctx, body, answer.ephemeral)


def _tell(ctx: BotContext, body: dict[str, Any], message: SlackMessage) -> None:
    """An ephemeral in the alert channel: a modal has no response_url of its own."""
    user = (body.get("user") or {}).get("id")
    channel = ctx.settings.slack_channel
    if not isinstance(user, str) or channel is None:
        return
    try:
        ctx.slack.chat_postEphemeral(
            channel=channel, user=user, text=message.text, blocks=message.blocks
        )
    except SlackClientError as exc:
        log.warning("could not answer a modal submission: %s", exc)
