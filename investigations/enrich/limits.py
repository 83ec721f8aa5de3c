"""Client-side rate limits: wait for a free slot rather than fail, within a bounded wait.

Each source's published limits are sliding windows (Threat Vault 200 a minute and
2,000 a day, NVD 5 per 30 seconds...). A caller reserves the earliest instant at
which every window has room, then sleeps until then outside the lock, so threads
queue fairly and no window is ever overrun. A reservation further away than
`max_wait` raises QuotaExceeded instead: a thread should say "over quota" rather
than hang for a day.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from investigations.enrich.errors import QuotaExceeded

MINUTE = 60.0
DAY = 86_400.0


@dataclass(frozen=True)
class Window:
    """At most `limit` requests in any `period` seconds."""

    limit: int
    period: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period <= 0:
            raise ValueError("a window needs a positive limit and period")


class RateLimiter:
    """A thread-safe limiter over one or more sliding windows, shared by one source's calls."""

    def __init__(
        self,
        source: str,
        windows: Sequence[Window],
        *,
        max_wait: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not windows:
            raise ValueError("a rate limiter needs at least one window")
        self.source = source
        self.windows = tuple(windows)
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._grants: tuple[deque[float], ...] = tuple(deque() for _ in self.windows)
        self._last = float("-inf")

    def acquire(self) -> float:
        """Wait for a free slot in every window; return the seconds waited."""
        with self._lock:
            now = self._clock()
            # Grants stay in time order because each is at least the previous one (FIFO).
            at = max(now, self._last)
            for window, grants in zip(self.windows, self._grants, strict=True):
                while grants and grants[0] <= now - window.period:
                    grants.popleft()
                if len(grants) >= window.limit:
                    at = max(at, grants[-window.limit] + window.period)
            wait = at - now
            if wait > self.max_wait:
                raise QuotaExceeded(
                    self.source, "panbot's rate limit for this source is used up", retry_after=wait
                )
            for grants in self._grants:
                grants.append(at)
            self._last = at
        if wait > 0:
            self._sleep(wait)
        return wait


def virustotal_windows(per_minute: int = 4, per_day: int | None = 500) -> tuple[Window, ...]:
    """VirusTotal's public API allows 4 a minute and 500 a day; premium keys set their own."""
    if per_day is None:
        return (Window(per_minute, MINUTE),)
    return (Window(per_minute, MINUTE), Window(per_day, DAY))


def default_windows(source: str, *, keyed: bool = False) -> tuple[Window, ...]:
    """Return the published limits of a source (`keyed`: NVD with an API key)."""
    if source == "nvd":
        return (Window(50 if keyed else 5, 30.0),)
    if source == "virustotal":
        return virustotal_windows()
    try:
        return _DEFAULTS[source]
    except KeyError:
        raise ValueError(f"unknown enrichment source {source!r}") from None


_DEFAULTS: dict[str, tuple[Window, ...]] = {
    "threatvault": (Window(200, MINUTE), Window(2_000, DAY)),
    # WildFire's quota is per key and per day (419 when spent); this stays under the smallest.
    "wildfire": (Window(100, MINUTE), Window(1_000, DAY)),
    # MyJVN publishes no number; it asks for moderate use.
    "jvn": (Window(3, 1.0),),
}
