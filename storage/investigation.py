"""The automatic investigation's bookkeeping on alerts: claims, CVEs found, WildFire re-checks.

An alert is claimed by stamping `investigated_at` with one conditional UPDATE, so two
workers never both take it. A claim whose finding never reached the outbox (the
process died in between) is taken again once it is `stale_after` old; the finding's
outbox dedupe key keeps a slow first attempt and its retry from both posting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, exists, literal, or_, select, update
from sqlalchemy.orm import Session

from storage.alerts import ACTIVE_STATES
from storage.models import AlertRow, OutboxRow

CVES = "cves"
RECHECK = "recheck"


def auto_finding_key(alert_id: int) -> str:
    """The outbox dedupe key of an alert's automatic finding."""
    return f"finding:{alert_id}:auto"


def claim(session: Session, now: datetime, *, limit: int = 5, stale_after: timedelta) -> list[int]:
    """Claim up to `limit` active alerts that still need their automatic investigation."""
    cutoff = now - stale_after
    finding_key = literal("finding:") + cast(AlertRow.id, String) + literal(":auto")
    needs = or_(
        AlertRow.investigated_at.is_(None),
        and_(
            AlertRow.investigated_at < cutoff,
            ~exists().where(OutboxRow.dedupe_key == finding_key),
        ),
    )
    candidates = session.scalars(
        select(AlertRow.id)
        .where(AlertRow.state.in_(ACTIVE_STATES), needs)
        .order_by(AlertRow.id)
        .limit(limit)
    ).all()
    claimed: list[int] = []
    for alert_id in candidates:
        taken = session.execute(
            update(AlertRow)
            .where(
                AlertRow.id == alert_id,
                or_(AlertRow.investigated_at.is_(None), AlertRow.investigated_at < cutoff),
            )
            .values(investigated_at=now)
            .returning(AlertRow.id)
        ).first()
        if taken is not None:
            claimed.append(alert_id)
    return claimed


def _locked(session: Session, alert_id: int) -> AlertRow | None:
    # FOR UPDATE on PostgreSQL (SQLite has one writer anyway): facts is rewritten whole.
    return session.scalars(
        select(AlertRow).where(AlertRow.id == alert_id).with_for_update()
    ).first()


def _write_facts(row: AlertRow, facts: dict[str, Any]) -> None:
    # A new dict, so the JSON column is seen as changed.
    row.facts = facts


def add_cves(session: Session, alert_id: int, cves: Sequence[str]) -> bool:
    """Merge CVE ids into the alert's facts; return True when the list grew."""
    row = _locked(session, alert_id)
    if row is None or not cves:
        return False
    known = [str(c) for c in row.facts.get(CVES) or []]
    merged = list(dict.fromkeys([*known, *cves]))
    if merged == known:
        return False
    _write_facts(row, {**row.facts, CVES: merged})
    return True


def set_recheck(session: Session, alert_id: int, next_at: datetime, attempts: int) -> None:
    """Remember that the alert's finding is pending: look again at `next_at`."""
    row = _locked(session, alert_id)
    if row is not None:
        recheck = {"next_at": next_at.isoformat(), "attempts": attempts}
        _write_facts(row, {**row.facts, RECHECK: recheck})


def clear_recheck(session: Session, alert_id: int) -> None:
    """Forget a pending re-check (done, given up, or the alert closed)."""
    row = _locked(session, alert_id)
    if row is not None and RECHECK in row.facts:
        _write_facts(row, {k: v for k, v in row.facts.items() if k != RECHECK})


def due_rechecks(
    session: Session, rules: Sequence[str], now: datetime, limit: int = 5
) -> list[tuple[int, int, str]]:
    """Return (alert id, attempts so far, when it was due) of alerts whose re-check is due.

    The due time names the re-check: two workers on the same one share it, so a
    dedupe key made from it posts the result once.
    """
    rows = session.execute(
        select(AlertRow.id, AlertRow.facts)
        .where(
            AlertRow.rule.in_(list(rules)),
            AlertRow.state.in_(ACTIVE_STATES),
            AlertRow.investigated_at.is_not(None),
        )
        .order_by(AlertRow.id)
    )
    due: list[tuple[int, int, str]] = []
    for alert_id, facts in rows:
        recheck = facts.get(RECHECK) if isinstance(facts, dict) else None
        if not isinstance(recheck, dict):
            continue
        token = str(recheck.get("next_at"))
        try:
            next_at = datetime.fromisoformat(token)
        except ValueError:
            next_at = now
        if next_at <= now:
            due.append((int(alert_id), int(recheck.get("attempts") or 0), token))
        if len(due) >= limit:
            break
    return due
