"""The HTTP face of the fake: Web API routes, response URLs, the Socket Mode WebSocket."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from bot.fakeslack.faults import Fault, Faults
from bot.fakeslack.models import ResponsePost
from bot.fakeslack.socketmode import SocketHub
from bot.fakeslack.state import SlackError, Workspace
from bot.fakeslack.webapi import dispatch

_TRANSPORT_KEY = "fakeslack.transport"


class _ExposeTransport:
    """Put the connection's transport in the scope, so a fault can cut it without an answer."""

    def __init__(self, app: Starlette) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            # uvicorn's h11 `receive` is a method of the request cycle, which owns the transport.
            cycle = getattr(receive, "__self__", None)
            scope[_TRANSPORT_KEY] = getattr(cycle, "transport", None)
        await self._app(scope, receive, send)


async def _drop(request: Request) -> Response:
    transport: asyncio.Transport | None = request.scope.get(_TRANSPORT_KEY)
    if transport is None:
        raise RuntimeError("dropping a connection needs uvicorn's h11 protocol")
    transport.abort()
    # Let connection_lost run, so the server sees the client gone and sends nothing.
    for _ in range(10):
        await asyncio.sleep(0)
    return Response(status_code=500)


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return params
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(parsed, dict):
            raise SlackError("invalid_json")
        params.update(parsed)
    else:
        params.update(parse_qsl(body.decode(), keep_blank_values=True))
    return params


def _fault_response(fault: Fault) -> Response:
    if fault.status == 429:
        return JSONResponse(
            {"ok": False, "error": "ratelimited"},
            status_code=429,
            headers={"Retry-After": str(fault.retry_after if fault.retry_after is not None else 1)},
        )
    return JSONResponse({"ok": False, "error": "fatal_error"}, status_code=fault.status)


def build_app(ws: Workspace, faults: Faults, hub: SocketHub) -> _ExposeTransport:
    """Return the ASGI app serving the Web API, response URLs and Socket Mode."""

    def served(method: str, status: int) -> None:
        with ws.changed:
            if status == 429:
                ws.ratelimited[method] += 1
            ws.changed.notify_all()

    async def web_api(request: Request) -> Response:
        method = request.path_params["method"]
        auth = request.headers.get("authorization", "")
        try:
            params = await _params(request)
        except SlackError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        token = token or params.get("token")
        params.pop("token", None)
        with ws.changed:
            ws.calls.append((method, dict(params)))
            ws.changed.notify_all()
        fault = faults.take(method)
        if fault is not None:
            if fault.drops:
                return await _drop(request)
            served(method, fault.status)
            return _fault_response(fault)
        server = request.scope.get("server") or ("127.0.0.1", 0)
        socket_base = f"ws://{server[0]}:{server[1]}"
        headers = {"x-oauth-scopes": ws.scopes} if token == ws.bot_token else {}
        try:
            body = dispatch(ws, method, params, token, lambda: hub.issue_url(socket_base))
            status = 200
        except SlackError as exc:
            body, status = exc.body(), exc.status
            headers.update(exc.headers)
        served(method, status)
        return JSONResponse(body, status_code=status, headers=headers)

    async def response_url(request: Request) -> Response:
        fault = faults.take("response_url")
        if fault is not None:
            return await _drop(request) if fault.drops else _fault_response(fault)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"ok": False, "error": "invalid_json"}, status_code=400)
        with ws.changed:
            ws.responses.append(ResponsePost(id=request.path_params["id"], body=body))
            ws.changed.notify_all()
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/api/{method}", web_api, methods=["GET", "POST"]),
            Route("/response/{id}", response_url, methods=["POST"]),
            WebSocketRoute("/socket", hub.endpoint),
        ]
    )
    return _ExposeTransport(app)
