"""Alembic, driven from code: `panbot db upgrade`, start-up migrations and `alembic check`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from storage.db import Database

_HERE = Path(__file__).resolve().parent


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE / "migrations"))
    # ConfigParser interpolation would read a "%" in a password as a placeholder.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (head by default).

    Replicas started together (or `panbot db upgrade` beside a starting bot) would race
    to create the same tables; the database-wide lock makes them take turns.
    """
    db = Database(url)
    try:
        with db.exclusive("panbot:migrate"):
            command.upgrade(alembic_config(url), revision)
    finally:
        db.dispose()


def check(url: str) -> None:
    """Raise if the models and the migrations disagree (alembic check)."""
    command.check(alembic_config(url))
