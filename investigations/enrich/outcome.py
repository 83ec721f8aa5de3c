"""How a source consultation went, as the SourceResult a Finding lists."""

from __future__ import annotations

from investigations.enrich.errors import EnrichmentError
from investigations.finding import SourceResult, SourceStatus


def ok(name: str, link: str | None = None) -> SourceResult:
    """The source answered with something."""
    return SourceResult(name=name, status=SourceStatus.OK, link=link)


def not_found(name: str, link: str | None = None) -> SourceResult:
    """The source answered that it does not know the indicator."""
    return SourceResult(name=name, status=SourceStatus.NOT_FOUND, link=link)


def pending(name: str, link: str | None = None) -> SourceResult:
    """The source is still working on it (WildFire analysing)."""
    return SourceResult(name=name, status=SourceStatus.PENDING, link=link)


def off(name: str) -> SourceResult:
    """The source has no API key configured."""
    return SourceResult(name=name, status=SourceStatus.OFF)


def failed(name: str, error: EnrichmentError) -> SourceResult:
    """The source could not answer; the detail is the error's plain-text reason."""
    return SourceResult(name=name, status=SourceStatus.FAILED, detail=error.message)
