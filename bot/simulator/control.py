"""Test controls: fault injection for the next requests, and a record of every request."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

SECRET_PARAMS = frozenset({"key", "password"})
KeySource = Literal["header", "query", "body"] | None


class FaultKind(StrEnum):
    """What a fault does to a request."""

    DELAY = "delay"
    FAIL = "fail"  # an HTTP error status with an HTML body, as a proxy in front would send
    FORBID = "forbid"  # HTTP 403 Invalid Credential
    MALFORMED = "malformed"  # the right answer, cut off half-way


@dataclass
class _Fault:
    kind: FaultKind
    remaining: int
    only: str | None
    status: int = 500
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do to one request: wait first, then maybe answer an error or garble the body."""

    delay: float = 0.0
    status: int | None = None
    forbid: bool = False
    malformed: bool = False


def kind_matches(only: str | None, kind: str) -> bool:
    """Return whether a fault restricted to `only` applies to a request of `kind`.

    Kinds look like "op", "keygen", "user-id", "log" (submit), "log:get", "log:finish";
    restricting to "log" covers all three log requests.
    """
    return only is None or only == kind or only == kind.split(":", 1)[0]


class Faults:
    """Queued faults, each applied to the next n matching requests in the order queued."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []

    def add(
        self,
        kind: FaultKind,
        n: int,
        *,
        only: str | None = None,
        status: int = 500,
        seconds: float = 0.0,
    ) -> None:
        """Queue a fault for the next n requests (of one kind, if `only` is given)."""
        if n < 1:
            raise ValueError("a fault must apply to at least one request")
        with self._lock:
            self._faults.append(_Fault(kind, n, only, status, seconds))

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def take(self, request_kind: str) -> Plan:
        """Consume the faults that apply to one request and return what to do."""
        delay, status, forbid, malformed = 0.0, None, False, False
        with self._lock:
            for fault in self._faults:
                if not kind_matches(fault.only, request_kind):
                    continue
                if fault.kind is FaultKind.DELAY:
                    delay += fault.seconds
                elif status is not None or forbid or malformed:
                    continue  # one outcome per request; later faults wait for later requests
                elif fault.kind is FaultKind.FAIL:
                    status = fault.status
                elif fault.kind is FaultKind.FORBID:
                    forbid = True
                else:
                    malformed = True
                fault.remaining -= 1
            self._faults = [f for f in self._faults if f.remaining > 0]
        return Plan(delay, status, forbid, malformed)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as received, secrets removed."""

    method: str
    kind: str
    params: MappingProxyType[str, str]
    key_source: KeySource  # where the API key came from, so tests can insist on the header


@dataclass
class Recorder:
    """Every request received, and counts by kind."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _requests: list[RecordedRequest] = field(default_factory=list)

    def record(self, method: str, kind: str, params: dict[str, str], key_source: KeySource) -> None:
        """Remember one request, without its key or password."""
        safe = {k: v for k, v in params.items() if k not in SECRET_PARAMS}
        with self._lock:
            self._requests.append(RecordedRequest(method, kind, MappingProxyType(safe), key_source))

    def requests(self) -> list[RecordedRequest]:
        """Return every recorded request, oldest first."""
        with self._lock:
            return list(self._requests)

    def counts(self) -> Counter[str]:
        """Return how many requests of each kind arrived."""
        with self._lock:
            return Counter(r.kind for r in self._requests)

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._requests.clear()
