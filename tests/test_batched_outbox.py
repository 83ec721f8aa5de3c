"""Batched outbox enqueues: the same rows, flags and order as the single calls, on both backends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import Database, alerts, outbox
from storage.models import OutboxRow
from tests.storage_support import T0, spyware_alert

Row = tuple[str, int | str | None, str | None, str, dict[str, Any], int, str | None]
Batch = Callable[[Session, Sequence[tuple[str, int]]], list[bool]]


def _alerts(database: Database, n: int) -> list[int]:
    with database.session() as s:
        created = alerts.create_many(
            s,
            [spyware_alert(f"k{i}", host=f"10.0.0.{i + 1}", facts={}) for i in range(n)],
        )
    return [created[f"k{i}"] for i in range(n)]


def _rows(database: Database, names: dict[int, str] | None = None) -> list[Row]:
    """The outbox rows in id order, without ids and times; with `names`, only those
    alerts' rows, their ids replaced by the names (two runs then compare equal)."""
    with database.session() as s:
        rows = list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))
    if names is None:
        return [
            (r.kind, r.alert_id, r.dedupe_key, r.state, r.payload, r.attempts, r.last_error)
            for r in rows
        ]
    return [
        (
            r.kind,
            names[r.alert_id],
            r.dedupe_key and r.dedupe_key.replace(str(r.alert_id), names[r.alert_id]),
            r.state,
            r.payload,
            r.attempts,
            r.last_error,
        )
        for r in rows
        if r.alert_id in names
    ]


def _singly(session: Session, wanted: Sequence[tuple[str, int]]) -> list[bool]:
    single: dict[str, Callable[[Session, int], bool]] = {
        outbox.PARENT: outbox.enqueue_parent,
        outbox.UPDATE: outbox.enqueue_update,
    }
    return [single[kind](session, alert_id) for kind, alert_id in wanted]


def _scenario(database: Database, enqueue: Batch) -> tuple[list[list[bool]], list[Row]]:
    """Three batches over new alerts with history: a sent parent, a claimed update, repeats."""
    a, b, c, d = _alerts(database, 4)
    names = {a: "A", b: "B", c: "C", d: "D"}
    flags = []
    with database.session() as s:
        flags.append(enqueue(s, [(outbox.PARENT, a), (outbox.PARENT, b), (outbox.UPDATE, a)]))
    with database.session() as s:
        due = [r for r in outbox.due(s, T0 + timedelta(days=3650)) if r.alert_id in names]
        sent = next(r.id for r in due if (r.kind, r.alert_id) == (outbox.PARENT, a))
        outbox.mark_sent(s, sent, "1.1", T0)
        update_a = next(r.id for r in due if r.kind == outbox.UPDATE)
        # In flight: it has rendered the alert already, so it cannot carry a new change.
        assert outbox.claim(s, update_a, T0 + timedelta(days=3650), T0 + timedelta(days=3651), "x")
    with database.session() as s:
        flags.append(
            enqueue(
                s,
                [
                    (outbox.PARENT, a),  # sent already: never again
                    (outbox.PARENT, b),  # pending already
                    (outbox.UPDATE, a),  # the waiting one is in flight: a new one
                    (outbox.UPDATE, a),  # ... which the next one finds waiting
                    (outbox.PARENT, c),
                    (outbox.UPDATE, b),
                    (outbox.PARENT, c),  # a repeat within the batch
                    (outbox.UPDATE, d),
                    (outbox.PARENT, d),
                ],
            )
        )
    with database.session() as s:
        flags.append(enqueue(s, [(outbox.UPDATE, b), (outbox.UPDATE, c), (outbox.PARENT, d)]))
    return flags, _rows(database, names)


def test_batch_makes_the_rows_and_flags_of_single_calls(database: Database) -> None:
    flags, rows = _scenario(database, outbox.enqueue_for_alerts)
    assert flags == [
        [True, True, True],
        [False, False, True, False, True, True, False, True, True],
        [False, True, False],
    ]
    assert rows == [
        ("parent", "A", "parent:A", "sent", {}, 0, None),
        ("parent", "B", "parent:B", "pending", {}, 0, None),
        ("update", "A", None, "pending", {}, 0, "in flight: x"),
        ("update", "A", None, "pending", {}, 0, None),
        ("parent", "C", "parent:C", "pending", {}, 0, None),
        ("update", "B", None, "pending", {}, 0, None),
        ("update", "D", None, "pending", {}, 0, None),
        ("parent", "D", "parent:D", "pending", {}, 0, None),
        ("update", "C", None, "pending", {}, 0, None),
    ]
    # The single calls, one after another, on new alerts of the same database.
    assert _scenario(database, _singly) == (flags, rows)


def _parents(s: Session, ids: Sequence[int]) -> list[bool]:
    return outbox.enqueue_for_alerts(s, [(outbox.PARENT, i) for i in ids])


def _updates(s: Session, ids: Sequence[int]) -> list[bool]:
    return outbox.enqueue_for_alerts(s, [(outbox.UPDATE, i) for i in ids])


def test_parents_and_updates_of_one_kind_per_batch(database: Database) -> None:
    a, b = _alerts(database, 2)

    with database.session() as s:
        assert _parents(s, [a, b, a]) == [True, True, False]
        assert _parents(s, [b]) == [False]
        assert _updates(s, [b, a, b]) == [True, True, False]
        assert _updates(s, [a]) == [False]
    assert _rows(database) == [
        (outbox.PARENT, a, f"parent:{a}", outbox.PENDING, {}, 0, None),
        (outbox.PARENT, b, f"parent:{b}", outbox.PENDING, {}, 0, None),
        (outbox.UPDATE, b, None, outbox.PENDING, {}, 0, None),
        (outbox.UPDATE, a, None, outbox.PENDING, {}, 0, None),
    ]


def test_empty_batches_write_nothing(database: Database) -> None:
    with database.session() as s:
        assert outbox.enqueue_for_alerts(s, []) == []
        assert _parents(s, []) == []
        assert _updates(s, []) == []
    assert _rows(database) == []


def test_only_parents_and_updates_are_batched(database: Database) -> None:
    (a,) = _alerts(database, 1)
    with database.session() as s, pytest.raises(ValueError, match="reply"):
        outbox.enqueue_for_alerts(s, [(outbox.PARENT, a), (outbox.REPLY, a)])
    assert _rows(database) == []


def test_large_batch_spans_query_chunks(database: Database) -> None:
    ids = _alerts(database, 1200)
    with database.session() as s:
        assert all(_updates(s, ids))
        assert not any(_updates(s, ids))
        assert all(_parents(s, ids))
    rows = _rows(database)
    assert [(kind, alert_id) for kind, alert_id, *_ in rows] == [
        *((outbox.UPDATE, i) for i in ids),
        *((outbox.PARENT, i) for i in ids),
    ]


def test_single_enqueue_still_reports_taken_keys(database: Database) -> None:
    (a,) = _alerts(database, 1)
    with database.session() as s:
        payload = {"type": "note", "key": "k", "params": {}}
        assert outbox.enqueue_reply(s, a, payload, dedupe_key="note:1")
        assert not outbox.enqueue_reply(s, a, payload, dedupe_key="note:1")
        assert outbox.enqueue_reply(s, a, payload)
        assert outbox.enqueue_reply(s, a, payload)
    assert [r[0] for r in _rows(database)] == [outbox.REPLY] * 3
