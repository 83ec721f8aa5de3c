"""What every enrichment client holds: base URL, rate limiter, HTTP requester and cache.

The five clients (ThreatVault, WildFire, VirusTotal, Nvd, Jvn) each subclass `Service`
once and pass what is particular to their source: its name, its published rate windows,
the headers that carry its key, how it signals throttling. What a caller may tune is the
same for all five and is typed once, as `Options`. URLs, request shapes, parsing and
verdicts stay in each client's own module.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TypedDict, Unpack

import httpx

from investigations.enrich._http import Requester
from investigations.enrich.cache import Cached, EnrichmentCache
from investigations.enrich.errors import InvalidQuery
from investigations.enrich.limits import RateLimiter, Window


class _RequesterOptions(TypedDict, total=False):
    # The Requester keywords a caller may set; their defaults live in Requester alone.
    transport: httpx.BaseTransport | None
    timeout: float
    sleep: Callable[[float], None]
    max_retry_wait: float


class Options(_RequesterOptions, total=False):
    """The keywords every client's constructor takes after its URL (and key).

    transport       an httpx transport (tests, the fake services); default: the network
    timeout         seconds a request may take (default 10)
    limiter         a shared or roomier RateLimiter; default: the source's published limits
    cache           where answers are kept; default: nowhere
    sleep           how to wait before the one retry after a throttle (tests record it)
    max_retry_wait  the longest Retry-After worth waiting for (default 30 s)
    """

    limiter: RateLimiter | None
    cache: EnrichmentCache | None


class _SourceHttp(_RequesterOptions, total=False):
    # The caller's options plus what the client itself knows of its source's HTTP.
    headers: Mapping[str, str] | None
    max_bytes: int
    throttle_statuses: Collection[int]
    default_retry_after: float


class Service:
    """One source's plumbing; a client adds its URLs, requests and parsing on top."""

    def __init__(
        self,
        source: str,
        base_url: str,
        *,
        windows: Sequence[Window],
        limiter: RateLimiter | None = None,
        cache: EnrichmentCache | None = None,
        **http: Unpack[_SourceHttp],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter or RateLimiter(source, windows)
        self._http = Requester(source, limiter=self.limiter, **http)
        self._cached = Cached(source, cache)

    def __repr__(self) -> str:
        # The base URL only: the requester's headers (and WildFire's form) carry API keys.
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()


def normalized(source: str, normalize: Callable[[str], str], value: str) -> str:
    """Return `normalize(value)`; its ValueError becomes the source's InvalidQuery."""
    try:
        return normalize(value)
    except ValueError as exc:
        # InvalidQuery is a ValueError too, so callers that expect one still catch it.
        raise InvalidQuery(source, str(exc)) from None
