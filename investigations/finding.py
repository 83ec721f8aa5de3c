"""What an investigation found: plain data that `bot/views` renders in either language.

Playbooks never write prose: every human-readable piece is a message key of the
catalogs (`bot/i18n/`) with its parameters, so English and Japanese stay complete.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Message(BaseModel):
    """A catalog key and the values its text interpolates."""

    model_config = ConfigDict(frozen=True)

    key: str
    params: dict[str, str | int | float] = Field(default_factory=dict)


class SourceStatus(StrEnum):
    OK = "ok"
    NOT_FOUND = "not_found"  # the source answered: it does not know this
    OFF = "off"  # no API key configured
    FAILED = "failed"  # timed out, errored or over quota
    PENDING = "pending"  # e.g. WildFire still analysing


class SourceResult(BaseModel):
    """One outside source consulted, how it went, and a link a human can follow."""

    model_config = ConfigDict(frozen=True)

    name: str  # threatvault / wildfire / virustotal / nvd / jvn / firewall
    status: SourceStatus
    detail: str | None = None  # short reason when FAILED, plain text (never a secret)
    link: str | None = None


class Fact(BaseModel):
    """One labelled fact: the label is a catalog key, the value firewall/intel text."""

    model_config = ConfigDict(frozen=True)

    label: str
    value: str


class Finding(BaseModel):
    """The outcome of one playbook run on one alert (or on a bare indicator)."""

    model_config = ConfigDict(frozen=True)

    playbook: str  # vulnerability / antivirus / wildfire / spyware / correlation / indicator
    subject: str  # what was investigated: "alert 12", an IP, a hash, a CVE...
    facts: tuple[Fact, ...] = ()
    warnings: tuple[Message, ...] = ()  # shown prominently (e.g. possible zero-day)
    sources: tuple[SourceResult, ...] = ()
    recommendation: Message | None = None
    actions: tuple[str, ...] = ()  # INTERFACE.md action_ids that fit the recommendation
    pending: bool = False  # something (WildFire) is still running: the thread will be updated
