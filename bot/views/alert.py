"""The alert's parent message: what happened, the triage state, and the buttons."""

from __future__ import annotations

from typing import Any

from bot.i18n import Catalog
from bot.views import blocks as bk
from bot.views.escape import format_time, is_mentionable
from bot.views.limits import MAX_HEADER_TEXT, Block, fit_message
from bot.views.model import AlertCard, SlackMessage
from bot.views.text import Mrkdwn, code_label, plain_value, say, value

# A field's value is capped well below Slack's 2000 so ten of them stay readable.
FIELD_VALUE_LIMIT = 300
LONG_VALUE_LIMIT = 1000

ACK = "ack"
ASSIGN = "assign"
ENRICH = "enrich"
MARK_PATCHED = "mark_patched"
MARK_MONITORED = "mark_monitored"
REQUEST_ISOLATION = "request_isolation"
APPROVE_ISOLATION = "approve_isolation"
REJECT_ISOLATION = "reject_isolation"
RELEASE_ISOLATION = "release_isolation"
CLOSE_ALERT = "close_alert"

ACTION_IDS: tuple[str, ...] = (
    ACK,
    ASSIGN,
    ENRICH,
    MARK_PATCHED,
    MARK_MONITORED,
    REQUEST_ISOLATION,
    APPROVE_ISOLATION,
    REJECT_ISOLATION,
    RELEASE_ISOLATION,
    CLOSE_ALERT,
)


def actions_block_id(alert_id: int) -> str:
    """Return the block_id of a parent's buttons; `assign` reads the alert id from it."""
    return f"alert:{alert_id}:actions"


def alert_parent(card: AlertCard, catalog: Catalog) -> SlackMessage:
    """Build an alert's parent message in the alert channel."""
    rule = code_label(catalog, "rule.", card.rule)
    threat = card.threat_name or catalog.t("alert.unknown_threat")
    title = catalog.t("alert.header", rule=rule, threat=plain_value(threat, MAX_HEADER_TEXT))
    blocks: list[Block] = [
        bk.header(title, block_id=f"alert:{card.alert_id}:header"),
        bk.context(
            [say(catalog, "alert.context", alert_id=card.alert_id, state=card.state)],
            block_id=f"alert:{card.alert_id}:context",
        ),
        *bk.field_sections(_main_fields(card, catalog), block_id=f"alert:{card.alert_id}:facts"),
    ]
    rule_fields = _rule_fields(card, catalog)
    if rule_fields:
        blocks += bk.field_sections(rule_fields, block_id=f"alert:{card.alert_id}:rule")
    if card.patched_note and card.state != "closed":
        note = say(catalog, "alert.patched_note", host=card.our_host or "-", cves=_cves(card))
        blocks.append(bk.section(f":information_source: {note}", block_id=_id(card, "patched")))
    blocks.append(bk.section(_state_text(card, catalog), block_id=_id(card, "state")))
    blocks.append(bk.actions(_buttons(card, catalog), block_id=actions_block_id(card.alert_id)))
    text = say(
        catalog,
        "alert.text",
        rule=card.rule,
        threat=threat,
        host=card.our_host or "-",
        direction=card.direction,
    )
    return fit_message(text, blocks)


def _id(card: AlertCard, part: str) -> str:
    return f"alert:{card.alert_id}:{part}"


def _cves(card: AlertCard) -> str:
    return ", ".join(card.cves) if card.cves else (card.threat_id or "-")


def _field(catalog: Catalog, key: str, text: str) -> str:
    return bk.labelled(catalog.t(key), text)


def _main_fields(card: AlertCard, catalog: Catalog) -> list[str]:
    dash = "-"
    threat = value(card.threat_name or catalog.t("alert.unknown_threat"), FIELD_VALUE_LIMIT)
    if card.threat_id:
        threat = Mrkdwn(f"{threat}\n{say(catalog, 'alert.threat_id', id=card.threat_id)}")
    host = value(card.our_host or dash, FIELD_VALUE_LIMIT)
    who = [*card.host_names, *card.host_users]
    if who:
        host = Mrkdwn(f"{host} ({value(', '.join(who), FIELD_VALUE_LIMIT)})")
    return [
        _field(catalog, "field.threat", threat),
        _field(catalog, "field.severity", value(card.severity or dash, FIELD_VALUE_LIMIT)),
        _field(catalog, "field.action", value(card.action or dash, FIELD_VALUE_LIMIT)),
        _field(catalog, "field.direction", catalog.t(f"direction.{card.direction}")),
        _field(catalog, "field.our_host", host),
        _field(catalog, "field.other_side", value(card.other_side or dash, FIELD_VALUE_LIMIT)),
        _field(catalog, "field.application", value(card.application or dash, FIELD_VALUE_LIMIT)),
        _field(catalog, "field.time", format_time(card.time)),
        _field(catalog, "field.firewall", value(card.firewall or dash, FIELD_VALUE_LIMIT)),
        _field(catalog, "field.count", _count_text(card, catalog)),
    ]


def _count_text(card: AlertCard, catalog: Catalog) -> str:
    if card.count == 1:
        return catalog.t("alert.count_one")
    if card.last_seen is not None:
        return say(catalog, "alert.count_many_last", count=card.count, last_at=card.last_seen)
    return say(catalog, "alert.count_many", count=card.count)


def _rule_fields(card: AlertCard, catalog: Catalog) -> list[str]:
    candidates: list[tuple[str, object]] = [
        ("field.cves", ", ".join(card.cves)),
        ("field.sender", card.sender),
        ("field.recipient", card.recipient),
        ("field.subject", card.subject),
        ("field.file_name", card.file_name),
        ("field.file_type", card.file_type),
        ("field.file_hash", card.file_hash),
        ("field.file_verdict", card.file_verdict),
        ("field.corr_object", card.corr_object),
        ("field.corr_summary", card.corr_summary),
        ("field.evidence_count", card.evidence_count),
    ]
    return [
        _field(catalog, key, value(raw, LONG_VALUE_LIMIT))
        for key, raw in candidates
        if raw is not None and raw != ""
    ]


def _state_text(card: AlertCard, catalog: Catalog) -> str:
    lines: list[str] = []
    host = card.our_host or "-"
    if card.acked_by is not None:
        key = "triage.acked_at" if card.acked_at is not None else "triage.acked"
        lines.append(f":eyes: {say(catalog, key, by=card.acked_by, at=card.acked_at or '')}")
    elif card.state == "open":
        lines.append(f":bell: {catalog.t('triage.unacked')}")
    if card.assignee is not None:
        lines.append(f":bust_in_silhouette: {say(catalog, 'triage.assignee', user=card.assignee)}")
    if card.host_patched_for:
        subjects = ", ".join(card.host_patched_for)
        lines.append(
            f":adhesive_bandage: {say(catalog, 'triage.patched', host=host, subjects=subjects)}"
        )
    if card.monitored_until is not None:
        until = card.monitored_until
        lines.append(f":mag: {say(catalog, 'triage.monitored', host=host, until=until)}")
    if card.isolation_state is not None:
        text = say(catalog, f"triage.isolation.{card.isolation_state}", host=host)
        lines.append(f":no_entry: {text}")
    if card.state == "closed":
        verdict = card.verdict or "unknown"
        by = card.closed_by or "panbot"
        key = "triage.closed_at" if card.closed_at is not None else "triage.closed"
        text = say(catalog, key, by=by, at=card.closed_at or "", verdict=verdict)
        lines.append(f":white_check_mark: {text}")
    return "\n".join(lines)


ACTIVE_ISOLATION = ("approved", "applied", "apply_failed")


def _buttons(card: AlertCard, catalog: Catalog) -> list[dict[str, Any]]:
    alert = str(card.alert_id)
    if card.state == "closed":
        closed = [bk.button(ENRICH, catalog.t("button.enrich"), alert)]
        # Closing an alert does not end an isolation: it must stay releasable from here.
        if card.isolation_state in ACTIVE_ISOLATION:
            closed.append(_release_button(alert, card.our_host or "-", catalog))
        return closed
    elements: list[dict[str, Any]] = []
    if card.state == "open" and card.acked_by is None:
        elements.append(bk.button(ACK, catalog.t("button.ack"), alert, style="primary"))
    initial = card.assignee if card.assignee and is_mentionable(card.assignee) else None
    if initial is not None and initial.startswith("S"):
        initial = None  # users_select takes a user, never a user group
    elements.append(bk.users_select(ASSIGN, catalog.t("button.assign"), initial_user=initial))
    elements.append(bk.button(ENRICH, catalog.t("button.enrich"), alert))
    elements.append(bk.button(MARK_PATCHED, catalog.t("button.mark_patched"), alert))
    elements.append(bk.button(MARK_MONITORED, catalog.t("button.mark_monitored"), alert))
    if card.isolation_state in (None, "rejected", "released"):
        elements.append(
            bk.button(
                REQUEST_ISOLATION, catalog.t("button.request_isolation"), alert, style="danger"
            )
        )
    elif card.isolation_state in ACTIVE_ISOLATION:
        elements.append(_release_button(alert, card.our_host or "-", catalog))
    elements.append(bk.button(CLOSE_ALERT, catalog.t("button.close_alert"), alert))
    return elements


def _release_button(alert: str, host: str, catalog: Catalog) -> dict[str, Any]:
    dialog = bk.confirm(
        catalog.t("confirm.release.title"),
        say(catalog, "confirm.release.text", host=host),
        catalog.t("confirm.yes"),
        catalog.t("confirm.no"),
    )
    return bk.button(
        RELEASE_ISOLATION, catalog.t("button.release_isolation"), alert, confirmation=dialog
    )
