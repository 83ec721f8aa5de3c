"""Turn stored alerts and outbox payloads into the views' plain data, then into messages.

The outbox stores *what* to say (an alert id, a catalog key, a finding, an isolation
request); this module renders it when it is sent, so a parent always shows the alert's
latest state and an isolation prompt its request's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from bot.i18n import Catalog
from bot.views.alert import alert_parent
from bot.views.finding import finding_reply
from bot.views.model import AlertCard, Direction, IsolationState, SlackMessage, Verdict
from bot.views.thread import (
    IsolationOutcome,
    isolation_approval_prompt,
    isolation_retry,
    thread_note,
)
from investigations.finding import Finding, Message
from storage import Database, hosts, triage
from storage.models import AlertRow
from storage.triage import Isolation

# Outbox reply payload types.
NOTE = "note"
FINDING = "finding"
RAW = "message"  # a message rendered when queued (approval prompts queued by older releases)
ISOLATION_PROMPT = "isolation_prompt"
ISOLATION_RETRY = "isolation_retry"


def note_payload(key: str, **params: str | int | float) -> dict[str, Any]:
    """An outbox payload for a short line in the thread."""
    return {"type": NOTE, "key": key, "params": params}


def finding_payload(finding: Finding) -> dict[str, Any]:
    """An outbox payload for an investigation's result."""
    return {"type": FINDING, "finding": finding.model_dump(mode="json")}


def isolation_prompt_payload(
    request_id: int,
    *,
    ip: str,
    requester: str,
    reason: str,
    hours: int | None,
    approvers: Sequence[str],
) -> dict[str, Any]:
    """An outbox payload for an isolation request's approval prompt, drawn at send time.

    The request as asked travels with it, so the prompt can be drawn even without the row.
    """
    return {
        "type": ISOLATION_PROMPT,
        "request": request_id,
        "ip": ip,
        "requester": requester,
        "reason": reason,
        "hours": hours,
        "approvers": list(approvers),
    }


def isolation_retry_payload(request_id: int, reason: str) -> dict[str, Any]:
    """An outbox payload for a failed firewall tag's retry offer, drawn at send time."""
    return {"type": ISOLATION_RETRY, "request": request_id, "reason": reason}


def isolation_outcome(request: Isolation) -> IsolationOutcome:
    """What an isolation prompt shows of a stored request."""
    return IsolationOutcome(
        state=cast(IsolationState, request.state),
        decided_by=request.decided_by,
        decided_at=request.decided_at,
        applied_at=request.applied_at,
        released_by=request.released_by,
        released_at=request.released_at,
        last_error=request.last_error,
    )


def _time(value: object) -> datetime | None:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        # Events are stored in UTC; a value without an offset is UTC, never local time.
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def alert_card(alert: AlertRow, host_state: hosts.HostState | None = None) -> AlertCard:
    """The parent message's data for one stored alert."""
    facts = alert.facts
    ours_is_src = alert.host is not None and alert.host == facts.get("src")
    user = facts.get("srcuser") if ours_is_src else facts.get("dstuser")
    name = facts.get("src_host") if ours_is_src else facts.get("dst_host")
    time = _time(facts.get("time_generated")) or alert.first_seen
    isolation = host_state.isolation_state if host_state else None
    patched = host_state.patched_for if host_state else ()
    cves = tuple(facts.get("cves") or ())
    evidence_count = facts.get("evidence_count")
    return AlertCard(
        alert_id=alert.id,
        rule=alert.rule,
        time=time,
        state=cast("Any", alert.state),
        threat_name=alert.threat_name,
        threat_id=alert.threat_id,
        severity=alert.severity,
        action=facts.get("action"),
        our_host=alert.host,
        other_side=alert.other,
        direction=cast(Direction, facts.get("direction_words") or "unknown"),
        application=facts.get("app"),
        firewall=alert.firewall,
        count=max(1, alert.count),
        first_seen=alert.first_seen,
        last_seen=alert.last_seen,
        host_names=(name,) if name else (),
        host_users=(user,) if user else (),
        cves=cves,
        sender=facts.get("sender"),
        subject=facts.get("subject"),
        recipient=facts.get("recipient"),
        file_name=facts.get("file_name")
        or (facts.get("misc") if alert.rule in ("antivirus", "wildfire") else None),
        file_type=facts.get("filetype"),
        file_hash=facts.get("file_digest"),
        file_verdict=facts.get("verdict"),
        corr_object=facts.get("object_name"),
        corr_summary=facts.get("evidence"),
        evidence_count=int(evidence_count) if isinstance(evidence_count, int) else None,
        acked_by=alert.acked_by,
        acked_at=alert.acked_at,
        assignee=alert.assignee,
        host_patched_for=patched,
        monitored_until=host_state.monitored_until if host_state else None,
        isolation_state=cast("IsolationState | None", isolation),
        verdict=cast("Verdict | None", alert.verdict),
        closed_by=alert.closed_by,
        closed_at=alert.closed_at,
        patched_note=bool(cves) and all(c in patched for c in cves),
    )


class AlertRenderer:
    """The notifier's renderer: reads host state, builds the views."""

    def __init__(self, catalog: Catalog, db: Database) -> None:
        self._catalog = catalog
        self._db = db

    def card(self, alert: AlertRow) -> AlertCard:
        state = None
        if alert.host:
            with self._db.session() as session:
                state = hosts.state(session, alert.host, alert.id)
        return alert_card(alert, state)

    def parent(self, alert: AlertRow) -> SlackMessage:
        return alert_parent(self.card(alert), self._catalog)

    def reply(self, alert: AlertRow, payload: dict[str, Any]) -> SlackMessage:
        kind = payload.get("type")
        if kind in (ISOLATION_PROMPT, ISOLATION_RETRY):
            return self._isolation(alert, payload)
        if kind == FINDING:
            finding = Finding.model_validate(payload["finding"])
            return finding_reply(finding, self._catalog, alert.id)
        if kind == RAW:
            return SlackMessage(text=str(payload["text"]), blocks=list(payload["blocks"]))
        message = Message(key=str(payload["key"]), params=dict(payload.get("params") or {}))
        return thread_note(message, self._catalog)

    def _isolation(self, alert: AlertRow, payload: dict[str, Any]) -> SlackMessage:
        """Draw an isolation prompt or retry offer from its request's state now."""
        request_id = int(payload["request"])
        with self._db.session() as session:
            request = triage.isolation(session, request_id)
        if payload["type"] == ISOLATION_RETRY:
            settled = request is not None and request.state != triage.APPLY_FAILED
            reason = str(payload.get("reason") or "")
            return isolation_retry(alert.id, request_id, reason, self._catalog, settled=settled)
        hours = payload.get("hours")
        return isolation_approval_prompt(
            alert.id,
            request_id,
            str(payload["requester"]),
            str(payload["reason"]),
            int(hours) if hours else None,
            [str(a) for a in payload.get("approvers") or ()],
            self._catalog,
            ip=str(payload.get("ip") or alert.host or "-"),
            outcome=isolation_outcome(request) if request is not None else None,
        )
