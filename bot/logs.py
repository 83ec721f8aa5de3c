"""Logging: one JSON object per line, with the alert, rule and firewall where known."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

# Attributes a call site may attach with `extra=` to place a line in context.
CONTEXT_FIELDS = ("alert_id", "rule", "firewall", "action", "user")


class JsonFormatter(logging.Formatter):
    """Format a record as a JSON line for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> None:
    """Send every log line to stderr as JSON at `level` (PANBOT_LOG_LEVEL)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Chatty libraries: httpx logs every request URL at INFO, alembic its plugins.
    for name in ("httpx", "httpcore", "alembic", "apscheduler", "slack_sdk", "uvicorn"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
