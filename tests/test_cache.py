"""The enrichment cache in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select

from bot.fakeintel import dataset
from bot.fakeintel.server import FakeIntel
from investigations.enrich.clients import EnrichmentClients
from storage import Database
from storage.cache import MAX_KEY_LENGTH, DbEnrichmentCache, stored_key
from storage.models import EnrichmentCache
from tests.harness import FakeClock


def _rows(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(EnrichmentCache)) or 0)


def test_put_get_expire_and_overwrite(database: Database) -> None:
    clock = FakeClock()
    cache = DbEnrichmentCache(database, clock)
    assert cache.get("virustotal", "file:abc") is None
    cache.put("virustotal", "file:abc", {"found": True, "value": {"n": 1}}, ttl_seconds=60)
    assert cache.get("virustotal", "file:abc") == {"found": True, "value": {"n": 1}}
    assert cache.get("wildfire", "file:abc") is None  # sources are separate
    cache.put("virustotal", "file:abc", {"found": False}, ttl_seconds=120)  # upsert
    assert cache.get("virustotal", "file:abc") == {"found": False}
    assert _rows(database) == 1
    clock.advance(timedelta(seconds=121))
    assert cache.get("virustotal", "file:abc") is None
    assert cache.purge_expired() == 1
    assert _rows(database) == 0


def test_a_long_key_is_stored_as_a_digest(database: Database) -> None:
    cache = DbEnrichmentCache(database, FakeClock())
    long_key = "cve:" + "9" * 400
    cache.put("nvd", long_key, {"found": False}, ttl_seconds=60)
    assert cache.get("nvd", long_key) == {"found": False}
    assert cache.get("nvd", long_key + "0") is None
    assert len(stored_key(long_key)) <= MAX_KEY_LENGTH
    assert stored_key("short") == "short"


def test_concurrent_writers_of_one_key_never_collide(database: Database) -> None:
    cache = DbEnrichmentCache(database, FakeClock())
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(5):
                cache.put("threatvault", "id:37183", {"found": True, "value": {"n": n}}, 60)
        except BaseException as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _rows(database) == 1
    value = cache.get("threatvault", "id:37183")
    assert value is not None and value["value"]["n"] in range(4)


def test_a_broken_database_means_not_cached(tmp_path: object) -> None:
    # No tables at all: every read and write fails, and the cache says "not cached".
    database = Database(f"sqlite:///{tmp_path}/empty.db")
    try:
        cache = DbEnrichmentCache(database, FakeClock())
        cache.put("nvd", "cve:CVE-2015-0036", {"found": False}, 60)
        assert cache.get("nvd", "cve:CVE-2015-0036") is None
    finally:
        database.dispose()


def test_clients_share_answers_through_the_database(database: Database) -> None:
    with FakeIntel() as intel:
        cache = DbEnrichmentCache(database, FakeClock())
        first = EnrichmentClients.from_settings(**intel.client_settings(), cache=cache)
        second = EnrichmentClients.from_settings(**intel.client_settings(), cache=cache)
        try:
            assert first.virustotal is not None and second.virustotal is not None
            a = first.virustotal.file(dataset.ANTIVIRUS_FILE_SHA256)
            b = second.virustotal.file(dataset.ANTIVIRUS_FILE_SHA256)  # another replica
            assert a is not None and a == b
            assert b.ratio == (dataset.ANTIVIRUS_DETECTED, dataset.ENGINES_TOTAL)
            assert first.virustotal.file(dataset.ZERO_DAY_SHA256) is None
            assert second.virustotal.file(dataset.ZERO_DAY_SHA256) is None  # "unknown" too
            assert intel.request_count("virustotal") == 2
        finally:
            first.close()
            second.close()
