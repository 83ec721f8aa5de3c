"""The HTTP listener: Slack requests (HTTP mode), `/healthz` and `/metrics`.

Bolt's sync `App` is dispatched in Starlette's thread pool: the event loop never blocks
on a listener (FACTS.md).

Button presses take a shorter road. Slack ignores the body of the answer to a
`block_actions` payload, so once its signature is checked the press is answered 200 on
the event loop and Bolt dispatches it on the press pool, once the presses arriving
together have all been answered. Waiting for Bolt instead (middleware, a listener
thread, an ack polled every 10 ms) puts every earlier press's work in front of the
answer: under 50 presses at once that was seconds, against the 3 s Slack allows.
Everything whose answer carries something (slash commands, modal submissions, options)
still goes through Bolt before it is answered.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any
from urllib.parse import unquote_plus

import uvicorn
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.metrics import Metrics

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]

log = logging.getLogger(__name__)

# Slack sends at most a few KB; anything much larger is not Slack.
MAX_SLACK_BODY = 1_000_000

# Presses answered but not yet dispatched. Past this the listener stops answering
# early and dispatches in line, so a flood slows Slack down instead of growing the
# queue. 2,000 is under a minute of work at the throughput measured in
# docs/performance.md, well inside the 5 minutes a request signature stays valid when
# Bolt checks it again at dispatch.
MAX_QUEUED_PRESSES = 2_000

# Presses answered are held on the event loop until none has come for PRESS_QUIET
# seconds (at most PRESS_HOLD after the first), then handed to the pool together. Work
# started at once competes for the GIL and the CPU with the answers still to write
# (docs/performance.md: 50 presses at once on PostgreSQL, p99 of the answers 84 → 25 ms,
# medians of 15 interleaved runs). Held this briefly, the wave is answered first and
# its work starts a few milliseconds later, unseen by the people pressing: their answer
# comes through response_url, after the work.
PRESS_QUIET = 0.005
PRESS_HOLD = 0.05

Press = tuple[bytes, dict[str, str], str]


class PressLane:
    """Answers signed button presses at once and dispatches them to Bolt in the background.

    `take` runs on the event loop; the presses it answers are held there until none has
    come for `quiet` seconds (at most `hold` after the first), then dispatched on the
    pool together. `release` hands over whatever is held, from any thread: the bot calls
    it at shutdown, after the listener has stopped, so a press answered 200 is always
    worked off (Slack will not send it again).
    """

    def __init__(
        self,
        bolt: App,
        signing_secret: str,
        pool: Executor,
        metrics: Metrics,
        *,
        limit: int = MAX_QUEUED_PRESSES,
        quiet: float = PRESS_QUIET,
        hold: float = PRESS_HOLD,
    ) -> None:
        self._bolt = bolt
        self._verifier = SignatureVerifier(signing_secret)
        self._pool = pool
        self._metrics = metrics
        self._room = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._held: list[Press] = []
        self._held_since = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._quiet = quiet
        self._hold_most = hold

    def take(self, body: bytes, headers: dict[str, str], query: str) -> int | None:
        """The status to answer with now, or None: not a button press, or no room.

        Runs on the event loop, so it only looks: the body is parsed (by Bolt) on the pool.
        """
        if not is_button_press(body, headers):
            return None
        if not self._verifier.is_valid_request(body, headers):
            return 401
        if not self._room.acquire(blocking=False):
            self._metrics.presses_queue_full.inc()
            return None
        self._metrics.presses_waiting.inc()
        self._hold((body, headers, query))
        return 200

    def release(self) -> None:
        """Dispatch every press held so far (thread-safe)."""
        with self._lock:
            held, self._held = self._held, []
            # Not cancelled: at shutdown its loop is gone; should it fire, it finds none.
            self._timer = None
        for press in held:
            try:
                self._pool.submit(self._dispatch, *press)
            except RuntimeError:  # the pool is shut already: work it off here
                self._dispatch(*press)

    def _hold(self, press: Press) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on an event loop: nothing to wait for
            with self._lock:
                self._held.append(press)
            self.release()
            return
        now = loop.time()
        with self._lock:
            if not self._held:
                self._held_since = now
            self._held.append(press)
            if self._timer is not None:
                self._timer.cancel()
            wait = min(self._quiet, max(0.0, self._held_since + self._hold_most - now))
            self._timer = loop.call_later(wait, self.release)

    def _dispatch(self, body: bytes, headers: dict[str, str], query: str) -> None:
        try:
            request = BoltRequest(
                body=body.decode("utf-8", errors="replace"),
                query=query,
                headers={k: [v] for k, v in headers.items()},
            )
            response = self._bolt.dispatch(request)
            if response.status >= 400:
                log.warning(
                    "Bolt refused a button press already answered: HTTP %s", response.status
                )
        except Exception:  # the press is answered already; the log keeps the traceback
            log.exception("a button press failed after it was answered")
        finally:
            self._metrics.presses_waiting.dec()
            self._room.release()


# Slack's interactivity payloads open with their type (shared/reference/slack). Reading
# that much, instead of URL-decoding a few KB of JSON, keeps the event loop's share of a
# press small; a payload laid out otherwise just takes the ordinary road through Bolt.
_BUTTON_PRESS = re.compile(r'\s*\{\s*"type"\s*:\s*"block_actions"\s*[,}]')
_PREFIX = 120


def is_button_press(body: bytes, headers: dict[str, str]) -> bool:
    """True for a form-encoded interactivity payload whose type is `block_actions`."""
    if not headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return False
    if not body.startswith(b"payload="):
        return False
    head = body[len(b"payload=") : len(b"payload=") + _PREFIX].split(b"&", 1)[0]
    try:
        text = unquote_plus(head.decode("ascii"), errors="strict")
    except (UnicodeDecodeError, ValueError):
        return False
    return _BUTTON_PRESS.match(text) is not None


def build_web_app(
    *,
    bolt: App | None,
    health: HealthCheck,
    metrics: Callable[[], bytes],
    presses: PressLane | None = None,
) -> Starlette:
    """The ASGI app: `POST /slack/events` only when a Bolt app is given (HTTP mode)."""

    def healthz(_request: Request) -> Response:
        ok, body = health()
        return JSONResponse(body, status_code=200 if ok else 503)

    def prometheus(_request: Request) -> Response:
        return Response(metrics(), media_type="text/plain; version=0.0.4; charset=utf-8")

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    if bolt is not None:
        app = bolt

        async def slack_events(request: Request) -> Response:
            body = await request.body()
            if len(body) > MAX_SLACK_BODY:
                return Response("request too large", status_code=413)
            if presses is not None:
                status = presses.take(body, dict(request.headers), request.url.query)
                if status is not None:
                    return Response(status_code=status)
            try:
                # Bolt parses the body before it checks the signature: a stranger's garbage
                # must get a plain 400 here, not a 500 and a traceback in our log.
                bolt_request = BoltRequest(
                    body=body.decode("utf-8", errors="replace"),
                    query=request.url.query,
                    headers={k: [v] for k, v in request.headers.items()},
                )
            except (ValueError, TypeError, KeyError, AttributeError):
                return Response("bad request", status_code=400)
            bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
            return Response(
                content=bolt_response.body,
                status_code=bolt_response.status,
                headers={k: v[0] for k, v in bolt_response.headers.items() if v},
            )

        routes.append(Route("/slack/events", slack_events, methods=["POST"]))
    return Starlette(routes=routes)


class WebServer:
    """uvicorn in a background thread, stoppable."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="panbot-http", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if self._server.started:
                return
            deadline.wait(0.02)
        raise RuntimeError("HTTP listener did not start")

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        servers = getattr(self._server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("HTTP listener is not running")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
