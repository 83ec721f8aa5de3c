"""panbot's state: SQLAlchemy models, repositories and Alembic migrations."""

from storage import alerts, audit, cursors, events, hosts, leases, outbox
from storage.db import Database, Session

__all__ = [
    "Database",
    "Session",
    "alerts",
    "audit",
    "cursors",
    "events",
    "hosts",
    "leases",
    "outbox",
]
