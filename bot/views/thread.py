"""Short thread replies: audit lines, the isolation approval prompt, the retry offer.

The approval prompt's buttons carry `value` = the alert id, like every button;
the isolation request id travels in the block_id `isolation:{alert_id}:{request_id}`
(see `isolation_block_id`). A failed firewall tag is retried with the same
`approve_isolation` action_id (an approver presses it again).

Both are drawn from the request's current state and edited in place as it moves on:
once decided, the prompt loses its buttons and says who decided and when (and, later,
whether the tag was applied and when it was released); a retry offer loses its button
once the request no longer waits for a retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.i18n import Catalog
from bot.views import blocks as bk
from bot.views.alert import APPROVE_ISOLATION, REJECT_ISOLATION
from bot.views.limits import fit_message
from bot.views.model import IsolationState, SlackMessage
from bot.views.text import Mrkdwn, render, say
from investigations.finding import Message

_DECISION_ICON: dict[IsolationState, str] = {"rejected": ":no_entry:"}


@dataclass(frozen=True, slots=True)
class IsolationOutcome:
    """Where an isolation request stands, as its prompt shows it."""

    state: IsolationState
    decided_by: str | None = None
    decided_at: datetime | None = None
    applied_at: datetime | None = None
    released_by: str | None = None
    released_at: datetime | None = None
    last_error: str | None = None


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
    outcome: IsolationOutcome | None = None,
) -> SlackMessage:
    """Build the thread reply asking approvers to approve or reject an isolation.

    With an `outcome` past `requested`, the same request is shown decided: no buttons,
    the decision (who, when) and what has happened since.
    """
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
    if outcome is not None and outcome.state != "requested":
        return _decided_prompt(body, outcome, catalog, ip or "-")
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


def _decided_prompt(
    body: str, outcome: IsolationOutcome, catalog: Catalog, host: str
) -> SlackMessage:
    decision = _decision_line(outcome, catalog, host)
    icon = _DECISION_ICON.get(outcome.state, ":white_check_mark:")
    blocks = [bk.section(body), bk.section(f"{icon} *{decision}*")]
    since = _since_decided(outcome, catalog)
    if since:
        blocks.append(bk.context(since))
    return fit_message(decision, blocks)


def _decision_line(outcome: IsolationOutcome, catalog: Catalog, host: str) -> Mrkdwn:
    """Return "Isolation of H approved (or rejected) by <@U> at T" for a decided request."""
    verb = "rejected" if outcome.state == "rejected" else "approved"
    if outcome.decided_by is None or outcome.decided_at is None:
        return say(catalog, f"triage.isolation.{verb}", host=host)
    return say(
        catalog,
        f"isolation.outcome.{verb}",
        host=host,
        approver=outcome.decided_by,
        at=outcome.decided_at,
    )


def _since_decided(outcome: IsolationOutcome, catalog: Catalog) -> list[str]:
    """Return what happened after the decision: the tag applied or failed, the release."""
    lines: list[str] = []
    if outcome.applied_at is not None:
        lines.append(say(catalog, "isolation.outcome.applied", at=outcome.applied_at))
    if outcome.state == "apply_failed":
        reason = outcome.last_error or catalog.t("source_status.unknown_reason")
        lines.append(say(catalog, "isolation.outcome.apply_failed", reason=reason))
    if outcome.released_at is not None:
        by = outcome.released_by or "panbot"
        lines.append(say(catalog, "isolation.outcome.released", by=by, at=outcome.released_at))
    return lines


def isolation_retry(
    alert_id: int, request_id: int, reason: str, catalog: Catalog, *, settled: bool = False
) -> SlackMessage:
    """Build the reply for a firewall tag that failed, with a retry button (`approve_isolation`).

    `settled`: the request no longer waits for a retry (retried, released): no button.
    """
    text = say(catalog, "note.isolation_apply_failed", reason=reason)
    blocks = [bk.section(f":x: {text}")]
    if settled:
        blocks.append(bk.context([catalog.t("isolation.retry_settled")]))
    else:
        retry = bk.button(APPROVE_ISOLATION, catalog.t("button.retry_isolation"), str(alert_id))
        blocks.append(bk.actions([retry], block_id=isolation_block_id(alert_id, request_id)))
    return fit_message(text, blocks)
