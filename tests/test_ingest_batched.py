"""Ingest queues a page's outbox rows in a constant number of statements, in group order."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from bot.ingest import ingest_page
from investigations.network import Network
from investigations.panos.events import Event, LogType
from investigations.rules import DEFAULT_RULES
from storage import Database
from storage.models import OutboxRow

T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
NETWORKS: list[Network] = [ipaddress.ip_network("192.168.0.0/16")]
RULE = DEFAULT_RULES[0]


def _event(seqno: int, host: int, at: datetime) -> Event:
    return Event(
        log_type=LogType.THREAT,
        serial="007954000123456",
        seqno=seqno,
        receive_time=at,
        src=f"192.168.0.{host}",
        dst="203.0.113.80",
        direction="server-to-client",
        threat_id="37322",
        severity="critical",
        srcuser=f"corp\\user{host}",
    )


@contextmanager
def _outbox_statements(database: Database) -> Iterator[list[str]]:
    """The SQL statements touching the outbox table, as sent to the database."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2])
        if "outbox" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def _ingest(database: Database, page: list[Event]) -> tuple[list[int], list[int]]:
    with database.session() as s:
        result = ingest_page(
            s, rule=RULE, firewall="fw", page=page, networks=NETWORKS, channel="C0"
        )
    return result.alerts_opened, result.alerts_joined


def test_outbox_rows_in_group_order_with_few_statements(database: Database) -> None:
    hosts = 120
    first = [_event(i, i % hosts + 1, T0 + timedelta(seconds=i)) for i in range(2 * hosts)]
    with _outbox_statements(database) as statements:
        opened, joined = _ingest(database, first)
    assert (len(opened), joined) == (hosts, [])
    assert len(statements) == 1  # one INSERT for 120 parents, no update check

    # Later logs: hosts 61..120 join, new hosts 121..150 open, the first 60 groups interleaved.
    order: list[int] = []
    for k in range(60):
        order += [61 + k, 121 + k] if k < 30 else [61 + k]
    later = [
        _event(1000 + i, host, T0 + timedelta(minutes=10, seconds=i))
        for i, host in enumerate(order)
    ]
    with _outbox_statements(database) as statements:
        opened_2, joined_2 = _ingest(database, later)
    assert (len(opened_2), len(joined_2)) == (30, 60)
    assert len(statements) == 2  # the pending-update check, then one INSERT

    with database.session() as s:
        rows = [(r.kind, r.alert_id) for r in s.scalars(select(OutboxRow).order_by(OutboxRow.id))]
    expected_later = []
    for joined_id, opened_id in zip(joined_2[:30], opened_2, strict=True):
        expected_later += [("update", joined_id), ("parent", opened_id)]
    expected_later += [("update", alert_id) for alert_id in joined_2[30:]]
    assert rows == [("parent", alert_id) for alert_id in opened] + expected_later

    # A re-read of the same page: nothing new, nothing queued.
    with _outbox_statements(database) as statements:
        assert _ingest(database, later) == ([], [])
    assert statements == []
