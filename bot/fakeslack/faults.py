"""Queued failures for a method's next calls: rate limits, server errors, dropped connections."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """One injected failure; `status` 0 means drop the connection without answering."""

    status: int
    retry_after: int | None = None

    @property
    def drops(self) -> bool:
        """Whether the connection is closed instead of answered."""
        return self.status == 0


class Faults:
    """Per-method queues of failures, consumed one per call, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: defaultdict[str, deque[Fault]] = defaultdict(deque)

    def add(self, method: str, fault: Fault, n: int) -> None:
        """Queue `n` copies of a fault for the next calls of `method`."""
        with self._lock:
            self._queues[method].extend([fault] * n)

    def take(self, method: str) -> Fault | None:
        """Return the next fault for `method`, if one is queued."""
        with self._lock:
            queue = self._queues.get(method)
            return queue.popleft() if queue else None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queues.clear()
