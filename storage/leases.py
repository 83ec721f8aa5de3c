"""Leases: exactly one replica holds a named job (polling, draining) at a time.

A row per lease with an expiry, taken or renewed with one conditional upsert; it works
on SQLite and PostgreSQL, and survives connection pooling and PgBouncer, unlike a
session-level advisory lock (FACTS.md). A holder that dies is replaced once its lease
expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from storage.models import Lease
from storage.upsert import dialect_insert


def acquire(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; True when `holder` holds it until now + ttl."""
    insert = dialect_insert(session, Lease).values(name=name, holder=holder, expires_at=now + ttl)
    statement = insert.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": holder, "expires_at": now + ttl},
        where=or_(Lease.holder == holder, Lease.expires_at < now),
    ).returning(Lease.name)
    return session.execute(statement).first() is not None


def release(session: Session, name: str, holder: str) -> None:
    """Give the lease up at once (clean shutdown), so another replica need not wait."""
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


def holder_of(session: Session, name: str, now: datetime) -> str | None:
    """Who holds the lease now, if anyone."""
    lease = session.get(Lease, name)
    if lease is None or lease.expires_at < now:
        return None
    return lease.holder
