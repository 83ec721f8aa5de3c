"""What every client shares: failures become typed errors, keys stay secret, the cache is used."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.fakeintel import FakeIntel
from bot.fakeintel import dataset as demo
from investigations.enrich import EnrichmentClients
from investigations.enrich._http import Requester
from investigations.enrich.errors import (
    EnrichmentError,
    MalformedResponse,
    SourceUnavailable,
)
from investigations.enrich.limits import RateLimiter, Window
from investigations.enrich.nvd import Nvd
from investigations.enrich.virustotal import FileReport, VirusTotal
from investigations.enrich.wildfire import WildFire

SECRET = "sk-THIS-MUST-NEVER-LEAK-4242"


@pytest.fixture
def intel() -> Iterator[FakeIntel]:
    with FakeIntel(api_key=SECRET) as fake:
        yield fake


def roomy(source: str) -> RateLimiter:
    return RateLimiter(source, [Window(1000, 1.0)])


class DictCache:
    """An in-memory EnrichmentCache that records what was stored."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], dict[str, Any]] = {}
        self.ttls: dict[tuple[str, str], int] = {}

    def get(self, source: str, key: str) -> dict[str, Any] | None:
        return self.entries.get((source, key))

    def put(self, source: str, key: str, value: dict[str, Any], ttl_seconds: int) -> None:
        self.entries[(source, key)] = value
        self.ttls[(source, key)] = ttl_seconds


def test_a_slow_source_times_out(intel: FakeIntel) -> None:
    intel.slow_next("nvd", delay=5.0)
    client = Nvd(intel.urls["nvd"], timeout=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(SourceUnavailable, match="timed out"):
            client.cve(demo.IE_CVE)
    finally:
        client.close()
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_source_unavailable(intel: FakeIntel, status: int) -> None:
    intel.fail_next("nvd", 1, status)
    client = Nvd(intel.urls["nvd"])
    try:
        with pytest.raises(SourceUnavailable, match=f"HTTP {status}"):
            client.cve(demo.IE_CVE)
    finally:
        client.close()
    assert intel.request_count("nvd") == 1  # a 5xx is not retried here; the job may retry


def test_an_unreachable_source_is_source_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    client = VirusTotal(f"http://127.0.0.1:{port}/api/v3", SECRET, timeout=2.0)
    try:
        with pytest.raises(SourceUnavailable, match="unreachable"):
            client.file(demo.ANTIVIRUS_FILE_SHA256)
    finally:
        client.close()


def test_a_body_without_length_is_cut_at_the_bound() -> None:
    # A streamed body with no Content-Length: only a mock transport makes one easily.
    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 1000] * 100))

    http = Requester(
        "virustotal",
        limiter=roomy("virustotal"),
        transport=httpx.MockTransport(endless),
        max_bytes=5000,
    )
    try:
        with pytest.raises(MalformedResponse, match="larger than 5000"):
            http.get("http://vt.test/files/x")
    finally:
        http.close()


def test_a_declared_length_over_the_bound_is_refused(intel: FakeIntel) -> None:
    intel.respond_next("nvd", b"{" + b" " * 10_000 + b"}")
    http = Requester("nvd", limiter=roomy("nvd"), max_bytes=1000)
    try:
        with pytest.raises(MalformedResponse, match="larger than 1000"):
            http.get(intel.urls["nvd"])
    finally:
        http.close()


def test_non_json_is_malformed(intel: FakeIntel) -> None:
    intel.respond_next("virustotal", b"<html>oops</html>", content_type="text/html")
    client = VirusTotal(intel.urls["virustotal"], SECRET)
    try:
        with pytest.raises(MalformedResponse, match="not JSON"):
            client.file(demo.ANTIVIRUS_FILE_SHA256)
    finally:
        client.close()


def _every_call(clients: EnrichmentClients) -> list[Callable[[], object]]:
    tv, wf, vt, nvd, jvn = (
        clients.threatvault,
        clients.wildfire,
        clients.virustotal,
        clients.nvd,
        clients.jvn,
    )
    assert tv and wf and vt and nvd and jvn
    return [
        lambda: tv.by_signature_id(demo.IE_SIGNATURE_ID),
        lambda: wf.report(demo.WILDFIRE_FILE_SHA256),
        lambda: vt.file(demo.WILDFIRE_FILE_SHA256),
        lambda: nvd.cve(demo.IE_CVE),
        lambda: jvn.by_cve(demo.IE_CVE),
    ]


@pytest.mark.parametrize("status", [None, 401, 419, 429, 500])
def test_keys_never_appear_in_urls_errors_or_reprs(intel: FakeIntel, status: int | None) -> None:
    with EnrichmentClients.from_settings(
        **intel.client_settings(), virustotal_per_minute=1000, timeout=2.0
    ) as clients:
        errors: list[EnrichmentError] = []
        for service in ("threatvault", "wildfire", "virustotal", "nvd", "jvn"):
            if status is not None:
                intel.fail_next(service, 2, status, retry_after=0)
        for call in _every_call(clients):
            try:
                call()
            except EnrichmentError as exc:
                errors.append(exc)
        if status is not None:
            assert len(errors) == 5
        texts = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(clients)]
        assert all(SECRET not in text for text in texts)
    requests = intel.requests
    assert {r.service for r in requests} == {"threatvault", "wildfire", "virustotal", "nvd", "jvn"}
    for request in requests:
        assert SECRET not in request.target
        carriers = [k for k, v in request.headers.items() if SECRET in v]
        in_form = SECRET.encode() in request.body
        expected = {
            "threatvault": (["x-api-key"], False),
            "virustotal": (["x-apikey"], False),
            "nvd": (["apikey"], False),
            "wildfire": ([], True),
            "jvn": ([], False),
        }[request.service]
        assert (carriers, in_form) == expected, request.service


def test_cache_hits_skip_the_source(intel: FakeIntel) -> None:
    cache = DictCache()
    client = VirusTotal(intel.urls["virustotal"], SECRET, cache=cache, limiter=roomy("virustotal"))
    try:
        first = client.file(demo.ANTIVIRUS_FILE_SHA256.upper())
        second = client.file(demo.ANTIVIRUS_FILE_SHA256)
        assert first is not None and first == second
        assert intel.request_count("virustotal") == 1
        stored = cache.entries[("virustotal", f"file:{demo.ANTIVIRUS_FILE_SHA256}")]
        assert stored["found"] is True
        assert FileReport.model_validate(stored["value"]) == first  # plain JSON round-trips
        # "never seen" is remembered too, for less time
        assert client.file(demo.ZERO_DAY_SHA256) is None
        assert client.file(demo.ZERO_DAY_SHA256) is None
        assert intel.request_count("virustotal") == 2
        key = ("virustotal", f"file:{demo.ZERO_DAY_SHA256}")
        assert cache.entries[key] == {"found": False}
        assert cache.ttls[key] < cache.ttls[("virustotal", f"file:{demo.ANTIVIRUS_FILE_SHA256}")]
    finally:
        client.close()


def test_a_corrupt_cache_entry_is_refetched(intel: FakeIntel) -> None:
    cache = DictCache()
    key = ("nvd", f"cve:{demo.IE_CVE}")
    cache.entries[key] = {"found": True, "value": {"id": 42}}
    client = Nvd(intel.urls["nvd"], cache=cache)
    try:
        record = client.cve(demo.IE_CVE)
    finally:
        client.close()
    assert record is not None and record.id == demo.IE_CVE
    assert intel.request_count("nvd") == 1
    assert cache.entries[key]["value"]["id"] == demo.IE_CVE


def test_pending_answers_are_not_cached(intel: FakeIntel) -> None:
    sha = "ef" * 32
    intel.add_file(sha, None, 0, wildfire_verdict=-100)
    cache = DictCache()
    client = WildFire(intel.urls["wildfire"], SECRET, cache=cache)
    try:
        assert client.verdict(sha).code == -100
        report = client.report(sha)
        assert report is not None and report.pending
        assert cache.entries == {}
        client.verdict(demo.WILDFIRE_FILE_SHA256)
        assert ("wildfire", f"verdict:{demo.WILDFIRE_FILE_SHA256}") in cache.entries
    finally:
        client.close()
