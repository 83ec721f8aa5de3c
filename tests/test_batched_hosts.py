"""`triage.upsert_hosts`: one batch leaves the host rows one `upsert_host` per host would."""

from __future__ import annotations

from sqlalchemy import func, select

from storage import Database, hosts, triage
from storage.models import HostRow


def _names(database: Database, ip: str) -> tuple[list[str], list[str]]:
    with database.session() as s:
        seen = hosts.names(s, ip)
        return list(seen.hosts), list(seen.users)


def test_a_batch_matches_one_call_per_host(database: Database) -> None:
    seen = [
        ("10.0.0.2", ["ws-02"], ["bob"]),
        ("10.0.0.1", ["ws-01"], []),
        ("10.0.0.1", [], ["alice"]),  # the same host twice in one batch: merged
        ("10.0.0.3", [], []),  # nothing seen: the row is still made
    ]
    with database.session() as s:
        triage.upsert_host(s, "10.0.0.2", names=["old-name"], users=["bob"])
    with database.session() as s:
        triage.upsert_hosts(s, seen)

    assert _names(database, "10.0.0.1") == (["ws-01"], ["alice"])
    assert _names(database, "10.0.0.2") == (["old-name", "ws-02"], ["bob"])
    assert _names(database, "10.0.0.3") == ([], [])


def test_an_empty_batch_writes_nothing(database: Database) -> None:
    with database.session() as s:
        triage.upsert_hosts(s, [])
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(HostRow)) == 0
