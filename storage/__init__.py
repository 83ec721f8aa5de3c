"""panbot's state: SQLAlchemy models, repositories and Alembic migrations."""

from storage.db import Database, Session

__all__ = ["Database", "Session"]
