"""Errors of the enrichment clients.

    EnrichmentError            anything that kept a source from answering
    ├── SourceUnavailable      network error, timeout, HTTP 5xx
    ├── QuotaExceeded          HTTP 429, WildFire 419, NVD's 403 throttle, a local limit
    ├── AuthFailed             HTTP 401/403: the key is wrong or lacks the right
    ├── InvalidQuery           the indicator is malformed (also a ValueError), WildFire 421
    └── MalformedResponse      the answer could not be parsed, or was too large or unsafe

Messages are short plain text fit for a Slack thread: never a key, never a URL.
"""

from __future__ import annotations


class EnrichmentError(Exception):
    """A source could not answer; `source` names it (threatvault, wildfire, ...)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class SourceUnavailable(EnrichmentError):
    """The source did not answer in time, or answered with a server error."""


class QuotaExceeded(EnrichmentError):
    """The source (or panbot's own limiter) refuses more requests for now."""

    def __init__(self, source: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(source, message)
        self.retry_after = retry_after


class AuthFailed(EnrichmentError):
    """The source rejected the API key."""


class InvalidQuery(EnrichmentError, ValueError):
    """The indicator asked about is not well-formed for this source."""


class MalformedResponse(EnrichmentError):
    """The answer was not in the shape the source documents."""
