"""The cache hook the clients consult; the storage layer implements it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class EnrichmentCache(Protocol):
    """Answers of outside sources kept for a while, keyed by (source, key)."""

    def get(self, source: str, key: str) -> dict[str, Any] | None:
        """Return the stored value, or None when absent or expired."""
        ...

    def put(self, source: str, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        """Store the value for ttl_seconds."""
        ...


class Cached:
    """Consult a cache around one fetch; a miss (or no cache) calls the source.

    Entries are `{"found": true, "value": <model_dump(mode="json")>}` or
    `{"found": false}`, so "the source does not know this" is remembered too,
    for a shorter time: a hash unknown today may be known tomorrow. A list of
    models is stored as `{"items": [...]}`.
    """

    def __init__(self, source: str, cache: EnrichmentCache | None) -> None:
        self.source = source
        self.cache = cache

    def one(
        self,
        key: str,
        fetch: Callable[[], M | None],
        model: type[M],
        *,
        ttl: int,
        negative_ttl: int,
        keep: Callable[[M], bool] = lambda _value: True,
    ) -> M | None:
        """Return the cached model, else fetch it, store it (when `keep` allows) and return it."""
        return self._through(
            key,
            fetch,
            load=model.model_validate,
            dump=lambda value: value.model_dump(mode="json"),
            ttl=ttl,
            negative_ttl=negative_ttl,
            keep=keep,
        )

    def many(
        self,
        key: str,
        fetch: Callable[[], list[M]],
        model: type[M],
        *,
        ttl: int,
        negative_ttl: int,
    ) -> list[M]:
        """Return the cached list of models, else fetch, store and return it (maybe empty)."""
        found = self._through(
            key,
            fetch,
            load=lambda stored: [model.model_validate(item) for item in stored["items"]],
            dump=lambda values: {"items": [v.model_dump(mode="json") for v in values]},
            ttl=ttl,
            negative_ttl=negative_ttl,
        )
        return found or []

    def _through(
        self,
        key: str,
        fetch: Callable[[], T | None],
        *,
        load: Callable[[Any], T],
        dump: Callable[[T], Any],
        ttl: int,
        negative_ttl: int,
        keep: Callable[[T], bool] = lambda _value: True,
    ) -> T | None:
        if self.cache is not None:
            entry = self.cache.get(self.source, key)
            if entry is not None:
                try:
                    return load(entry["value"]) if entry.get("found") else None
                except (KeyError, TypeError, ValidationError):
                    pass  # written by an older panbot: fetch afresh and overwrite
        value = fetch()
        if self.cache is not None:
            if value is None:
                self.cache.put(self.source, key, {"found": False}, negative_ttl)
            elif keep(value):
                self.cache.put(self.source, key, {"found": True, "value": dump(value)}, ttl)
        return value
