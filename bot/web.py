"""The HTTP listener: Slack requests (HTTP mode), `/healthz` and `/metrics`.

Bolt's sync `App` is dispatched from a plain `def` endpoint, which Starlette runs in
its thread pool: the event loop never blocks on a listener (FACTS.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from slack_bolt import App
from slack_bolt.request import BoltRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]

# Slack sends at most a few KB; anything much larger is not Slack.
MAX_SLACK_BODY = 1_000_000


def build_web_app(
    *, bolt: App | None, health: HealthCheck, metrics: Callable[[], bytes]
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
            from starlette.concurrency import run_in_threadpool

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
