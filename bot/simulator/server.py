"""The simulator's HTTP(S) server: `/api/` over a threaded stdlib server in a daemon thread."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import ssl
import tempfile
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from bot.simulator import responses
from bot.simulator.api import (
    DEFAULT_API_KEY,
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    ApiResponse,
    XmlApi,
    request_kind,
)
from bot.simulator.control import FaultKind, Faults, KeySource, RecordedRequest, Recorder
from bot.simulator.scenarios import load_scenario
from bot.simulator.store import Clock, FieldValue, LogStore, TagStore, utc_now
from bot.simulator.tls import server_context, write_self_signed

logger = logging.getLogger(__name__)

MAX_BODY = 1 << 20


class _HttpServer(ThreadingHTTPServer):
    """A threaded server that can cut its open connections when it stops."""

    daemon_threads = True
    sim: SimulatorServer

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        super().__init__(address, _Handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        self.tls: ssl.SSLContext | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        # The handshake runs here, in the connection's own thread, so a slow or broken
        # client cannot stall the accept loop.
        request.settimeout(_Handler.timeout)
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            logger.debug("simulator: TLS handshake failed: %s", exc)
            return
        with self._open_lock:
            self._open.add(wrapped)
        try:
            super().finish_request(wrapped, client_address)
        finally:
            with self._open_lock:
                self._open.discard(wrapped)
            wrapped.close()

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Shut every open connection so keep-alive handler threads end."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # the client may have closed it already
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "PanOS-Simulator"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are dropped after this
    disable_nagle_algorithm = True  # headers and body go out in two writes; don't wait 40 ms
    server: _HttpServer

    def do_GET(self) -> None:
        self._serve(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)), {})

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(ApiResponse(400, responses.error("bad Content-Length", code="400")))
            self.close_connection = True
            return
        raw = self.rfile.read(length).decode("utf-8", errors="replace")
        query = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
        self._serve(query, dict(parse_qsl(raw, keep_blank_values=True)))

    def _serve(self, query: dict[str, str], form: dict[str, str]) -> None:
        if urlsplit(self.path).path.rstrip("/") != "/api":
            self._send(ApiResponse(404, responses.error("not found", code="404")))
            return
        params = {**query, **form}
        header_key = self.headers.get("X-PAN-KEY")
        source: KeySource = None
        if header_key is not None:
            source = "header"
        elif "key" in query:
            source = "query"
        elif "key" in form:
            source = "body"
        self._send(self.server.sim.respond(self.command, params, header_key, source))

    def _send(self, response: ApiResponse) -> None:
        body = response.body.encode("utf-8")
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Never the request line: a client may have put the key in the query string.
        logger.debug("simulator: %s %s -> %s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("simulator: HTTP problem from %s", self.client_address[0])


class SimulatorServer:
    """A PAN-OS XML API simulator on 127.0.0.1, with scenario data and fault injection."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_API_KEY,
        tls: bool = False,
        *,
        timezone: ZoneInfo | None = None,
        scenario: str = "guide",
        now: Clock = utc_now,
        act_polls: int = 1,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
    ) -> None:
        self.host = host
        self._port = port
        self.tls = tls
        self.store = LogStore(timezone=timezone, now=now)
        self.tags = TagStore(now=now)
        self.api = XmlApi(
            store=self.store,
            tags=self.tags,
            api_key=api_key,
            username=username,
            password=password,
            act_polls=act_polls,
        )
        self.faults = Faults()
        self.recorder = Recorder()
        self.cert_path: Path | None = None
        self._stopping = threading.Event()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        load_scenario(self.store, scenario)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("the simulator is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        httpd = _HttpServer((self.host, self._port), family)
        httpd.sim = self
        if self.tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="panbot-sim-tls-")
            cert, key = write_self_signed(Path(self._tmp.name), self.host)
            httpd.tls, self.cert_path = server_context(cert, key), cert
        self._stopping.clear()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.name = "panos-simulator"
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections and release the port (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.cut_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """Return the bound port."""
        if self._httpd is None:
            raise RuntimeError("the simulator is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Return the base URL, e.g. ``http://127.0.0.1:PORT``; the XML API is at ``/api/``."""
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Return the XML API's URL."""
        return self.url + "/api/"

    # ------------------------------------------------------------ requests

    def respond(
        self, method: str, params: dict[str, str], header_key: str | None, source: KeySource
    ) -> ApiResponse:
        """Answer one request: record it, apply any queued fault, then the API."""
        kind = request_kind(params)
        self.recorder.record(method, kind, params, source)
        plan = self.faults.take(kind)
        if plan.delay and self._stopping.wait(plan.delay):
            return _html(503, "Service Unavailable")
        if plan.forbid:
            return ApiResponse(403, responses.credential_error())
        if plan.status is not None:
            return _html(plan.status, "Injected failure")
        response = self.api.handle(params, header_key)
        if plan.malformed:
            cut = response.body[: len(response.body) // 2] + "\x00<"
            return ApiResponse(response.status, cut, response.content_type)
        return response

    # ------------------------------------------------------------ test controls

    def append(self, log_type: str, **fields: FieldValue) -> dict[str, str]:
        """Add one log entry while running (fields by PAN-OS name; `**{"from": ...}` works)."""
        return self.store.append(log_type, fields)

    def fail_next(self, n: int = 1, status: int = 500, *, only: str | None = None) -> None:
        """Answer the next n requests with an HTTP error status."""
        self.faults.add(FaultKind.FAIL, n, only=only, status=status)

    def delay_next(self, n: int = 1, seconds: float = 1.0, *, only: str | None = None) -> None:
        """Hold the next n requests for some seconds before answering."""
        self.faults.add(FaultKind.DELAY, n, only=only, seconds=seconds)

    def malformed_next(self, n: int = 1, *, only: str | None = None) -> None:
        """Cut the next n responses off half-way (unparseable XML)."""
        self.faults.add(FaultKind.MALFORMED, n, only=only)

    def forbid_next(self, n: int = 1, *, only: str | None = None) -> None:
        """Answer the next n requests with 403 Invalid Credential."""
        self.faults.add(FaultKind.FORBID, n, only=only)

    def job_never_finishes(self, never: bool = True) -> None:
        """Keep every log job at ACT (or let them finish again)."""
        self.api.never_finish = never

    @property
    def act_polls(self) -> int:
        """Return how many `action=get` polls answer ACT before FIN."""
        return self.api.act_polls

    @act_polls.setter
    def act_polls(self, polls: int) -> None:
        self.api.act_polls = polls

    def counts(self) -> Counter[str]:
        """Return requests received by kind ("keygen", "op", "log", "log:get", ...)."""
        return self.recorder.counts()

    def requests(self) -> list[RecordedRequest]:
        """Return every request received, key and password removed."""
        return self.recorder.requests()

    def log_queries(self) -> list[tuple[str, str]]:
        """Return (log-type, query) of every log job submitted."""
        return [
            (r.params.get("log-type", "traffic"), r.params.get("query", ""))
            for r in self.recorder.requests()
            if r.kind == "log"
        ]

    def reset(self) -> None:
        """Forget recorded requests and queued faults."""
        self.recorder.clear()
        self.faults.clear()


def _html(status: int, reason: str) -> ApiResponse:
    page = f"<html><head><title>{status} {reason}</title></head><body>{reason}</body></html>"
    return ApiResponse(status, page, "text/html; charset=UTF-8")


def serve(
    host: str = "127.0.0.1",
    port: int = 8443,
    api_key: str = DEFAULT_API_KEY,
    tls: bool = False,
    scenario: str = "guide",
) -> None:
    """Run the simulator until Ctrl-C or SIGTERM, printing its URL."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    sim = SimulatorServer(host, port, api_key, tls, scenario=scenario)
    try:
        with sim:
            print(f"PAN-OS XML API simulator on {sim.api_url} (scenario {scenario})", flush=True)
            while not stop.wait(0.5):
                pass
    except KeyboardInterrupt:
        pass  # Ctrl-C is the documented way to stop
    finally:
        signal.signal(signal.SIGTERM, previous)
