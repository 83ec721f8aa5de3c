"""Shared fixtures: the reference samples, and one database fixture for SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import Database
from storage.models import Base

# slack-sdk honours proxy variables even for 127.0.0.1 (FACTS.md): tests talk to loopback only.
for _var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_var, None)

REFERENCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
POSTGRES_URL = os.environ.get(
    "PANBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def reference() -> Path:
    """The shared reference samples; the test is skipped where that folder is absent."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip("../shared/reference is absent")
    return REFERENCE_DIR


_pg_state = {"prepared": False}


def _postgres() -> Database:
    db = Database(POSTGRES_URL)
    try:
        db.ping()
    except Exception as exc:  # a PostgreSQL test that cannot connect fails, never skips
        db.dispose()
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable: {exc}")
    if not _pg_state["prepared"]:
        Base.metadata.drop_all(db.engine)
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        Base.metadata.create_all(db.engine)
        _pg_state["prepared"] = True
    else:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return db


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty panbot database, on SQLite and on PostgreSQL (every test runs on both)."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'panbot.db'}")
        Base.metadata.create_all(db.engine)
    else:
        db = _postgres()
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    """An empty SQLite database, for tests about logic rather than backends."""
    db = Database(f"sqlite:///{tmp_path / 'panbot.db'}")
    Base.metadata.create_all(db.engine)
    try:
        yield db
    finally:
        db.dispose()
