"""Logging: one JSON object per line, with the alert, rule and firewall where known.

Every line is one JSON object: a newline inside a message (a firewall field, a user's
text) is escaped by the encoder and cannot start a forged line. Secret values the
composition root registers (`redact_secrets`) are replaced wherever they would appear:
message, context fields or traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime

# Attributes a call site may attach with `extra=` to place a line in context.
CONTEXT_FIELDS = ("alert_id", "rule", "firewall", "action", "user")

REDACTED = "[redacted]"
# Line separators outside ASCII that JSON does not escape (ASCII controls it does).
_LINE_BREAKS = str.maketrans({"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})
# Shorter values are too likely to be ordinary text ("true", a port number) to replace.
_MIN_SECRET = 6


class _Secrets:
    """The registered secret values, longest first (a secret inside another goes whole)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: tuple[str, ...] = ()

    def add(self, values: Iterable[str | None]) -> None:
        with self._lock:
            known = set(self.values) | {v for v in values if v and len(v) >= _MIN_SECRET}
            self.values = tuple(sorted(known, key=len, reverse=True))


_SECRETS = _Secrets()


def redact_secrets(values: Iterable[str | None]) -> None:
    """Register secret values (tokens, keys, passwords) never to be written to the log."""
    _SECRETS.add(values)


def redact(text: str) -> str:
    """Return the text with every registered secret replaced."""
    for secret in _SECRETS.values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


class JsonFormatter(logging.Formatter):
    """Format a record as a JSON line for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        line = json.dumps(entry, ensure_ascii=False, default=str)
        # JSON leaves these unescaped, yet many readers (Python's splitlines, JavaScript)
        # end a line at them: escaped, a hostile field cannot forge a second log line.
        return line.translate(_LINE_BREAKS)


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
