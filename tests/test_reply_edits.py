"""Reply edits in the outbox: how an edit finds its reply, and when it is sent or posted.

The end-to-end flows are in test_isolation_prompt_edits.py and test_investigate_e2e.py;
here are the storage pieces (on SQLite and PostgreSQL) and the notifier's decision.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest

from bot.notifier import EDIT_WAIT, edit_retry_at, edit_route
from storage import Database, Session, alerts, outbox
from storage.models import OutboxRow
from tests.storage_support import T0, spyware_alert


def _alert(session: Session) -> int:
    new = spyware_alert()
    return alerts.create(session, new).id


def _row(
    state: str = outbox.SENT,
    slack_ts: str | None = "1.1",
    alert_id: int = 1,
    next_attempt_at: datetime = T0,
) -> OutboxRow:
    return OutboxRow(
        kind=outbox.REPLY,
        alert_id=alert_id,
        state=state,
        slack_ts=slack_ts,
        next_attempt_at=next_attempt_at,
    )


def test_an_edit_waits_for_its_reply_updates_it_or_is_posted() -> None:
    edit = OutboxRow(kind=outbox.EDIT, alert_id=1, payload={outbox.EDITS: "k"})
    assert edit_route(edit, _row(outbox.PENDING, None)) == "wait"
    assert edit_route(edit, _row()) == "update"
    assert edit_route(edit, None) == "post"  # no such reply
    assert edit_route(edit, _row(outbox.FAILED, None)) == "post"  # Slack never took it
    assert edit_route(edit, _row(slack_ts=None)) == "post"  # sent, but its ts is unknown
    assert edit_route(edit, _row(alert_id=2)) == "post"  # another alert's: never edit it


def test_an_edit_looks_again_at_once_if_its_reply_is_due_else_soon() -> None:
    now = T0 + timedelta(minutes=1)
    assert edit_retry_at(_row(outbox.PENDING, None, next_attempt_at=T0), now) == now
    soon = now + timedelta(seconds=1)
    assert edit_retry_at(_row(outbox.PENDING, None, next_attempt_at=soon), now) == soon
    later = now + timedelta(minutes=10)  # a backoff, or another sender's claim
    assert edit_retry_at(_row(outbox.PENDING, None, next_attempt_at=later), now) == now + EDIT_WAIT


def test_an_edit_names_its_reply_and_can_become_a_reply(database: Database) -> None:
    with database.session() as s:
        alert_id = _alert(s)
        assert outbox.enqueue_reply(s, alert_id, {"type": "note"}, dedupe_key="prompt:1")
        assert outbox.enqueue_edit(s, alert_id, "prompt:1", {"type": "note", "v": 2}, "e:1")
        assert not outbox.enqueue_edit(s, alert_id, "prompt:1", {"type": "note"}, "e:1")
    with database.session() as s:
        reply = outbox.by_key(s, "prompt:1")
        edit = outbox.by_key(s, "e:1")
        assert reply is not None and edit is not None and outbox.by_key(s, "nope") is None
        assert (edit.kind, outbox.edit_target(edit), edit.payload["v"]) == ("edit", "prompt:1", 2)
        assert outbox.edit_target(reply) is None
        outbox.become_reply(s, reply.id, T0, "not an edit: unchanged")
        outbox.become_reply(s, edit.id, T0, "no reply to edit")
    with database.session() as s:
        assert [r.kind for r in s.query(OutboxRow).order_by(OutboxRow.id)] == ["reply", "reply"]
        edit = outbox.by_key(s, "e:1")
        assert edit is not None and edit.last_error == "no reply to edit"
        assert edit.next_attempt_at == T0


def test_numbered_replies_take_the_next_free_number(database: Database) -> None:
    with database.session() as s:
        alert_id = _alert(s)
        assert outbox.numbered(s, "asked") == []
        assert outbox.enqueue_numbered_reply(s, alert_id, {"n": 1}, "asked") == "asked:1"
        assert outbox.enqueue_numbered_reply(s, alert_id, {"n": 2}, "asked") == "asked:2"
        assert outbox.enqueue_reply(s, alert_id, {"n": 4}, dedupe_key="asked:4")  # past a gap
    with database.session() as s:
        assert [r.payload["n"] for r in outbox.numbered(s, "asked")] == [1, 2]
        assert outbox.numbered(s, "ask") == []  # a prefix of the base is another family


@pytest.mark.timeout(60)
def test_two_transactions_numbering_at_once_take_different_numbers(database: Database) -> None:
    with database.session() as s:
        alert_id = _alert(s)
    inserted, release = threading.Event(), threading.Event()
    keys: dict[str, str] = {}

    def first() -> None:
        with database.session() as s:
            keys["first"] = outbox.enqueue_numbered_reply(s, alert_id, {}, "asked")
            inserted.set()
            release.wait(20)  # holds its number, uncommitted, while the second one asks

    def second() -> None:
        inserted.wait(20)
        with database.session() as s:
            keys["second"] = outbox.enqueue_numbered_reply(s, alert_id, {}, "asked")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inserted.wait(20)
    time.sleep(0.3)  # the second is waiting on the first's number by now
    release.set()
    for thread in threads:
        thread.join(30)
    assert keys == {"first": "asked:1", "second": "asked:2"}
