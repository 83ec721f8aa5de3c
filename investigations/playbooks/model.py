"""What a playbook is given: the alert's stored facts and what panbot knows of its host.

Plain frozen data built by the caller from its storage, so playbooks never see SQL rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from investigations.enrich.clients import EnrichmentClients
from investigations.enrich.indicators import normalize_cve
from investigations.followup import LogSource
from investigations.network import Network
from investigations.panos.events import Event


class EarlierAlert(BaseModel):
    """Another alert panbot raised for the same host."""

    model_config = ConfigDict(frozen=True)

    alert_id: int
    rule: str
    threat: str | None = None
    state: str = "open"
    first_seen: datetime


class HostContext(BaseModel):
    """What panbot knows of our host: who it is, what was recorded, what happened before."""

    model_config = ConfigDict(frozen=True)

    names: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    patched_for: tuple[str, ...] = ()  # CVE ids and "threat:<id>" subjects
    monitored_until: datetime | None = None
    isolated: bool = False
    earlier_alerts: tuple[EarlierAlert, ...] = ()


def _cves(value: object) -> tuple[str, ...]:
    found: list[str] = []
    for item in value if isinstance(value, list | tuple) else ():
        try:
            found.append(normalize_cve(str(item)))
        except ValueError:
            continue
    return tuple(dict.fromkeys(found))


class AlertFacts(BaseModel):
    """One alert as a playbook sees it: its first event, direction, host and history."""

    model_config = ConfigDict(frozen=True)

    alert_id: int
    rule: str
    event: Event
    direction_words: str = "unknown"
    host: str | None = None
    other: str | None = None
    first_seen: datetime
    count: int = 1
    cves: tuple[str, ...] = ()  # found by an earlier investigation
    host_context: HostContext = HostContext()

    @classmethod
    def from_stored(
        cls,
        *,
        alert_id: int,
        rule: str,
        facts: Mapping[str, Any],
        host: str | None,
        other: str | None,
        first_seen: datetime,
        count: int = 1,
        host_context: HostContext | None = None,
    ) -> AlertFacts:
        """Build from an alert's stored facts dict (the event as JSON plus panbot's keys)."""
        return cls(
            alert_id=alert_id,
            rule=rule,
            event=Event.model_validate(dict(facts)),
            direction_words=str(facts.get("direction_words") or "unknown"),
            host=host,
            other=other,
            first_seen=first_seen,
            count=max(1, count),
            cves=_cves(facts.get("cves")),
            host_context=host_context or HostContext(),
        )

    @property
    def subject(self) -> str:
        """How the finding names the alert."""
        return f"#{self.alert_id} · {self.host}" if self.host else f"#{self.alert_id}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Tools:
    """What playbooks reach the world with; any of the outside sources may be off."""

    clients: EnrichmentClients
    panos: LogSource | None = None
    av_engines: tuple[str, ...] = ()
    networks: Sequence[Network] = field(default_factory=tuple)
    now: Callable[[], datetime] = _utcnow
