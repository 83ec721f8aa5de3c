"""The Socket Mode side: a WebSocket endpoint that sends envelopes and records acknowledgements."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from typing import Any

from starlette.websockets import WebSocket

from bot.fakeslack.state import Workspace

# Slack marks these envelopes as able to carry a response payload in the ack.
_RESPONDING_INTERACTIONS = {"view_submission", "block_suggestion"}


class SocketHub:
    """Connected Socket Mode clients, one-time connection tickets, and envelope delivery."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._sockets: dict[int, tuple[WebSocket, asyncio.AbstractEventLoop]] = {}
        self._ids = itertools.count(1)
        self._turn = itertools.count()

    @property
    def connected(self) -> int:
        """Return how many clients are connected now."""
        with self._lock:
            return len(self._sockets)

    def issue_url(self, base: str) -> str:
        """Return a one-time `ws://` URL, as `apps.connections.open` does."""
        ticket = uuid.uuid4().hex
        with self._lock:
            self._tickets.add(ticket)
        return f"{base}/socket?ticket={ticket}&app_id={self._ws.app_id}"

    async def endpoint(self, websocket: WebSocket) -> None:
        """Serve one client: say hello, then record every acknowledgement it sends."""
        ticket = websocket.query_params.get("ticket", "")
        with self._lock:
            valid = ticket in self._tickets
            self._tickets.discard(ticket)
        if not valid:
            await websocket.close(code=1008)
            return
        await websocket.accept()
        conn_id = next(self._ids)
        with self._lock:
            self._sockets[conn_id] = (websocket, asyncio.get_running_loop())
            count = len(self._sockets)
        await websocket.send_text(json.dumps(self._hello(count)))
        self._ws.notify()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                self._record(message.get("text") or message.get("bytes") or b"")
        finally:
            with self._lock:
                self._sockets.pop(conn_id, None)
            self._ws.notify()

    def _hello(self, count: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": count,
            "debug_info": {
                "host": "fakeslack",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self._ws.app_id},
        }

    def _record(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if isinstance(message, dict) and "envelope_id" in message:
            with self._ws.changed:
                self._ws.acks.append(message)
                self._ws.ack_times.setdefault(str(message["envelope_id"]), time.monotonic())
                self._ws.changed.notify_all()

    def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Send an envelope to one connected client (waiting for one) and return its id."""
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type == "slash_commands" or (
                envelope_type == "interactive" and payload.get("type") in _RESPONDING_INTERACTIONS
            )
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope.update(retry_attempt=0, retry_reason="")
        self._ws.wait_for(lambda: self.connected > 0, timeout)
        with self._lock:
            # Slack hands each envelope to one connection; rotate like its load balancing.
            sockets = list(self._sockets.values())
            websocket, loop = sockets[next(self._turn) % len(sockets)]
        with self._ws.changed:
            self._ws.delivered_at[envelope_id] = time.monotonic()
        sent = asyncio.run_coroutine_threadsafe(websocket.send_text(json.dumps(envelope)), loop)
        sent.result(timeout)
        return envelope_id

    def disconnect(self, reason: str | None = "refresh_requested", timeout: float = 5.0) -> int:
        """Close every client, after Slack's `disconnect` notice unless `reason` is None."""
        with self._lock:
            sockets = list(self._sockets.values())
        notice = None
        if reason is not None:
            body = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fakeslack"}}
            notice = json.dumps(body)
        for websocket, loop in sockets:
            asyncio.run_coroutine_threadsafe(_close(websocket, notice), loop).result(timeout)
        return len(sockets)


async def _close(websocket: WebSocket, notice: str | None) -> None:
    if notice is not None:
        await websocket.send_text(notice)
    await websocket.close(code=1000)
