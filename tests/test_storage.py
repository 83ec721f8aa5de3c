"""Repositories on SQLite and PostgreSQL: idempotent inserts, leases, outbox, audit, UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import Database, alerts, audit, cursors, events, leases, outbox
from storage.models import AuditRow
from tests.storage_support import T0, spyware_alert


def _event(seqno: int, serial: str = "0079", at: datetime = T0) -> events.NewEvent:
    return events.NewEvent(serial, "threat", seqno, "spyware", at, "10.0.0.5", "203.0.113.9", {})


def _alert(session: object, key: str = "k", first: datetime = T0) -> int:
    return alerts.create(session, spyware_alert(key, first=first)).id  # type: ignore[arg-type]


def test_events_insert_once_per_serial_log_type_seqno(database: Database) -> None:
    with database.session() as s:
        first = events.insert_new(s, [_event(1), _event(2), _event(2)])
    with database.session() as s:
        again = events.insert_new(s, [_event(1), _event(2), _event(3), _event(1, serial="0080")])
    assert set(first) == {("0079", "threat", 1), ("0079", "threat", 2)}
    assert set(again) == {("0079", "threat", 3), ("0080", "threat", 1)}
    with database.session() as s:
        assert events.count(s) == 4


def test_events_insert_in_chunks_keeps_every_id(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "PG_INSERT_CHUNK", 3)
    with database.session() as s:
        events.insert_new(s, [_event(4)])
    with database.session() as s:
        ids = events.insert_new(s, [_event(n) for n in range(1, 9)])
    assert sorted(seqno for _, _, seqno in ids) == [1, 2, 3, 5, 6, 7, 8]
    assert len(set(ids.values())) == 7
    with database.session() as s:
        assert events.count(s) == 8


def test_datetimes_come_back_aware_utc(database: Database) -> None:
    with database.session() as s:
        events.insert_new(s, [_event(1, at=T0)])
        cursors.ensure(s, "spyware", "fw", T0)
    with database.session() as s:
        state = cursors.get(s, "spyware", "fw")
    assert state is not None and state.watermark == T0
    assert state.watermark.tzinfo is not None


def test_cursor_never_moves_back(database: Database) -> None:
    with database.session() as s:
        cursors.advance(s, "r", "fw", T0)
        cursors.advance(s, "r", "fw", T0 - timedelta(hours=1))
    with database.session() as s:
        state = cursors.get(s, "r", "fw")
    assert state is not None and state.watermark == T0


def test_alert_join_window_and_bump(database: Database) -> None:
    with database.session() as s:
        alert_id = _alert(s)
    with database.session() as s:
        assert alerts.find_joinable(s, "k", T0 + timedelta(hours=23), timedelta(hours=24))
        assert alerts.find_joinable(s, "k", T0 + timedelta(hours=25), timedelta(hours=24)) is None
        assert alerts.find_joinable(s, "other", T0, timedelta(hours=24)) is None
        alerts.bump(s, alert_id, 3, T0 + timedelta(minutes=5))
        alerts.bump(s, alert_id, 1, T0 + timedelta(minutes=1))  # late log: last_seen stays
    with database.session() as s:
        row = alerts.get(s, alert_id)
        assert row is not None
        assert row.count == 5
        assert row.last_seen == T0 + timedelta(minutes=5)


def test_one_parent_per_alert_ever_and_updates_coalesce(database: Database) -> None:
    with database.session() as s:
        alert_id = _alert(s)
        assert outbox.enqueue_parent(s, alert_id)
        assert not outbox.enqueue_parent(s, alert_id)
        assert outbox.enqueue_update(s, alert_id)
        assert not outbox.enqueue_update(s, alert_id)
    with database.session() as s:
        rows = outbox.due(s, datetime.now(UTC) + timedelta(seconds=1))
        assert [r.kind for r in rows] == ["parent", "update"]
        outbox.mark_sent(s, rows[0].id, "1.1", datetime.now(UTC))
        outbox.mark_sent(s, rows[1].id, "1.1", datetime.now(UTC))
    with database.session() as s:
        assert not outbox.enqueue_parent(s, alert_id)  # even after it was sent
        assert outbox.enqueue_update(s, alert_id)  # a new state change: a new update
        assert outbox.counts(s) == {"sent": 2, "pending": 1}


def test_lease_single_holder_and_takeover_after_expiry(database: Database) -> None:
    ttl = timedelta(seconds=30)
    with database.session() as s:
        assert leases.acquire(s, "poll:x", "a", T0, ttl)
    with database.session() as s:
        assert not leases.acquire(s, "poll:x", "b", T0 + timedelta(seconds=10), ttl)
        assert leases.acquire(s, "poll:x", "a", T0 + timedelta(seconds=10), ttl)  # renewal
    with database.session() as s:
        assert not leases.acquire(s, "poll:x", "b", T0 + timedelta(seconds=39), ttl)
        assert leases.acquire(s, "poll:x", "b", T0 + timedelta(seconds=41), ttl)
        assert leases.holder_of(s, "poll:x", T0 + timedelta(seconds=42)) == "b"
    with database.session() as s:
        leases.release(s, "poll:x", "b")
        assert leases.holder_of(s, "poll:x", T0 + timedelta(seconds=42)) is None


def test_audit_is_append_only_history(database: Database) -> None:
    with database.session() as s:
        alert_id = _alert(s)
        audit.record(s, actor="U1", action="ack", alert_id=alert_id, host="10.0.0.5", at=T0)
        audit.record(
            s,
            actor="U2",
            action="close",
            alert_id=alert_id,
            host="10.0.0.5",
            at=T0 + timedelta(minutes=1),
            detail={"verdict": "no_impact"},
        )
    with database.session() as s:
        history = audit.for_host(s, "10.0.0.5")
        assert [h.action for h in history] == ["close", "ack"]
        assert history[0].detail == {"verdict": "no_impact"}
        assert [r.actor for r in audit.for_alert(s, alert_id)] == ["U1", "U2"]
    assert not any(name in dir(audit) for name in ("update", "delete", "remove"))
    assert AuditRow.__tablename__ == "audit_log"


def test_new_parents_are_sent_before_older_replies(database: Database) -> None:
    with database.session() as s:
        first = _alert(s, key="a")
        outbox.enqueue_parent(s, first)
        outbox.enqueue_reply(s, first, {"type": "note", "key": "k", "params": {}})
        second = _alert(s, key="b")
        outbox.enqueue_parent(s, second)
    with database.session() as s:
        rows = outbox.due(s, datetime.now(UTC) + timedelta(seconds=1))
    assert [(r.kind, r.alert_id) for r in rows] == [
        ("parent", first),
        ("parent", second),
        ("reply", first),
    ]
