"""Rows for storage-level tests: one alert as the spyware rule would open it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.alerts import NewAlert

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def spyware_alert(
    key: str = "k",
    *,
    host: str = "10.0.0.5",
    first: datetime = T0,
    facts: dict[str, Any] | None = None,
) -> NewAlert:
    """A critical C2 alert of the spyware rule for `host`, first and last seen at `first`."""
    return NewAlert(
        "spyware",
        key,
        host,
        "203.0.113.9",
        "critical",
        "C2",
        "13200",
        "fw",
        first,
        first,
        1,
        {"threat_name": "C2"} if facts is None else facts,
        "C123",
    )
