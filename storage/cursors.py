"""Poll cursors: the newest receive time stored per rule and firewall."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import PollCursor


@dataclass(frozen=True, slots=True)
class CursorState:
    rule: str
    firewall: str
    watermark: datetime | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None


def get(session: Session, rule: str, firewall: str) -> CursorState | None:
    """Return the rule's cursor for this firewall, or None before its first poll."""
    row = session.get(PollCursor, (rule, firewall))
    if row is None:
        return None
    return CursorState(
        row.rule,
        row.firewall,
        row.watermark,
        row.last_poll_at,
        row.last_success_at,
        row.last_error,
    )


def advance(session: Session, rule: str, firewall: str, watermark: datetime) -> None:
    """Move the watermark forward (never back), in the caller's transaction."""
    row = session.get(PollCursor, (rule, firewall), with_for_update=True)
    if row is None:
        session.add(PollCursor(rule=rule, firewall=firewall, watermark=watermark))
    elif watermark > row.watermark:
        row.watermark = watermark


def record_poll(
    session: Session, rule: str, firewall: str, at: datetime, error: str | None
) -> None:
    """Record a poll's outcome; the watermark is untouched (it moves only with stored events)."""
    row = session.get(PollCursor, (rule, firewall))
    if row is None:
        # No watermark yet: a failed first poll must still be visible in status and health.
        return
    row.last_poll_at = at
    if error is None:
        row.last_success_at = at
        row.last_error = None
    else:
        row.last_error = error


def ensure(session: Session, rule: str, firewall: str, watermark: datetime) -> None:
    """Create the cursor at `watermark` if the rule has none yet."""
    if session.get(PollCursor, (rule, firewall)) is None:
        session.add(PollCursor(rule=rule, firewall=firewall, watermark=watermark))


def all_cursors(session: Session) -> list[CursorState]:
    """Every cursor, for status views and health."""
    return [
        CursorState(
            r.rule, r.firewall, r.watermark, r.last_poll_at, r.last_success_at, r.last_error
        )
        for r in session.scalars(select(PollCursor).order_by(PollCursor.rule))
    ]
