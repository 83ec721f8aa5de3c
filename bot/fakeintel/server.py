"""FakeIntel: Threat Vault, WildFire, VirusTotal, NVD and MyJVN on one loopback HTTP server.

It answers in each service's real wire shapes so `panbot demo` and the tests can
show enrichment with no accounts. Every service checks the key where the real one
does (header or form field, never the URL), records each request, and can be told
to fail, throttle or stall the next few requests.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypedDict
from urllib.parse import parse_qs, urlsplit

from bot.fakeintel import routes
from bot.fakeintel.dataset import seed as seed_dataset
from bot.fakeintel.records import Cve, JvnNote, Network, Sample, Signature
from bot.fakeintel.routes import Answer, Call, Store

DEFAULT_API_KEY = "panbot-fakeintel-key"
PREFIXES = {
    "threatvault": "/threatvault/service/v1",
    "wildfire": "/wildfire/publicapi",
    "virustotal": "/virustotal/api/v3",
    "nvd": "/nvd/rest/json/cves/2.0",
    "jvn": "/jvn/myjvn",
}
_ROUTES = {
    "threatvault": routes.threatvault,
    "wildfire": routes.wildfire,
    "virustotal": routes.virustotal,
    "nvd": routes.nvd,
    "jvn": routes.jvn,
}
_MAX_BODY = 1024 * 1024


class ClientSettings(TypedDict):
    """The arguments of `EnrichmentClients.from_settings` that point at a FakeIntel."""

    threatvault_url: str
    threatvault_api_key: str | None
    wildfire_url: str
    wildfire_api_key: str | None
    virustotal_url: str
    virustotal_api_key: str | None
    nvd_url: str
    nvd_api_key: str | None
    jvn_url: str


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (header names in lower case)."""

    service: str
    method: str
    target: str  # path and query string
    headers: dict[str, str]
    body: bytes

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string's parameters."""
        return parse_qs(urlsplit(self.target).query)

    @property
    def form(self) -> dict[str, list[str]]:
        """The urlencoded body's fields."""
        return parse_qs(self.body.decode("utf-8", "replace"))


@dataclass(frozen=True)
class _Script:
    answer: Answer | None  # None: answer normally, after the delay
    delay: float = 0.0


class FakeIntel:
    """The five intel services on http://127.0.0.1:<port>, serving until close()."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        seed: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self._store = Store()
        self._scripts: dict[str, deque[_Script]] = {s: deque() for s in PREFIXES}
        self._log: list[RecordedRequest] = []
        self._stopping = threading.Event()
        if seed:
            seed_dataset(self)
        self._server = _Server((host, port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://host:port` of the server."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def urls(self) -> dict[str, str]:
        """The base URL of each service, as the PANBOT_*_URL settings expect them."""
        return {service: f"{self.base_url}{prefix}" for service, prefix in PREFIXES.items()}

    def client_settings(self) -> ClientSettings:
        """Return `EnrichmentClients.from_settings` arguments pointing every source here."""
        return {
            "threatvault_url": self.urls["threatvault"],
            "threatvault_api_key": self.api_key,
            "wildfire_url": self.urls["wildfire"],
            "wildfire_api_key": self.api_key,
            "virustotal_url": self.urls["virustotal"],
            "virustotal_api_key": self.api_key,
            "nvd_url": self.urls["nvd"],
            "nvd_api_key": self.api_key,
            "jvn_url": self.urls["jvn"],
        }

    def close(self) -> None:
        """Stop serving; stalled requests are released at once."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeIntel:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- data ---------------------------------------------------------------------------

    def add_signature(
        self,
        threat_id: str | int,
        name: str,
        *,
        kind: str = "vulnerability",
        description: str = "",
        severity: str = "critical",
        category: str = "",
        cves: Iterable[str] = (),
        vendor_ids: Iterable[str] = (),
        references: Iterable[str] = (),
        default_action: str = "alert",
        related_sha256: Iterable[str] = (),
    ) -> Signature:
        """Add (or replace) a Threat Vault signature."""
        sig = Signature(
            id=str(threat_id),
            name=name,
            kind=kind,
            description=description or f"This signature detects {name}.",
            severity=severity,
            category=category or kind,
            cves=tuple(cves),
            vendor_ids=tuple(vendor_ids),
            references=tuple(references),
            default_action=default_action,
            related_sha256=tuple(related_sha256),
        )
        with self._lock:
            self._store.signatures[sig.id] = sig
        return sig

    def add_file(
        self,
        sha256: str,
        malicious: int | None,
        total: int,
        *,
        engines: Mapping[str, str] | None = None,
        wildfire_verdict: int | None = None,
        network: Network | None = None,
        name: str = "sample.bin",
        file_type: str = "PE32 executable",
        size: int = 24_576,
        md5: str | None = None,
        sha1: str | None = None,
        signature_ids: Iterable[str | int] = (),
        family: str = "",
    ) -> Sample:
        """Add a file that `malicious` of `total` VirusTotal engines detect.

        `malicious=None`: VirusTotal never saw it (the zero-day case); `engines` names
        some of the detections; `wildfire_verdict` is WildFire's code (None: never
        submitted, -100: still analysing).
        """
        named = dict(engines or {})
        if malicious is not None and not len(named) <= malicious <= total:
            raise ValueError("need len(engines) <= malicious <= total")
        sample = Sample(
            sha256=sha256.lower(),
            md5=(md5 or sha256[:32]).lower(),
            sha1=(sha1 or sha256[:40]).lower(),
            name=name,
            file_type=file_type,
            size=size,
            malicious=malicious,
            total=total,
            engines=named,
            wildfire_verdict=wildfire_verdict,
            network=network or Network(),
            signature_ids=tuple(str(s) for s in signature_ids),
            family=family,
        )
        with self._lock:
            self._store.samples[sample.sha256] = sample
        return sample

    def add_cve(
        self,
        cve_id: str,
        description: str,
        *,
        score: float,
        severity: str,
        vector: str,
        version: str = "3.1",
        references: Iterable[tuple[str, Iterable[str]]] = (),
        published: datetime | None = None,
        kev: Mapping[str, str] | None = None,
        cwe: str = "NVD-CWE-noinfo",
    ) -> Cve:
        """Add an NVD record; `kev` holds cisaExploitAdd/cisaActionDue/... when CISA lists it."""
        kev = kev or {}
        cve = Cve(
            id=cve_id.upper(),
            description=description,
            score=score,
            severity=severity,
            vector=vector,
            version=version,
            references=tuple((url, tuple(tags)) for url, tags in references),
            cwe=cwe,
            kev_added=kev.get("cisaExploitAdd"),
            kev_due=kev.get("cisaActionDue"),
            kev_action=kev.get("cisaRequiredAction"),
            kev_name=kev.get("cisaVulnerabilityName"),
            **({"published": published} if published else {}),
        )
        with self._lock:
            self._store.cves[cve.id] = cve
        return cve

    def add_jvn(
        self,
        vuln_id: str,
        cves: Iterable[str],
        title: str,
        overview: str,
        *,
        impact: str = "",
        solution: str = "",
        score: float = 9.8,
        severity: str = "Critical",
        vector: str = "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        cvss_version: str = "3.0",
        published: datetime | None = None,
    ) -> JvnNote:
        """Add a JVN iPedia note (Japanese; the overview may hold HTML, as MyJVN's does)."""
        when = published or datetime(2015, 2, 12, 12, 0, tzinfo=UTC)
        note = JvnNote(
            vuln_id=vuln_id,
            cves=tuple(c.upper() for c in cves),
            title=title,
            overview=overview,
            impact=impact,
            solution=solution,
            score=score,
            severity=severity,
            vector=vector,
            cvss_version=cvss_version,
            published=when,
            last_updated=when,
        )
        with self._lock:
            self._store.notes[note.vuln_id] = note
        return note

    # --- faults and records -------------------------------------------------------------

    def fail_next(
        self,
        service: str,
        n: int = 1,
        status: int = 503,
        *,
        retry_after: float | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the service's next n requests with `status` (429 with Retry-After, 419, ...)."""
        headers = () if retry_after is None else (("Retry-After", f"{retry_after:g}"),)
        body = f"HTTP {status}".encode()
        self._script(service, n, _Script(Answer(status, body, headers=headers), delay))

    def slow_next(self, service: str, delay: float, n: int = 1) -> None:
        """Answer the service's next n requests normally, but only after `delay` seconds."""
        self._script(service, n, _Script(None, delay))

    def respond_next(
        self,
        service: str,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "application/json",
        n: int = 1,
    ) -> None:
        """Answer the service's next n requests with exactly these bytes."""
        self._script(service, n, _Script(Answer(status, body, content_type)))

    def request_count(self, service: str) -> int:
        """How many requests the service received."""
        return Counter(r.service for r in self.requests)[service]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._log)

    def _script(self, service: str, n: int, script: _Script) -> None:
        if service not in PREFIXES:
            raise ValueError(f"unknown service {service!r}")
        with self._lock:
            self._scripts[service].extend([script] * n)

    # --- dispatch -----------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        """Answer one request."""
        path = urlsplit(target).path
        service = next(
            (s for s, p in PREFIXES.items() if path == p or path.startswith(p + "/")), None
        )
        if service is None:
            return Answer(404, b"no such service")
        with self._lock:
            self._log.append(RecordedRequest(service, method, target, headers, body))
            script = self._scripts[service].popleft() if self._scripts[service] else None
        if script is not None:
            if script.delay and self._stopping.wait(script.delay):
                return Answer(503, b"shutting down")
            if script.answer is not None:
                return script.answer
        query = {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}
        call = Call(method, path[len(PREFIXES[service]) :], query, headers, body)
        with self._lock:
            store = Store(
                dict(self._store.signatures),
                dict(self._store.samples),
                dict(self._store.cves),
                dict(self._store.notes),
            )
        return _ROUTES[service](store, call, self.api_key)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], intel: FakeIntel) -> None:
        self.intel = intel
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout test) leaves a broken pipe behind: expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: close() never waits on idle ones

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test and demo output clean

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, _MAX_BODY)) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.intel.handle(method, self.path, headers, body)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)
