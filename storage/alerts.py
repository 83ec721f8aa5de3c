"""Alerts: a group of events with one Slack parent and its thread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from storage.models import AlertRow, UtcDateTime, utcnow

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
CLOSED = "closed"
ACTIVE_STATES = (OPEN, ACKNOWLEDGED)
_KEYS_PER_QUERY = 500


@dataclass(frozen=True, slots=True)
class NewAlert:
    rule: str
    group_key: str
    host: str | None
    other: str | None
    severity: str | None
    threat_name: str | None
    threat_id: str | None
    firewall: str | None
    first_seen: datetime
    last_seen: datetime
    count: int
    facts: dict[str, Any]
    slack_channel: str | None


def find_joinable(
    session: Session, group_key: str, seen_at: datetime, window: timedelta
) -> AlertRow | None:
    """The active alert a new event with this key joins: same key, opened within the window."""
    return find_joinable_many(session, {group_key: seen_at}, window).get(group_key)


def find_joinable_many(
    session: Session, seen_at: Mapping[str, datetime], window: timedelta
) -> dict[str, AlertRow]:
    """`find_joinable` for many keys at once: {key: alert} for the keys that have one.

    `seen_at` maps each group key to the receive time of its first new event. One query
    per 500 keys instead of one per key: a burst from hundreds of hosts is hundreds of keys.
    """
    found: dict[str, AlertRow] = {}
    keys = list(seen_at)
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        earliest = min(seen_at[key] for key in chunk) - window
        rows = session.scalars(
            select(AlertRow)
            .where(
                AlertRow.group_key.in_(chunk),
                AlertRow.state.in_(ACTIVE_STATES),
                AlertRow.first_seen >= earliest,
            )
            .order_by(AlertRow.first_seen.desc(), AlertRow.id.desc())
        )
        for row in rows:  # newest first: the first one inside a key's own window wins
            key = row.group_key
            if key not in found and row.first_seen >= seen_at[key] - window:
                found[key] = row
    return found


def create(session: Session, new: NewAlert) -> AlertRow:
    """Insert a new open alert and return it with its id."""
    alert_id = create_many(session, [new])[new.group_key]
    row = session.get(AlertRow, alert_id)
    assert row is not None
    return row


def bump(session: Session, alert_id: int, added: int, last_seen: datetime) -> None:
    """Add repeats to an alert: its count grows, last seen moves forward (never back)."""
    bump_many(session, [(alert_id, added, last_seen)])


def create_many(session: Session, news: Sequence[NewAlert]) -> dict[str, int]:
    """Insert new open alerts, one per group key, in one batch; return {group key: id}."""
    if not news:
        return {}
    if len({new.group_key for new in news}) != len(news):
        raise ValueError("create_many takes at most one new alert per group key")
    table = cast(Table, AlertRow.__table__)
    now = utcnow()
    rows = [
        {
            "rule": new.rule,
            "group_key": new.group_key,
            "host": new.host,
            "other": new.other,
            "state": OPEN,
            "severity": new.severity,
            "threat_name": new.threat_name,
            "threat_id": new.threat_id,
            "firewall": new.firewall,
            "first_seen": new.first_seen,
            "last_seen": new.last_seen,
            "count": new.count,
            "facts": new.facts,
            "slack_channel": new.slack_channel,
            "created_at": now,
            "updated_at": now,
        }
        for new in news
    ]
    result = session.execute(insert(table).returning(table.c.id, table.c.group_key), rows)
    return {group_key: alert_id for alert_id, group_key in result}


def bump_many(session: Session, bumps: Sequence[tuple[int, int, datetime]]) -> None:
    """`bump` for many alerts in one batch: (alert id, events added, last seen) each.

    A Core UPDATE: alerts already loaded in the session keep their old count until
    refreshed (ingest reads only their ids).
    """
    if not bumps:
        return
    table = cast(Table, AlertRow.__table__)
    last = bindparam("b_last", type_=UtcDateTime())
    session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            count=table.c.count + bindparam("b_added"),
            last_seen=case((table.c.last_seen < last, last), else_=table.c.last_seen),
            updated_at=bindparam("b_now", type_=UtcDateTime()),
        ),
        [
            {"b_id": alert_id, "b_added": added, "b_last": last_seen, "b_now": utcnow()}
            for alert_id, added, last_seen in bumps
        ],
    )


def get(session: Session, alert_id: int) -> AlertRow | None:
    return session.get(AlertRow, alert_id)


def set_slack_ts(session: Session, alert_id: int, channel: str, ts: str) -> None:
    """Record the parent message's identity; only the first post counts."""
    session.execute(
        update(AlertRow)
        .where(AlertRow.id == alert_id, AlertRow.slack_ts.is_(None))
        .values(slack_channel=channel, slack_ts=ts)
    )


def by_slack_ts(session: Session, channel: str, ts: str) -> AlertRow | None:
    return session.scalars(
        select(AlertRow).where(AlertRow.slack_channel == channel, AlertRow.slack_ts == ts)
    ).first()


def open_by_state(session: Session) -> dict[str, int]:
    """How many alerts are in each active state."""
    rows = session.execute(
        select(AlertRow.state, func.count())
        .where(AlertRow.state.in_(ACTIVE_STATES))
        .group_by(AlertRow.state)
    )
    return {state: int(n) for state, n in rows}


def for_host(session: Session, host: str, limit: int = 20) -> list[AlertRow]:
    """The host's alerts, newest first."""
    return list(
        session.scalars(
            select(AlertRow)
            .where(AlertRow.host == host)
            .order_by(AlertRow.first_seen.desc(), AlertRow.id.desc())
            .limit(limit)
        )
    )


def all_for_rule(session: Session, rule: str) -> Sequence[AlertRow]:
    return list(session.scalars(select(AlertRow).where(AlertRow.rule == rule)))
