"""Typed answers of the PAN-OS XML API other than log entries."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


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
