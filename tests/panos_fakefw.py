"""A scripted PAN-OS XML API on 127.0.0.1, for the client tests (real HTTP, real sockets)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.panos_samples import log_enqueued_response, log_get_response

KEY = "LUFRPT1fakeKeyValue0123456789abcdefXYZ=="
OK = b'<response status="success"><result/></response>'


@dataclass
class Seen:
    """One request as the firewall received it."""

    path: str  # with the query string, exactly as sent
    headers: dict[str, str]
    body: bytes
    form: dict[str, str]


@dataclass
class FakeFirewall:
    """Answers like a firewall: log jobs from `pages`, keygen, op and user-id commands."""

    pages: list[list[str]] = field(default_factory=list)  # entries of job 1, job 2...
    act_polls: int = 1  # ACT answers before FIN, per job
    keys: set[str] = field(default_factory=lambda: {KEY})
    user: tuple[str, str] = ("admin", "s3cret-pass")
    op_answers: dict[str, bytes] = field(default_factory=dict)  # cmd substring → answer
    userid_answer: bytes = OK
    seen: list[Seen] = field(default_factory=list)
    _polls: dict[int, int] = field(default_factory=dict)
    _jobs: int = 0

    def answer(self, headers: dict[str, str], form: dict[str, str]) -> tuple[int, bytes]:
        """Return (HTTP status, body) for one request."""
        kind = form.get("type")
        if kind == "keygen":
            if (form.get("user"), form.get("password")) != self.user:
                return 403, (
                    b"<response status = 'error' code = '403'><result><msg>"
                    b"Invalid Credential</msg></result></response>"
                )
            return 200, (
                f'<response status="success"><result><key>{KEY}</key></result></response>'
            ).encode()
        if headers.get("x-pan-key") not in self.keys:
            return 403, (
                b'<response status="error" code="403"><result><msg>Invalid Credential</msg>'
                b"</result></response>"
            )
        if kind == "log":
            return 200, self._log(form)
        if kind == "op":
            for needle, body in self.op_answers.items():
                if needle in form.get("cmd", ""):
                    return 200, body
            return 200, (
                b'<response status="error" code="17"><msg><line>unknown command'
                b"</line></msg></response>"
            )
        if kind == "user-id":
            return 200, self.userid_answer
        return 400, b"bad request"

    def _log(self, form: dict[str, str]) -> bytes:
        action = form.get("action")
        if action is None:
            self._jobs += 1
            return log_enqueued_response(self._jobs)
        job = int(form.get("job-id", "0"))
        if job < 1 or job > self._jobs:
            return (
                f'<response status="error"><msg><line>Job {job} not found</line></msg></response>'
            ).encode()
        if action == "finish":
            return OK
        polls = self._polls.get(job, 0)
        self._polls[job] = polls + 1
        if polls < self.act_polls:
            return log_get_response([], job_id=job, status="ACT")
        entries = self.pages[job - 1] if job <= len(self.pages) else []
        return log_get_response(entries, job_id=job)

    def forms(self, **match: str) -> list[dict[str, str]]:
        """Return the forms received whose fields include `match`."""
        return [s.form for s in self.seen if all(s.form.get(k) == v for k, v in match.items())]


def _handler(firewall: FakeFirewall) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            firewall.seen.append(Seen(self.path, headers, body, form))
            if self.path != "/api/":
                status, answer = 404, b"not found"
            else:
                status, answer = firewall.answer(headers, form)
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(firewall: FakeFirewall) -> Iterator[str]:
    """Serve `firewall` on a free loopback port; yield its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(firewall))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
