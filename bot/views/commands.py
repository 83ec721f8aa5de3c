"""Answers to `/pan` and to refused or repeated presses (mostly ephemeral)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from bot.i18n import Catalog
from bot.views import blocks as bk
from bot.views.limits import Block, fit_message
from bot.views.model import (
    AlertLine,
    AuditEntry,
    HostHistory,
    PollStatus,
    SlackMessage,
    StatusSummary,
)
from bot.views.text import Mrkdwn, code_label, render, say, value, when
from investigations.finding import Message

RefusalReason = Literal["not_responder", "not_approver", "own_request"]

# Lists in answers stop here; "and N more" says what was left out.
LIST_LIMIT = 20
SUBCOMMANDS = ("investigate", "host", "status", "help")


def help_text(catalog: Catalog) -> SlackMessage:
    """Build the `/pan help` answer."""
    lines = [f"*{catalog.t('help.title')}*"]
    lines += [
        f"• `/pan {catalog.t(f'help.usage.{c}')}` — {catalog.t(f'help.{c}')}" for c in SUBCOMMANDS
    ]
    body = "\n".join(lines)
    return fit_message(
        catalog.t("help.title"), [bk.section(body), bk.context([catalog.t("help.buttons")])]
    )


def status_view(summary: StatusSummary, catalog: Catalog) -> SlackMessage:
    """Build the `/pan status` answer: open alerts, last poll per rule, firewall."""
    blocks: list[Block] = [bk.header(catalog.t("status.title"))]
    blocks += status_blocks(summary, catalog)
    total = sum(summary.open_by_state.values())
    return fit_message(say(catalog, "status.text", count=total), blocks)


def status_blocks(summary: StatusSummary, catalog: Catalog) -> list[Block]:
    """Return the blocks `/pan status` and the App Home share."""
    counts = [
        bk.labelled(code_label(catalog, "state.", state), str(count))
        for state, count in summary.open_by_state.items()
    ] or [catalog.t("status.no_open")]
    firewall = (
        f":white_check_mark: {catalog.t('status.firewall_ok')}"
        if summary.firewall_ok
        else f":x: {catalog.t('status.firewall_down')}"
    )
    if summary.firewall_detail:
        firewall += f" — {value(summary.firewall_detail, 500)}"
    polls = "\n".join(_poll_line(poll, catalog) for poll in summary.last_polls[:LIST_LIMIT])
    return [
        bk.section(f"*{catalog.t('status.open_alerts')}*"),
        *bk.field_sections(counts),
        bk.section(f"*{catalog.t('status.polls')}*\n{polls or catalog.t('status.no_polls')}"),
        bk.section(f"*{catalog.t('status.firewall')}*\n{firewall}"),
    ]


def _poll_line(poll: PollStatus, catalog: Catalog) -> str:
    rule = code_label(catalog, "rule.", poll.rule)
    icon = ":x:" if poll.error else ":white_check_mark:"
    line = f"{icon} {rule} — {when(poll.last_poll, catalog)}"
    if poll.error:
        line += f" — {value(poll.error, 300)}"
    return line


def host_view(history: HostHistory, catalog: Catalog) -> SlackMessage:
    """Build the `/pan host <IP>` answer: who the host is, its state, alerts and audit trail."""
    dash = "-"
    fields = [
        bk.labelled(catalog.t("host.names"), value(", ".join(history.names) or dash, 500)),
        bk.labelled(catalog.t("host.users"), value(", ".join(history.users) or dash, 500)),
        bk.labelled(
            catalog.t("host.patched_for"), value(", ".join(history.patched_for) or dash, 500)
        ),
        bk.labelled(
            catalog.t("host.monitored_until"), _maybe_time(history.monitored_until, catalog)
        ),
        bk.labelled(catalog.t("host.isolated"), _isolation_text(history, catalog)),
    ]
    blocks: list[Block] = [
        bk.header(say(catalog, "host.title", ip=history.ip)),
        *bk.field_sections(fields),
        bk.section(_alert_list(history.alerts, catalog, "host.alerts", "host.no_alerts")),
        bk.section(_audit_list(history.audit, catalog)),
    ]
    return fit_message(say(catalog, "host.title", ip=history.ip), blocks)


def _maybe_time(moment: datetime | None, catalog: Catalog) -> str:
    return when(moment, catalog) if moment is not None else catalog.t("common.no")


def _isolation_text(history: HostHistory, catalog: Catalog) -> str:
    if history.isolated_since is None:
        return catalog.t("common.no")
    if history.isolated_until is None:
        return say(catalog, "host.isolated_since", since=history.isolated_since)
    return say(
        catalog, "host.isolated_between", since=history.isolated_since, until=history.isolated_until
    )


def alert_lines(alerts: list[AlertLine], catalog: Catalog, title_key: str, empty_key: str) -> str:
    """Return a titled bullet list of alerts (capped at LIST_LIMIT)."""
    return _alert_list(alerts, catalog, title_key, empty_key)


def _alert_list(alerts: list[AlertLine], catalog: Catalog, title_key: str, empty_key: str) -> str:
    lines = [f"*{catalog.t(title_key)}*"]
    if not alerts:
        lines.append(catalog.t(empty_key))
    for line in alerts[:LIST_LIMIT]:
        text = say(
            catalog,
            "host.alert_line",
            alert_id=line.alert_id,
            rule=line.rule,
            threat=line.threat or "-",
            state=line.state,
            at=line.first_seen,
        )
        lines.append(f"• {text}")
    lines += _more(len(alerts), catalog)
    return "\n".join(lines)


def _audit_list(entries: list[AuditEntry], catalog: Catalog) -> str:
    lines = [f"*{catalog.t('host.audit')}*"]
    if not entries:
        lines.append(catalog.t("host.no_audit"))
    for entry in entries[:LIST_LIMIT]:
        action = code_label(catalog, "audit.", entry.action)
        text = say(
            catalog, "host.audit_line", at=entry.at, actor=entry.actor, action=Mrkdwn(action)
        )
        if entry.detail:
            text = Mrkdwn(f"{text} — {value(entry.detail, 300)}")
        lines.append(f"• {text}")
    lines += _more(len(entries), catalog)
    return "\n".join(lines)


def _more(total: int, catalog: Catalog) -> list[str]:
    if total <= LIST_LIMIT:
        return []
    return [say(catalog, "common.and_more", count=total - LIST_LIMIT)]


def error_message(message: Message, catalog: Catalog) -> SlackMessage:
    """Build an ephemeral error answer (e.g. malformed `/pan` input)."""
    text = render(message, catalog)
    return fit_message(text, [bk.section(f":warning: {text}")])


def not_available_yet(action_id: str, catalog: Catalog) -> SlackMessage:
    """Build the ephemeral answer for a feature that is not there yet."""
    text = say(catalog, "answer.not_available_yet", action_id=action_id)
    return fit_message(text, [bk.section(f":construction: {text}")])


def refusal(
    action_id: str, catalog: Catalog, reason: RefusalReason = "not_responder"
) -> SlackMessage:
    """Build the ephemeral refusal for a press by someone not allowed (nothing changed)."""
    text = say(catalog, f"refusal.{reason}", action_id=action_id)
    return fit_message(text, [bk.section(f":no_entry: {text}")])


def already_done(
    action_id: str, catalog: Catalog, *, by: str | None = None, at: datetime | None = None
) -> SlackMessage:
    """Build the ephemeral answer for a repeated press ("already acknowledged by <@X>")."""
    key = f"already.{action_id}" if catalog.has(f"already.{action_id}") else "already.generic"
    text = say(catalog, key, by=by) if by else say(catalog, f"{key}.anonymous")
    if at is not None:
        text = Mrkdwn(f"{text} {say(catalog, 'already.at', at=at)}")
    return fit_message(text, [bk.section(f":information_source: {text}")])
