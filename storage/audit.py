"""The audit trail: append-only. There is deliberately no update or delete here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditRow, utcnow


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    alert_id: int | None = None,
    host: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one entry: who did what, when, to which alert or host."""
    session.add(
        AuditRow(
            at=at or utcnow(),
            actor=actor,
            action=action,
            alert_id=alert_id,
            host=host,
            detail=detail or {},
        )
    )


def for_host(session: Session, host: str, limit: int = 50) -> list[AuditRow]:
    """The host's history, newest first."""
    return list(
        session.scalars(
            select(AuditRow)
            .where(AuditRow.host == host)
            .order_by(AuditRow.at.desc(), AuditRow.id.desc())
            .limit(limit)
        )
    )


def for_alert(session: Session, alert_id: int) -> list[AuditRow]:
    """The alert's history, oldest first."""
    return list(
        session.scalars(select(AuditRow).where(AuditRow.alert_id == alert_id).order_by(AuditRow.id))
    )
