"""One source's HTTP plumbing: rate limit, bounded body, one retry after a 429, typed errors."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any

import httpx

from investigations.enrich.errors import (
    AuthFailed,
    InvalidQuery,
    MalformedResponse,
    QuotaExceeded,
    SourceUnavailable,
)
from investigations.enrich.limits import RateLimiter

DEFAULT_MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """A finished response whose body was read within the size bound."""

    source: str
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """Decode the body as JSON or raise MalformedResponse."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise MalformedResponse(self.source, "the answer is not JSON") from None

    def json_object(self) -> dict[str, Any]:
        """Decode the body as a JSON object or raise MalformedResponse."""
        data = self.json()
        if not isinstance(data, dict):
            raise MalformedResponse(self.source, "the answer is not a JSON object")
        return data


@cache
def _tls_context() -> ssl.SSLContext:
    # Building a context loads the CA bundle (~80 ms); five clients can share one.
    return httpx.create_ssl_context()


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a Retry-After header: delay-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Requester:
    """Send one source's requests through its limiter and turn failures into EnrichmentErrors."""

    def __init__(
        self,
        source: str,
        *,
        limiter: RateLimiter,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        throttle_statuses: Collection[int] = (429,),
        default_retry_after: float = 1.0,
        max_retry_wait: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.source = source
        self._limiter = limiter
        self._max_bytes = max_bytes
        self._throttle = frozenset(throttle_statuses)
        self._default_retry_after = default_retry_after
        self._max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._client = httpx.Client(
            transport=transport,
            verify=_tls_context(),
            timeout=timeout,
            headers={"User-Agent": "panbot", **(headers or {})},
            follow_redirects=False,
        )

    def get(self, url: str, *, params: Mapping[str, str] | None = None) -> Reply:
        """GET the URL; 429s are retried once, other statuses are the caller's to read."""
        return self._send("GET", url, params=params)

    def post_form(self, url: str, form: Mapping[str, str]) -> Reply:
        """POST a urlencoded form (WildFire wants its key there, never in the URL)."""
        return self._send("POST", url, form=form)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Reply:
        for attempt in range(2):
            self._limiter.acquire()
            reply = self._once(method, url, params=params, form=form)
            if reply.status in self._throttle:
                wait = retry_after_seconds(reply.headers.get("retry-after"))
                wait = self._default_retry_after if wait is None else wait
                if attempt == 0 and wait <= self._max_retry_wait:
                    self._sleep(wait)
                    continue
                raise QuotaExceeded(
                    self.source, f"over quota (HTTP {reply.status})", retry_after=wait
                )
            if reply.status >= 500:
                raise SourceUnavailable(self.source, f"server error (HTTP {reply.status})")
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
    ) -> Reply:
        try:
            with self._client.stream(
                method, url, params=params, data=dict(form) if form else None
            ) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self._max_bytes:
                    raise self._too_large()
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise self._too_large()
                return Reply(self.source, response.status_code, response.headers, bytes(body))
        except httpx.TimeoutException as exc:
            raise SourceUnavailable(self.source, "timed out") from exc
        except httpx.HTTPError as exc:
            # The exception text can carry the URL; only its kind goes into the message.
            raise SourceUnavailable(self.source, f"unreachable ({type(exc).__name__})") from exc

    def _too_large(self) -> MalformedResponse:
        return MalformedResponse(self.source, f"answer larger than {self._max_bytes} bytes")


def raise_for_auth(reply: Reply) -> None:
    """Raise AuthFailed on 401/403."""
    if reply.status in (401, 403):
        raise AuthFailed(reply.source, f"the API key was refused (HTTP {reply.status})")


def unexpected(reply: Reply) -> MalformedResponse:
    """Describe a status the source does not document for this call."""
    return MalformedResponse(reply.source, f"unexpected HTTP {reply.status}")


def json_answer(reply: Reply) -> dict[str, Any] | None:
    """Read a keyed JSON API's answer: the object on 200, None on 404, else a typed error.

    Threat Vault and VirusTotal both say "not found" with a 404 ({"success": false},
    NotFoundError) and "malformed query" with a 400. NVD does not fit: its 403 is a
    throttle and it documents no 400, so it reads its own answers.
    """
    if reply.status == 404:
        return None
    raise_for_auth(reply)
    if reply.status == 400:
        raise InvalidQuery(reply.source, "the query was refused (HTTP 400)")
    if reply.status != 200:
        raise unexpected(reply)
    return reply.json_object()
