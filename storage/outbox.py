"""The outbox: Slack messages are rows first and sent second.

A row is marked sent only after Slack confirms it. A parent has the dedupe key
`parent:<alert id>`, so an alert can never have two parent rows; an update row is
coalesced while one is still pending, since it renders the alert's state at send time.

An edit row (`EDIT`) rewrites an earlier thread reply in place (chat.update): its
payload names the reply by that reply's dedupe key (`EDITS`), and the notifier sends
it only once the reply has its `ts`. An edit of a reply Slack never took is posted as
a new reply instead, so what it says is not lost.

A sender claims a row before sending it (its next attempt moves past the send), so
two senders never send one row at once, and a sender that dies mid-send leaves the
row due again once the claim runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import OutboxRow, utcnow
from storage.upsert import dialect_insert

PARENT = "parent"
REPLY = "reply"
UPDATE = "update"
EDIT = "edit"

# The payload key of an edit row: the dedupe key of the reply it rewrites.
EDITS = "edits"

PENDING = "pending"
SENT = "sent"
FAILED = "failed"

# `last_error` of a claimed row ("in flight: <claimant>"): being sent right now.
IN_FLIGHT = "in flight"

_IDS_PER_QUERY = 500


def enqueue(
    session: Session,
    kind: str,
    *,
    alert_id: int | None,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Add a message to send; return False when its dedupe key is already queued or sent."""
    now = utcnow()
    row = _row(
        kind, alert_id, payload, dedupe_key, next_attempt_at=not_before or now, created_at=now
    )
    inserted = _insert(session, [row])
    return dedupe_key is None or dedupe_key in inserted


def _row(
    kind: str,
    alert_id: int | None,
    payload: dict[str, Any],
    dedupe_key: str | None,
    *,
    next_attempt_at: datetime,
    created_at: datetime,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "alert_id": alert_id,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": next_attempt_at,
        "created_at": created_at,
    }


def _insert(session: Session, rows: Sequence[dict[str, Any]]) -> set[str | None]:
    """Insert rows, skipping those whose dedupe key is taken; return the inserted keys.

    One statement with many parameter sets: SQLAlchemy sends it as multi-row VALUES from
    a cached template ("insertmanyvalues"), in the rows' order.
    """
    if not rows:
        return set()
    table = cast(Table, OutboxRow.__table__)
    statement = (
        dialect_insert(session, table)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(table.c.dedupe_key)
    )
    # RETURNING, not rowcount: the ORM's INSERT reports -1 rows on some drivers.
    params: dict[str, Any] | list[dict[str, Any]] = rows[0] if len(rows) == 1 else list(rows)
    return {key for (key,) in session.execute(statement, params)}


def enqueue_parent(session: Session, alert_id: int) -> bool:
    """Queue the alert's parent message (once per alert, ever)."""
    return enqueue_for_alerts(session, [(PARENT, alert_id)])[0]


def enqueue_update(session: Session, alert_id: int) -> bool:
    """Queue a refresh of the alert's parent unless one is already waiting.

    A row in flight has rendered the alert already: it cannot carry this change.
    """
    return enqueue_for_alerts(session, [(UPDATE, alert_id)])[0]


def enqueue_for_alerts(session: Session, wanted: Sequence[tuple[str, int]]) -> list[bool]:
    """Queue parents and updates, (kind, alert id) each, as `enqueue_parent` and
    `enqueue_update` called one after another in this order would; return their flags.

    At most two statements whatever the count (a page of a burst opens or joins hundreds
    of alerts; a round trip each was most of ingest's outbox time). Rows are inserted in
    the given order, so their ids are too.
    """
    if not wanted:
        return []
    for kind, _ in wanted:
        if kind not in (PARENT, UPDATE):
            raise ValueError(f"enqueue_for_alerts queues parents and updates, not {kind!r}")
    waiting = _waiting_updates(
        session, sorted({alert_id for kind, alert_id in wanted if kind == UPDATE})
    )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    queued: list[bool] = []
    parents: set[int] = set()
    for kind, alert_id in wanted:
        dedupe_key: str | None = None
        if kind == PARENT:
            dedupe_key = f"{PARENT}:{alert_id}"
            fresh = alert_id not in parents
            parents.add(alert_id)
        else:
            fresh = alert_id not in waiting
            # A later update of this alert in the batch finds this one waiting, as it
            # would have found the row a single call had just inserted.
            waiting.add(alert_id)
        queued.append(fresh)
        if fresh:
            rows.append(_row(kind, alert_id, {}, dedupe_key, next_attempt_at=now, created_at=now))
    inserted = _insert(session, rows)
    # A parent whose key was taken before this batch comes back without a row.
    return [
        fresh and (kind != PARENT or f"{PARENT}:{alert_id}" in inserted)
        for (kind, alert_id), fresh in zip(wanted, queued, strict=True)
    ]


def _waiting_updates(session: Session, alert_ids: Sequence[int]) -> set[int]:
    """The alerts among these that have an update row pending and not yet claimed."""
    waiting: set[int] = set()
    for start in range(0, len(alert_ids), _IDS_PER_QUERY):
        chunk = alert_ids[start : start + _IDS_PER_QUERY]
        waiting.update(
            session.scalars(
                select(OutboxRow.alert_id)
                .where(
                    OutboxRow.alert_id.in_(chunk),
                    OutboxRow.kind == UPDATE,
                    OutboxRow.state == PENDING,
                    or_(
                        OutboxRow.last_error.is_(None),
                        OutboxRow.last_error.not_like(f"{IN_FLIGHT}%"),
                    ),
                )
                # Locked until this transaction commits: the notifier cannot claim the
                # rows, and so cannot render the alerts, between this check and the
                # change they are meant to carry.
                .with_for_update()
            )
        )
    return waiting


def enqueue_reply(
    session: Session, alert_id: int, payload: dict[str, Any], dedupe_key: str | None = None
) -> bool:
    """Queue a reply in the alert's thread."""
    return enqueue(session, REPLY, alert_id=alert_id, payload=payload, dedupe_key=dedupe_key)


def enqueue_edit(
    session: Session,
    alert_id: int,
    target_key: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
) -> bool:
    """Queue an edit of the reply queued under `target_key`, showing `payload` instead.

    Not coalesced: the notifier renders a row when it sends it, so an extra edit only
    repeats the latest state, while a skipped one could leave the reply stale.
    """
    return enqueue(
        session,
        EDIT,
        alert_id=alert_id,
        payload={**payload, EDITS: target_key},
        dedupe_key=dedupe_key,
    )


def edit_target(row: OutboxRow) -> str | None:
    """The dedupe key of the reply an edit row rewrites (None for any other row)."""
    target = row.payload.get(EDITS) if row.kind == EDIT else None
    return str(target) if target else None


def by_key(session: Session, dedupe_key: str) -> OutboxRow | None:
    """The row queued under a dedupe key, as committed."""
    return session.scalars(
        select(OutboxRow)
        .where(OutboxRow.dedupe_key == dedupe_key)
        .execution_options(populate_existing=True)
    ).first()


def numbered(session: Session, base: str) -> list[OutboxRow]:
    """The rows queued under `base:1`, `base:2`, … up to the first number not taken.

    Numbered keys let a message family (an alert's asked-for findings, a request's retry
    offers) be found by the unique key's index alone, however large the outbox grows.
    """
    found: list[OutboxRow] = []
    while (row := by_key(session, f"{base}:{len(found) + 1}")) is not None:
        found.append(row)
    return found


def enqueue_numbered_reply(
    session: Session, alert_id: int, payload: dict[str, Any], base: str
) -> str:
    """Queue a reply under the first free key `base:<n>` and return that key.

    Two transactions choosing the same number meet at the unique key: the later one
    waits for the other to commit, finds the number taken, and takes the next.
    """
    n = len(numbered(session, base)) + 1
    while not enqueue_reply(session, alert_id, payload, dedupe_key=f"{base}:{n}"):
        n += 1
    return f"{base}:{n}"


def due(session: Session, now: datetime, limit: int = 50) -> list[OutboxRow]:
    """Pending rows whose time has come: new alerts' parents first, then oldest first.

    Slack allows one message a second per channel; a new alert should not wait behind
    the findings and notes of older ones. A reply still follows its own parent, which
    is always older.
    """
    return list(
        session.scalars(
            select(OutboxRow)
            .where(OutboxRow.state == PENDING, OutboxRow.next_attempt_at <= now)
            .order_by(case((OutboxRow.kind == PARENT, 0), else_=1), OutboxRow.id)
            .limit(limit)
        )
    )


def _claim_mark(claimant: str) -> str:
    return f"{IN_FLIGHT}: {claimant}"[:500]


def claim(session: Session, row_id: int, now: datetime, until: datetime, claimant: str) -> bool:
    """Take a due row for sending until `until`; False if another sender has it, or it is done."""
    statement = (
        update(OutboxRow)
        .where(
            OutboxRow.id == row_id,
            OutboxRow.state == PENDING,
            OutboxRow.next_attempt_at <= now,
        )
        .values(next_attempt_at=until, last_error=_claim_mark(claimant))
        .returning(OutboxRow.id)
    )
    return session.execute(statement).first() is not None


def release_claims(session: Session, claimant: str, now: datetime) -> int:
    """Make due again the rows `claimant` claimed and is not sending (an error cut it short)."""
    statement = (
        update(OutboxRow)
        .where(OutboxRow.state == PENDING, OutboxRow.last_error == _claim_mark(claimant))
        .values(next_attempt_at=now, last_error=None)
        .returning(OutboxRow.id)
    )
    return len(session.execute(statement).all())


def mark_sent(session: Session, row_id: int, slack_ts: str | None, at: datetime) -> None:
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id)
        .values(state=SENT, slack_ts=slack_ts, sent_at=at, last_error=None)
    )


def retry_later(session: Session, row_id: int, at: datetime, error: str) -> None:
    """Count a failed attempt and schedule the next one."""
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id)
        .values(attempts=OutboxRow.attempts + 1, next_attempt_at=at, last_error=error[:500])
    )


def defer(session: Session, row_id: int, at: datetime, reason: str | None = None) -> None:
    """Push a row back without counting an attempt (e.g. its parent is not posted yet)."""
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id)
        .values(next_attempt_at=at, last_error=reason[:500] if reason else None)
    )


def mark_failed(session: Session, row_id: int, error: str) -> None:
    """Give up on a row Slack will never accept (kept, with the reason, for operators)."""
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id)
        .values(state=FAILED, attempts=OutboxRow.attempts + 1, last_error=error[:500])
    )


def become_reply(session: Session, row_id: int, now: datetime, reason: str) -> None:
    """Turn an edit with no reply to rewrite into a reply of its own, due now.

    Kept in the row, so a restart posts it as a reply too and never tries the edit again.
    """
    session.execute(
        update(OutboxRow)
        .where(OutboxRow.id == row_id, OutboxRow.kind == EDIT)
        .values(kind=REPLY, next_attempt_at=now, last_error=reason[:500])
    )


def counts(session: Session) -> dict[str, int]:
    """Rows by state."""
    rows = session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state))
    return {state: int(n) for state, n in rows}


def backoff(attempts: int, base: float = 2.0, cap: float = 300.0) -> timedelta:
    """Exponential backoff for the n-th failed attempt, capped."""
    return timedelta(seconds=min(cap, base ** min(attempts, 16)))
