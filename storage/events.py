"""Firewall events: stored once per (serial, log type, seqno), whatever re-reads them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from storage.models import EventRow, UtcDateTime, utcnow
from storage.upsert import dialect_insert

# PostgreSQL takes events as JSON documents of PG_INSERT_CHUNK each: one short statement
# per chunk, and no client-side work per value. (A multi-row VALUES of 5,000 rows cost
# ~1 s of placeholder handling in SQLAlchemy and psycopg; text arrays, as long again in
# psycopg's escaping of the JSON column; an executemany UPDATE of 5,000 rows ~0.4 s.)
PG_INSERT_CHUNK = 1000

_PG_INSERT = text(
    """
    INSERT INTO events (serial, log_type, seqno, rule, receive_time, src, dst, data, stored_at)
    SELECT r.serial, r.log_type, r.seqno, r.rule, r.receive_time, r.src, r.dst, r.data,
           :stored_at
    FROM json_to_recordset(CAST(:rows AS json)) AS r(
        serial text, log_type text, seqno bigint, rule text, receive_time timestamptz,
        src text, dst text, data json
    )
    ON CONFLICT (serial, log_type, seqno) DO NOTHING
    RETURNING id, serial, log_type, seqno
    """
).bindparams(bindparam("stored_at", type_=UtcDateTime()))
_PG_ATTACH = text(
    """
    UPDATE events SET alert_id = a.alert_id
    FROM json_to_recordset(CAST(:pairs AS json)) AS a(id bigint, alert_id integer)
    WHERE events.id = a.id
    """
)


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to store: its identity, a few indexed columns, and every field as JSON."""

    serial: str
    log_type: str
    seqno: int
    rule: str
    receive_time: datetime
    src: str | None
    dst: str | None
    data: dict[str, Any]


def insert_new(session: Session, events: Sequence[NewEvent]) -> dict[tuple[str, str, int], int]:
    """Insert the events not stored yet; return {key: row id} for those actually inserted.

    Repeats (a crash re-read, an overlapping poll) hit the unique key and are dropped
    by the database itself, so two pollers could never double an event either.
    """
    if not events:
        return {}
    unique: dict[tuple[str, str, int], NewEvent] = {}
    for event in events:
        unique.setdefault((event.serial, event.log_type, event.seqno), event)
    for event in unique.values():
        if event.receive_time.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
    if session.get_bind().dialect.name == "postgresql":
        # One JSON document per chunk rather than per page: a 5,000-event page as one
        # document is ~15 MB of text held at once; chunks keep the peak a fifth of that
        # for a few more round trips (docs/performance.md, memory).
        stored_at = utcnow()
        found: dict[tuple[str, str, int], int] = {}
        pending = list(unique.values())
        for start in range(0, len(pending), PG_INSERT_CHUNK):
            document = json.dumps(
                [
                    {
                        "serial": e.serial,
                        "log_type": e.log_type,
                        "seqno": e.seqno,
                        "rule": e.rule,
                        "receive_time": e.receive_time.isoformat(),
                        "src": e.src,
                        "dst": e.dst,
                        "data": e.data,
                    }
                    for e in pending[start : start + PG_INSERT_CHUNK]
                ]
            )
            rows = session.execute(_PG_INSERT, {"rows": document, "stored_at": stored_at})
            for row_id, serial, log_type, seqno in rows:
                found[(serial, log_type, seqno)] = row_id
        return found
    # Elsewhere, one statement executed with many parameter sets: SQLAlchemy sends it as
    # multi-row VALUES batches from a cached template ("insertmanyvalues").
    table = cast(Table, EventRow.__table__)
    statement = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["serial", "log_type", "seqno"])
        .returning(table.c.id, table.c.serial, table.c.log_type, table.c.seqno)
    )
    stored_at = utcnow()
    params = [
        {
            "serial": e.serial,
            "log_type": e.log_type,
            "seqno": e.seqno,
            "rule": e.rule,
            "receive_time": e.receive_time,
            "src": e.src,
            "dst": e.dst,
            "data": e.data,
            "alert_id": None,
            "stored_at": stored_at,
        }
        for e in unique.values()
    ]
    inserted: dict[tuple[str, str, int], int] = {}
    for row_id, serial, log_type, seqno in session.execute(statement, params):
        inserted[(serial, log_type, seqno)] = row_id
    return inserted


def attach(session: Session, assignments: Sequence[tuple[int, int]]) -> None:
    """Record which alert each event belongs to, from (event id, alert id) pairs, at once."""
    if not assignments:
        return
    if session.get_bind().dialect.name == "postgresql":
        pairs = [{"id": event_id, "alert_id": alert_id} for event_id, alert_id in assignments]
        session.execute(_PG_ATTACH, {"pairs": json.dumps(pairs)})
        return
    table = cast(Table, EventRow.__table__)
    session.execute(
        update(table)
        .where(table.c.id == bindparam("event_id"))
        .values(alert_id=bindparam("alert_id")),
        [{"event_id": event_id, "alert_id": alert_id} for event_id, alert_id in assignments],
    )


def for_alert(session: Session, alert_id: int, limit: int = 100) -> list[EventRow]:
    """The alert's events, oldest first."""
    return list(
        session.scalars(
            select(EventRow)
            .where(EventRow.alert_id == alert_id)
            .order_by(EventRow.receive_time, EventRow.id)
            .limit(limit)
        )
    )


def count(session: Session) -> int:
    """How many events are stored."""
    from sqlalchemy import func

    return int(session.scalar(select(func.count()).select_from(EventRow)) or 0)
