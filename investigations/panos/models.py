"""Typed answers of the PAN-OS XML API (log entries themselves are `events.Event`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timezone

from pydantic import BaseModel, ConfigDict

from investigations.panos.events import Event


class SystemInfo(BaseModel):
    """What `show system info` says about the device."""

    model_config = ConfigDict(frozen=True)

    hostname: str | None = None
    serial: str | None = None
    model: str | None = None
    sw_version: str | None = None


class ThreatSignature(BaseModel):
    """A threat signature as the firewall's content database describes it."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str | None = None
    description: str | None = None
    cves: tuple[str, ...] = ()
    severity: str | None = None


@dataclass(frozen=True, slots=True)
class JobStatus:
    """Where a log job stands: `status` is ACT (running), FIN (done) or PEND."""

    status: str
    progress: int | None
    count: int | None

    @property
    def finished(self) -> bool:
        """Return whether the job's results are complete."""
        return self.status == "FIN"


@dataclass(frozen=True, slots=True)
class LogAnswer:
    """A `type=log&action=get` answer: where the job stands and, once FIN, its entries.

    `entries` counts every entry of the page, `skipped` holds the (serial, seqno) of those
    whose Event was not built because the caller already knew them; paging follows
    `entries`, never `len(events)`.
    """

    status: JobStatus
    events: list[Event]
    entries: int
    skipped: list[tuple[str, int]]
    offset: timezone | None


class LogPage(list[Event]):
    """One page of Events as `PanosClient.iter_log_pages` yields it (a plain list to most)."""

    def __init__(
        self, events: Iterable[Event] = (), *, skipped: Sequence[tuple[str, int]] = ()
    ) -> None:
        super().__init__(events)
        # (serial, seqno) of the page's entries left out because the caller knew them
        # already: read, but not built.
        self.skipped = skipped
