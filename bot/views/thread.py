"""Short thread replies: audit lines, the isolation approval prompt, the retry offer.

The approval prompt's buttons carry `value` = the alert id, like every button;
the isolation request id travels in the block_id `isolation:{alert_id}:{request_id}`
(see `isolation_block_id`). A failed firewall tag is retried with the same
`approve_isolation` action_id (an approver presses it again).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import Catalog
from bot.views import blocks as bk
from bot.views.alert import APPROVE_ISOLATION, REJECT_ISOLATION
from bot.views.limits import fit_message
from bot.views.model import SlackMessage
from bot.views.text import Mrkdwn, render, say
from investigations.finding import Message


def isolation_block_id(alert_id: int, request_id: int) -> str:
    """Return the block_id of an approval prompt's buttons."""
    return f"isolation:{alert_id}:{request_id}"


def parse_isolation_block_id(block_id: str) -> tuple[int, int] | None:
    """Return (alert id, request id) from an approval prompt's block_id, or None."""
    parts = block_id.split(":")
    if len(parts) != 3 or parts[0] != "isolation":
        return None
    try:
        return int(parts[1]), int(parts[2])
    except ValueError:
        return None


def thread_note(message: Message, catalog: Catalog) -> SlackMessage:
    """Build a one-line thread reply from a catalog message (`note.*` keys)."""
    text = render(message, catalog)
    return fit_message(text, [bk.section(text)])


def isolation_approval_prompt(  # noqa: PLR0917 - the positional order callers were promised
    alert_id: int,
    request_id: int,
    requester: str,
    reason: str,
    duration: int | None,
    approvers: Sequence[str],
    catalog: Catalog,
    *,
    ip: str | None = None,
) -> SlackMessage:
    """Build the thread reply asking approvers to approve or reject an isolation."""
    asked = say(catalog, "isolation.prompt", host=ip or "-", requester=requester)
    duration_text = (
        say(catalog, "isolation.duration_hours", hours=duration)
        if duration
        else catalog.t("isolation.duration_none")
    )
    body = "\n".join(
        [
            f":rotating_light: *{asked}*",
            say(catalog, "isolation.reason", reason=reason),
            say(catalog, "isolation.duration", duration=Mrkdwn(duration_text)),
        ]
    )
    who = (
        say(catalog, "isolation.approvers", approvers=" ".join(approvers))
        if approvers
        else catalog.t("isolation.approvers_none")
    )
    value = str(alert_id)
    dialog = bk.confirm(
        catalog.t("confirm.approve.title"),
        say(catalog, "confirm.approve.text", host=ip or "-"),
        catalog.t("confirm.yes"),
        catalog.t("confirm.no"),
    )
    buttons = [
        bk.button(
            APPROVE_ISOLATION,
            catalog.t("button.approve_isolation"),
            value,
            style="primary",
            confirmation=dialog,
        ),
        bk.button(REJECT_ISOLATION, catalog.t("button.reject_isolation"), value, style="danger"),
    ]
    blocks = [
        bk.section(body),
        bk.context([who, catalog.t("isolation.no_self_approval")]),
        bk.actions(buttons, block_id=isolation_block_id(alert_id, request_id)),
    ]
    return fit_message(f"{asked} — {say(catalog, 'isolation.reason', reason=reason)}", blocks)


def isolation_retry(alert_id: int, request_id: int, reason: str, catalog: Catalog) -> SlackMessage:
    """Build the reply for a firewall tag that failed, with a retry button (`approve_isolation`)."""
    text = say(catalog, "note.isolation_apply_failed", reason=reason)
    retry = bk.button(APPROVE_ISOLATION, catalog.t("button.retry_isolation"), str(alert_id))
    blocks = [
        bk.section(f":x: {text}"),
        bk.actions([retry], block_id=isolation_block_id(alert_id, request_id)),
    ]
    return fit_message(text, blocks)
