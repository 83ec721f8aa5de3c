"""Triage state changes: each one a conditional UPDATE (or INSERT) that says whether it applied.

Two people pressing the same button, or one person pressing twice, race to the same
row; the `WHERE state = …` decides, and the loser learns it from the return value
(then reads who won, for an "already done by <@X>" answer). Nothing here commits:
the caller's session is one transaction with the audit row and the outbox rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from storage.alerts import ACKNOWLEDGED, CLOSED, OPEN
from storage.hosts import ISOLATION_ACTIVE
from storage.models import (
    AlertRow,
    AuditRow,
    HostPatch,
    HostRow,
    IsolationRequest,
    PollCursor,
    utcnow,
)
from storage.upsert import dialect_insert

# How many host names / users a host keeps (the newest win); logs can carry many.
MAX_NAMES = 20

REQUESTED = "requested"
APPROVED = "approved"
APPLIED = "applied"
APPLY_FAILED = "apply_failed"
REJECTED = "rejected"
RELEASED = "released"
RELEASABLE = (APPROVED, APPLIED, APPLY_FAILED)


# -- alerts ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    """An alert's triage state as committed, for deciding and for "already …" answers."""

    id: int
    state: str
    host: str | None
    rule: str
    threat_id: str | None
    facts: dict[str, Any]
    slack_channel: str | None
    slack_ts: str | None
    acked_by: str | None
    acked_at: datetime | None
    assignee: str | None
    closed_by: str | None
    closed_at: datetime | None
    created_at: datetime


def snapshot(session: Session, alert_id: int) -> AlertSnapshot | None:
    """Read an alert's current state straight from the database (never the identity map)."""
    row = session.execute(
        select(AlertRow).where(AlertRow.id == alert_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        return None
    return AlertSnapshot(
        id=row.id,
        state=row.state,
        host=row.host,
        rule=row.rule,
        threat_id=row.threat_id,
        facts=dict(row.facts or {}),
        slack_channel=row.slack_channel,
        slack_ts=row.slack_ts,
        acked_by=row.acked_by,
        acked_at=row.acked_at,
        assignee=row.assignee,
        closed_by=row.closed_by,
        closed_at=row.closed_at,
        created_at=row.created_at,
    )


def _applied(session: Session, statement: Any) -> bool:
    # RETURNING rather than rowcount: it is exact on every driver (see storage.outbox).
    return session.execute(statement).first() is not None


def acknowledge(session: Session, alert_id: int, user: str, at: datetime) -> bool:
    """Acknowledge an open alert; False when it is no longer open."""
    return _applied(
        session,
        update(AlertRow)
        .where(AlertRow.id == alert_id, AlertRow.state == OPEN)
        .values(state=ACKNOWLEDGED, acked_by=user, acked_at=at, updated_at=at)
        .returning(AlertRow.id)
        .execution_options(synchronize_session=False),
    )


def assign(session: Session, alert_id: int, assignee: str, at: datetime) -> bool:
    """Set the assignee of an alert not closed; False when closed or already that person."""
    return _applied(
        session,
        update(AlertRow)
        .where(
            AlertRow.id == alert_id,
            AlertRow.state != CLOSED,
            or_(AlertRow.assignee.is_(None), AlertRow.assignee != assignee),
        )
        .values(assignee=assignee, updated_at=at)
        .returning(AlertRow.id)
        .execution_options(synchronize_session=False),
    )


def close(session: Session, alert_id: int, user: str, verdict: str, at: datetime) -> bool:
    """Close an alert with a verdict; False when it is already closed."""
    return _applied(
        session,
        update(AlertRow)
        .where(AlertRow.id == alert_id, AlertRow.state != CLOSED)
        .values(state=CLOSED, verdict=verdict, closed_by=user, closed_at=at, updated_at=at)
        .returning(AlertRow.id)
        .execution_options(synchronize_session=False),
    )


def claim_reminder(
    session: Session, alert_id: int, previous: datetime | None, at: datetime
) -> bool:
    """Stamp a reminder as sent, only if nobody else did since `previous` and it is still open."""
    last = AlertRow.last_reminded_at
    return _applied(
        session,
        update(AlertRow)
        .where(
            AlertRow.id == alert_id,
            AlertRow.state == OPEN,
            last.is_(None) if previous is None else last == previous,
        )
        .values(last_reminded_at=at)
        .returning(AlertRow.id)
        .execution_options(synchronize_session=False),
    )


@dataclass(frozen=True, slots=True)
class ReminderDue:
    alert_id: int
    host: str | None
    created_at: datetime
    last_reminded_at: datetime | None


def reminders_due(
    session: Session, now: datetime, every: timedelta, limit: int = 50
) -> list[ReminderDue]:
    """Open, posted, unacknowledged alerts not reminded (or created) within `every`."""
    since = func.coalesce(AlertRow.last_reminded_at, AlertRow.created_at)
    rows = session.execute(
        select(AlertRow.id, AlertRow.host, AlertRow.created_at, AlertRow.last_reminded_at)
        .where(
            AlertRow.state == OPEN,
            AlertRow.acked_by.is_(None),
            AlertRow.slack_ts.is_not(None),
            since <= now - every,
        )
        .order_by(AlertRow.id)
        .limit(limit)
    )
    return [ReminderDue(r.id, r.host, r.created_at, r.last_reminded_at) for r in rows]


def active_alert_ids_for_host(session: Session, ip: str) -> list[int]:
    """Open or acknowledged alerts about a host (their parents show the host's state)."""
    return list(
        session.scalars(select(AlertRow.id).where(AlertRow.host == ip, AlertRow.state != CLOSED))
    )


# -- hosts -----------------------------------------------------------------------------


def _merged(old: Sequence[str], new: Iterable[str]) -> list[str]:
    merged = [*old]
    for item in new:
        if item and item not in merged:
            merged.append(item)
    return merged[-MAX_NAMES:]


def upsert_host(
    session: Session,
    ip: str,
    *,
    names: Iterable[str] = (),
    users: Iterable[str] = (),
    at: datetime | None = None,
) -> None:
    """Make sure the host has a row, adding names and users seen; locks the row till commit.

    The write (even when nothing new is seen) is deliberate: it serialises
    check-then-insert sequences on one host (isolation requests) on both backends.
    """
    session.execute(
        dialect_insert(session, HostRow)
        .values(ip=ip, names={"hosts": [], "users": []})
        .on_conflict_do_nothing(index_elements=["ip"])
    )
    row = session.execute(
        select(HostRow)
        .where(HostRow.ip == ip)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    current = dict(row.names or {})
    merged = {
        "hosts": _merged(current.get("hosts", []), names),
        "users": _merged(current.get("users", []), users),
    }
    values: dict[str, Any] = {"names": merged}
    if at is not None:
        values["updated_at"] = at
    session.execute(
        update(HostRow)
        .where(HostRow.ip == ip)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def upsert_hosts(
    session: Session, seen: Sequence[tuple[str, Iterable[str], Iterable[str]]]
) -> None:
    """`upsert_host` for many hosts at once, (ip, names, users) each: three statements.

    Rows are locked in address order, so two batches cannot deadlock on each other.
    """
    wanted: dict[str, tuple[list[str], list[str]]] = {}
    for ip, names, users in seen:
        host_names, host_users = wanted.setdefault(ip, ([], []))
        host_names.extend(names)
        host_users.extend(users)
    if not wanted:
        return
    ips = sorted(wanted)
    table = cast(Table, HostRow.__table__)
    session.execute(
        dialect_insert(session, table).on_conflict_do_nothing(index_elements=["ip"]),
        [{"ip": ip, "names": {"hosts": [], "users": []}, "updated_at": utcnow()} for ip in ips],
    )
    rows = session.execute(
        select(HostRow.ip, HostRow.names)
        .where(HostRow.ip.in_(ips))
        .order_by(HostRow.ip)
        .with_for_update()
    )
    current: dict[str, dict[str, Any]] = {ip: names or {} for ip, names in rows}
    session.execute(
        update(table).where(table.c.ip == bindparam("h_ip")).values(names=bindparam("h_names")),
        [
            {
                "h_ip": ip,
                "h_names": {
                    "hosts": _merged(current[ip].get("hosts", []), wanted[ip][0]),
                    "users": _merged(current[ip].get("users", []), wanted[ip][1]),
                },
            }
            for ip in ips
        ],
    )


def add_patch(
    session: Session, ip: str, subject: str, *, by: str, alert_id: int | None, at: datetime
) -> bool:
    """Record the host as patched for one CVE or signature; False when it already was."""
    return _applied(
        session,
        dialect_insert(session, HostPatch)
        .values(ip=ip, subject=subject, by=by, at=at, alert_id=alert_id)
        .on_conflict_do_nothing(index_elements=["ip", "subject"])
        .returning(HostPatch.id),
    )


def patched_by(session: Session, ip: str, subjects: Sequence[str]) -> tuple[str, datetime] | None:
    """Who recorded the host as patched for the first of these subjects, and when."""
    row = session.execute(
        select(HostPatch.by, HostPatch.at)
        .where(HostPatch.ip == ip, HostPatch.subject.in_(subjects))
        .order_by(HostPatch.id)
        .limit(1)
    ).first()
    return (row.by, row.at) if row else None


def last_actor(session: Session, ip: str, action: str) -> tuple[str, datetime] | None:
    """Who last did `action` to the host, and when (from the audit trail)."""
    row = session.execute(
        select(AuditRow.actor, AuditRow.at)
        .where(AuditRow.host == ip, AuditRow.action == action)
        .order_by(AuditRow.id.desc())
        .limit(1)
    ).first()
    return (row.actor, row.at) if row else None


def start_watch(session: Session, ip: str, alert_id: int, until: datetime, now: datetime) -> bool:
    """Watch a host until `until` for this alert; False while a watch is still running."""
    return _applied(
        session,
        update(HostRow)
        .where(
            HostRow.ip == ip,
            or_(HostRow.monitored_until.is_(None), HostRow.monitored_until <= now),
        )
        .values(monitored_until=until, monitored_alert_id=alert_id, updated_at=now)
        .returning(HostRow.ip)
        .execution_options(synchronize_session=False),
    )


@dataclass(frozen=True, slots=True)
class Watch:
    ip: str
    alert_id: int
    until: datetime
    since: datetime | None  # when the watch was started (from the audit trail)


def _watch_started(session: Session, ip: str, alert_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(AuditRow.at)).where(
            AuditRow.host == ip,
            AuditRow.alert_id == alert_id,
            AuditRow.action == "mark_monitored",
        )
    )


def watches(session: Session, now: datetime, *, running: bool = True) -> list[Watch]:
    """Running watches (until > now), or with `running=False` those ended but not yet closed."""
    until = HostRow.monitored_until
    rows = session.execute(
        select(HostRow.ip, HostRow.monitored_alert_id, until)
        .where(
            HostRow.monitored_alert_id.is_not(None),
            until.is_not(None),
            until > now if running else until <= now,
        )
        .order_by(until)
    ).all()
    return [
        Watch(
            r.ip,
            r.monitored_alert_id,
            r.monitored_until,
            _watch_started(session, r.ip, r.monitored_alert_id),
        )
        for r in rows
    ]


def end_watch(session: Session, ip: str, alert_id: int, now: datetime) -> bool:
    """Close a watch that has run out (kept as history in monitored_until); False if done."""
    return _applied(
        session,
        update(HostRow)
        .where(
            HostRow.ip == ip,
            HostRow.monitored_alert_id == alert_id,
            HostRow.monitored_until <= now,
        )
        .values(monitored_alert_id=None, updated_at=now)
        .returning(HostRow.ip)
        .execution_options(synchronize_session=False),
    )


def set_isolated(session: Session, ip: str, since: datetime | None, until: datetime | None) -> None:
    """Record the host as isolated (since/until) or, with `since=None`, as not isolated."""
    session.execute(
        update(HostRow)
        .where(HostRow.ip == ip)
        .values(isolated_since=since, isolated_until=until)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True, slots=True)
class Isolated:
    ip: str
    since: datetime
    until: datetime | None
    alert_id: int | None


def isolated_hosts(session: Session) -> list[Isolated]:
    """Hosts recorded as isolated now, with the alert of their newest isolation request."""
    rows = session.execute(
        select(HostRow.ip, HostRow.isolated_since, HostRow.isolated_until)
        .where(HostRow.isolated_since.is_not(None))
        .order_by(HostRow.isolated_since)
    ).all()
    found: list[Isolated] = []
    for row in rows:
        alert_id = session.scalar(
            select(IsolationRequest.alert_id)
            .where(IsolationRequest.ip == row.ip)
            .order_by(IsolationRequest.id.desc())
            .limit(1)
        )
        found.append(Isolated(row.ip, row.isolated_since, row.isolated_until, alert_id))
    return found


# -- isolation requests ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Isolation:
    """An isolation request as committed."""

    id: int
    alert_id: int
    ip: str
    state: str
    reason: str
    duration_hours: int | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    applied_at: datetime | None
    released_by: str | None
    released_at: datetime | None
    last_error: str | None


def _isolation(row: IsolationRequest) -> Isolation:
    return Isolation(
        id=row.id,
        alert_id=row.alert_id,
        ip=row.ip,
        state=row.state,
        reason=row.reason,
        duration_hours=row.duration_hours,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        applied_at=row.applied_at,
        released_by=row.released_by,
        released_at=row.released_at,
        last_error=row.last_error,
    )


def _select_isolation() -> Any:
    return select(IsolationRequest).execution_options(populate_existing=True)


def isolation(session: Session, request_id: int) -> Isolation | None:
    row = session.execute(
        _select_isolation().where(IsolationRequest.id == request_id)
    ).scalar_one_or_none()
    return _isolation(row) if row else None


def active_isolation(
    session: Session, *, ip: str | None = None, alert_id: int | None = None
) -> Isolation | None:
    """The newest request still in play (requested, approved, applied, failed) for a host/alert."""
    query = _select_isolation().where(IsolationRequest.state.in_(ISOLATION_ACTIVE))
    if ip is not None:
        query = query.where(IsolationRequest.ip == ip)
    if alert_id is not None:
        query = query.where(IsolationRequest.alert_id == alert_id)
    row = session.execute(query.order_by(IsolationRequest.id.desc()).limit(1)).scalar_one_or_none()
    return _isolation(row) if row else None


def open_isolation_request(
    session: Session,
    *,
    alert_id: int,
    ip: str,
    reason: str,
    duration_hours: int | None,
    by: str,
    at: datetime,
) -> int | None:
    """Insert a request unless the host already has one in play; return its id, or None."""
    upsert_host(session, ip, at=at)  # locks the host row: two requests cannot both pass
    if active_isolation(session, ip=ip) is not None:
        return None
    row = IsolationRequest(
        alert_id=alert_id,
        ip=ip,
        state=REQUESTED,
        reason=reason,
        duration_hours=duration_hours,
        requested_by=by,
        requested_at=at,
    )
    session.add(row)
    session.flush()
    return row.id


def latest_isolation(session: Session, alert_id: int) -> Isolation | None:
    """The alert's newest isolation request, whatever its state."""
    row = session.execute(
        _select_isolation()
        .where(IsolationRequest.alert_id == alert_id)
        .order_by(IsolationRequest.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return _isolation(row) if row else None


def move_isolation(
    session: Session, request_id: int, from_states: Sequence[str], to_state: str, **values: Any
) -> bool:
    """Move a request from one of `from_states` to `to_state`; False when it was not in them."""
    return _applied(
        session,
        update(IsolationRequest)
        .where(IsolationRequest.id == request_id, IsolationRequest.state.in_(from_states))
        .values(state=to_state, **values)
        .returning(IsolationRequest.id)
        .execution_options(synchronize_session=False),
    )


def isolations_in(session: Session, state: str, limit: int = 50) -> list[Isolation]:
    """Requests in one state, oldest first (e.g. approved ones waiting for the firewall)."""
    rows = session.execute(
        _select_isolation()
        .where(IsolationRequest.state == state)
        .order_by(IsolationRequest.id)
        .limit(limit)
    ).scalars()
    return [_isolation(r) for r in rows]


# -- digest ----------------------------------------------------------------------------


def counts_between(
    session: Session, start: datetime, end: datetime
) -> tuple[dict[str, int], dict[str, int]]:
    """Alerts opened per rule and closed per verdict within [start, end)."""
    opened = session.execute(
        select(AlertRow.rule, func.count())
        .where(AlertRow.first_seen >= start, AlertRow.first_seen < end)
        .group_by(AlertRow.rule)
        .order_by(AlertRow.rule)
    )
    closed = session.execute(
        select(AlertRow.verdict, func.count())
        .where(AlertRow.closed_at >= start, AlertRow.closed_at < end)
        .group_by(AlertRow.verdict)
    )
    by_verdict: dict[str, int] = {}
    for verdict, n in closed:
        key = verdict or "unknown"
        by_verdict[key] = by_verdict.get(key, 0) + int(n)
    return {r: int(n) for r, n in opened}, by_verdict


def oldest_open(session: Session, limit: int = 10) -> list[AlertRow]:
    """Alerts not closed, oldest first."""
    return list(
        session.scalars(
            select(AlertRow)
            .where(AlertRow.state != CLOSED)
            .order_by(AlertRow.first_seen, AlertRow.id)
            .limit(limit)
        )
    )


def claim_day(session: Session, name: str, scope: str, day_start: datetime) -> datetime | None:
    """Claim a once-a-day job for the day starting at `day_start`.

    Returns the previous claim's time (the epoch-ish `day_start` itself on the very
    first claim) when this caller won, None when the day was already claimed. Stored
    as a cursor row (`rule=name`, `firewall=scope`), the one table with a watermark.
    """
    inserted = _applied(
        session,
        dialect_insert(session, PollCursor)
        .values(rule=name, firewall=scope, watermark=day_start)
        .on_conflict_do_nothing(index_elements=["rule", "firewall"])
        .returning(PollCursor.rule),
    )
    if inserted:
        return day_start
    previous = session.scalar(
        select(PollCursor.watermark).where(PollCursor.rule == name, PollCursor.firewall == scope)
    )
    if previous is None or previous >= day_start:
        return None
    won = _applied(
        session,
        update(PollCursor)
        .where(
            PollCursor.rule == name,
            PollCursor.firewall == scope,
            PollCursor.watermark == previous,
        )
        .values(watermark=day_start)
        .returning(PollCursor.rule)
        .execution_options(synchronize_session=False),
    )
    return previous if won else None


def unclaim_day(
    session: Session, name: str, scope: str, day_start: datetime, previous: datetime
) -> None:
    """Give a day's claim back (the job failed), so a later run tries again."""
    if previous == day_start:
        session.execute(
            delete(PollCursor).where(
                PollCursor.rule == name,
                PollCursor.firewall == scope,
                PollCursor.watermark == day_start,
            )
        )
        return
    session.execute(
        update(PollCursor)
        .where(
            PollCursor.rule == name,
            PollCursor.firewall == scope,
            PollCursor.watermark == day_start,
        )
        .values(watermark=previous)
        .execution_options(synchronize_session=False)
    )
