"""The rate limiter waits for a slot (fake clock), fails past its bound, and is thread-safe."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from investigations.enrich._http import retry_after_seconds
from investigations.enrich.errors import EnrichmentError, QuotaExceeded
from investigations.enrich.limits import DAY, RateLimiter, Window, default_windows


class FakeClock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def limiter(clock: FakeClock, *windows: Window, max_wait: float = 60.0) -> RateLimiter:
    return RateLimiter("nvd", windows, max_wait=max_wait, clock=clock, sleep=clock.sleep)


def test_requests_within_the_limit_do_not_wait() -> None:
    clock = FakeClock()
    nvd = limiter(clock, Window(5, 30.0))
    assert [nvd.acquire() for _ in range(5)] == [0.0] * 5
    assert clock.sleeps == []


def test_the_next_request_waits_for_the_oldest_to_leave_the_window() -> None:
    clock = FakeClock()
    nvd = limiter(clock, Window(5, 30.0))
    for _ in range(5):
        nvd.acquire()
        clock.now += 2.0  # requests at 1000, 1002, ... 1008
    # now 1010; the first slot frees at 1030
    assert nvd.acquire() == pytest.approx(20.0)
    assert clock.now == pytest.approx(1030.0)
    assert nvd.acquire() == pytest.approx(2.0)  # the second frees at 1032


def test_every_window_must_have_room() -> None:
    clock = FakeClock()
    tv = limiter(clock, Window(200, 60.0), Window(3, DAY), max_wait=DAY)
    for _ in range(3):
        tv.acquire()
    assert tv.acquire() == pytest.approx(DAY)


def test_a_wait_beyond_the_bound_raises_quota_exceeded_without_using_a_slot() -> None:
    clock = FakeClock()
    wf = limiter(clock, Window(2, DAY), max_wait=30.0)
    wf.acquire()
    wf.acquire()
    with pytest.raises(QuotaExceeded) as caught:
        wf.acquire()
    assert isinstance(caught.value, EnrichmentError)
    assert caught.value.retry_after == pytest.approx(DAY)
    assert clock.sleeps == []
    clock.now += DAY
    assert wf.acquire() == 0.0  # the refused call reserved nothing


def test_default_windows_follow_the_published_limits() -> None:
    assert default_windows("nvd") == (Window(5, 30.0),)
    assert default_windows("nvd", keyed=True) == (Window(50, 30.0),)
    assert Window(4, 60.0) in default_windows("virustotal")
    assert Window(200, 60.0) in default_windows("threatvault")
    assert any(w.period == DAY for w in default_windows("wildfire"))
    with pytest.raises(ValueError):
        default_windows("shodan")


def test_threads_never_overrun_a_window() -> None:
    limit, period = 4, 0.15
    shared = RateLimiter("jvn", [Window(limit, period)], max_wait=5.0)
    grants: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(3):
            shared.acquire()
            with lock:
                grants.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    grants.sort()
    assert len(grants) == 12
    tolerance = 0.01  # sleep() may wake a hair early or late
    for i in range(len(grants) - limit):
        assert grants[i + limit] - grants[i] >= period - tolerance


@pytest.mark.parametrize(
    ("header", "expected"),
    [("2", 2.0), (" 120 ", 120.0), (None, None), ("soon", None), ("-1", None)],
)
def test_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert retry_after_seconds(header) == expected


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 5, 10, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Mon, 05 Jan 2026 10:00:30 GMT", now=now) == pytest.approx(30.0)
    assert retry_after_seconds("Mon, 05 Jan 2026 09:00:00 GMT", now=now) == 0.0
