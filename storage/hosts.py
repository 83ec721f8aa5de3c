"""Our hosts: names and users seen, patched-for list, watch and isolation state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import HostPatch, HostRow, IsolationRequest

ISOLATION_ACTIVE = ("requested", "approved", "applied", "apply_failed")


@dataclass(frozen=True, slots=True)
class HostState:
    """What an alert's parent shows of its host."""

    ip: str
    patched_for: tuple[str, ...]
    monitored_until: datetime | None
    isolated_since: datetime | None
    isolated_until: datetime | None
    isolation_state: str | None  # of the newest request for this alert, else the host's


def state(session: Session, ip: str, alert_id: int | None = None) -> HostState:
    """The host's state, and the newest isolation request (for `alert_id` when given)."""
    row = session.get(HostRow, ip)
    patched = tuple(
        session.scalars(select(HostPatch.subject).where(HostPatch.ip == ip).order_by(HostPatch.id))
    )
    query = select(IsolationRequest.state).where(IsolationRequest.ip == ip)
    if alert_id is not None:
        query = query.where(IsolationRequest.alert_id == alert_id)
    isolation = session.scalars(query.order_by(IsolationRequest.id.desc()).limit(1)).first()
    return HostState(
        ip=ip,
        patched_for=patched,
        monitored_until=row.monitored_until if row else None,
        isolated_since=row.isolated_since if row else None,
        isolated_until=row.isolated_until if row else None,
        isolation_state=isolation,
    )


@dataclass(frozen=True, slots=True)
class HostNames:
    hosts: tuple[str, ...]
    users: tuple[str, ...]


def names(session: Session, ip: str) -> HostNames:
    """Host names and users seen for the host in its logs."""
    row = session.get(HostRow, ip)
    data = row.names if row else {}
    return HostNames(tuple(data.get("hosts", ())), tuple(data.get("users", ())))
