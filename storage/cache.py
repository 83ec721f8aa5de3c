"""The enrichment cache in the database: answers shared across alerts, restarts and replicas.

It implements `investigations.enrich.cache.EnrichmentCache` (without importing it:
storage never imports the layers above). Every call is its own short transaction, so
a client's HTTP request never runs inside one. A cache that cannot reach the database
answers "not cached" and logs: a broken cache must never block an investigation.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import SQLAlchemyError

from storage.db import Database
from storage.models import EnrichmentCache
from storage.upsert import dialect_insert

log = logging.getLogger(__name__)

MAX_KEY_LENGTH = 255  # the column's length
_HASHED_PREFIX = "sha256:"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def stored_key(key: str) -> str:
    """Return the key as stored: itself, or a digest when it would not fit the column."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return _HASHED_PREFIX + hashlib.sha256(key.encode()).hexdigest()


class DbEnrichmentCache:
    """Enrichment answers in the `enrichment_cache` table, each valid until its expiry."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = _utcnow) -> None:
        self._db = db
        self._clock = clock

    def get(self, source: str, key: str) -> dict[str, Any] | None:
        """Return the stored value, or None when absent, expired or unreadable."""
        try:
            with self._db.session() as session:
                value = session.scalar(
                    select(EnrichmentCache.value).where(
                        EnrichmentCache.source == source,
                        EnrichmentCache.key == stored_key(key),
                        EnrichmentCache.expires_at > self._clock(),
                    )
                )
        except SQLAlchemyError as exc:
            log.warning("enrichment cache read failed (%s): asking the source", type(exc).__name__)
            return None
        return value if isinstance(value, dict) else None

    def put(self, source: str, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        """Store the value for ttl_seconds; a concurrent writer of the same key is overwritten."""
        now = self._clock()
        expires = now + timedelta(seconds=max(0, ttl_seconds))
        try:
            with self._db.session() as session:
                insert = dialect_insert(session, EnrichmentCache).values(
                    source=source,
                    key=stored_key(key),
                    value=value,
                    fetched_at=now,
                    expires_at=expires,
                )
                # One atomic upsert: two replicas caching the same answer cannot collide.
                session.execute(
                    insert.on_conflict_do_update(
                        index_elements=["source", "key"],
                        set_={"value": value, "fetched_at": now, "expires_at": expires},
                    )
                )
        except SQLAlchemyError as exc:
            log.warning("enrichment cache write failed (%s): not cached", type(exc).__name__)

    def purge_expired(self) -> int:
        """Delete expired entries; return how many went."""
        with self._db.session() as session:
            result = session.execute(
                delete(EnrichmentCache).where(EnrichmentCache.expires_at <= self._clock())
            )
            return int(getattr(result, "rowcount", 0) or 0)
