"""FakeSlack: a real HTTP + WebSocket server on loopback that behaves like Slack for panbot."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import uvicorn

from bot.fakeslack.asgi import build_app
from bot.fakeslack.faults import Fault, Faults
from bot.fakeslack.models import (
    DEFAULT_CHANNELS,
    DEFAULT_SCOPES,
    DEFAULT_USERGROUPS,
    DEFAULT_USERS,
    ChannelSpec,
    Ephemeral,
    Message,
    ResponsePost,
    UserSpec,
    View,
)
from bot.fakeslack.socketmode import SocketHub
from bot.fakeslack.state import Workspace

T = TypeVar("T")


class FakeSlack:
    """Slack's Web API, response URLs and Socket Mode, served from a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bot_token: str = "xoxb-fake",  # noqa: S107 - a fake's token, not a secret
        app_token: str = "xapp-fake",  # noqa: S107 - a fake's token, not a secret
        team_id: str = "T0FAKE",
        bot_user_id: str = "U0PANBOT",
        channels: Mapping[str, ChannelSpec] | None = None,
        users: Mapping[str, UserSpec] | None = None,
        usergroups: Mapping[str, list[str]] | None = None,
        scopes: str = DEFAULT_SCOPES,
        bot_id: str = "B0PANBOT",
        app_id: str = "A0PANBOT",
    ) -> None:
        self._host = host
        self._port = port
        self._ws = Workspace(
            bot_token=bot_token,
            app_token=app_token,
            team_id=team_id,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            scopes=scopes,
            channels=DEFAULT_CHANNELS if channels is None else channels,
            users=DEFAULT_USERS if users is None else users,
            usergroups=DEFAULT_USERGROUPS if usergroups is None else usergroups,
        )
        self._faults = Faults()
        self._hub = SocketHub(self._ws)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Self:
        """Bind, serve in a daemon thread, and return once requests are accepted."""
        if self._server is not None:
            raise RuntimeError("FakeSlack is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError:
            sock.close()
            raise
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self._ws, self._faults, self._hub),
            http="h11",  # dropping a connection relies on h11's request cycle (see asgi.py)
            ws="websockets-sansio",
            lifespan="off",
            log_config=None,
            log_level=None,  # a level here would reconfigure every uvicorn in the process
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fakeslack", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("FakeSlack did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection, stop serving and join the thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (known after `start`)."""
        return self._port

    @property
    def base_url(self) -> str:
        """`http://host:port`, without a trailing slash."""
        return f"http://{self._host}:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base URL for `WebClient(base_url=...)`: the method name is appended."""
        return f"{self.base_url}/api/"

    def response_url(self, id: str = "r1") -> str:
        """A `response_url` whose POSTs are recorded in `.responses`."""
        return f"{self.base_url}/response/{id}"

    @property
    def bot_token(self) -> str:
        """The accepted bot token."""
        return self._ws.bot_token

    @property
    def app_token(self) -> str:
        """The accepted app-level token."""
        return self._ws.app_token

    @property
    def team_id(self) -> str:
        """The workspace id."""
        return self._ws.team_id

    @property
    def bot_user_id(self) -> str:
        """The bot's user id."""
        return self._ws.bot_user_id

    # -- inspection --------------------------------------------------------------------------

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every Web API request in order, faults included, as (method, params without token)."""
        with self._ws.lock:
            return list(self._ws.calls)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The params of every request to one method, in order."""
        return [params for name, params in self.calls if name == method]

    def messages(self, channel: str | None = None) -> list[Message]:
        """Parents and replies in posting order, each with its latest edit applied."""
        with self._ws.lock:
            return [m for m in self._ws.messages if channel is None or m.channel == channel]

    def parents(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, in posting order."""
        return [m for m in self.messages(channel) if m.thread_ts is None]

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        """A thread's replies, in posting order."""
        return [m for m in self.messages(channel) if m.thread_ts == thread_ts]

    def message(self, channel: str, ts: str) -> Message:
        """One message by channel and ts; KeyError when absent."""
        for m in self.messages(channel):
            if m.ts == ts:
                return m
        raise KeyError((channel, ts))

    def delete_message(self, channel: str, ts: str) -> Message:
        """Delete a message as a person in Slack's client may: later calls no longer find it.

        A deleted thread reply is gone; `chat.update` of it answers `message_not_found`.
        """
        with self._ws.changed:
            removed = self._ws.remove_message(channel, ts)
            self._ws.changed.notify_all()
        return removed

    @property
    def ephemerals(self) -> list[Ephemeral]:
        """Every `chat.postEphemeral`, in order."""
        with self._ws.lock:
            return list(self._ws.ephemerals)

    @property
    def views(self) -> list[View]:
        """Modals and App Home views, in order of first opening, latest update applied."""
        with self._ws.lock:
            return list(self._ws.views.values())

    def home(self, user_id: str) -> View | None:
        """The App Home last published for a user."""
        return next((v for v in self.views if v.type == "home" and v.user_id == user_id), None)

    @property
    def responses(self) -> list[ResponsePost]:
        """Every POST to a response URL, in order."""
        with self._ws.lock:
            return list(self._ws.responses)

    def is_member(self, channel: str) -> bool:
        """Whether the bot is in a channel now."""
        with self._ws.lock:
            return self._ws.channels[channel].is_member

    def set_member(self, channel: str, member: bool = True) -> None:
        """Invite the bot to (or remove it from) a channel, as a person would."""
        with self._ws.changed:
            self._ws.channels[channel].is_member = member

    def post_times(self, channel: str) -> list[float]:
        """`time.monotonic()` of each accepted `chat.postMessage` to a channel."""
        with self._ws.lock:
            return list(self._ws.post_times.get(channel, []))

    def max_posts_per_second(self, channel: str, window: float = 1.0) -> int:
        """The most `chat.postMessage` calls accepted for a channel within any `window` seconds."""
        times = self.post_times(channel)
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def enforce_rate_limit(self, min_interval: float | None = 1.0, burst: int = 1) -> None:
        """Answer 429 to a `chat.postMessage` that finds its channel's token bucket empty.

        A channel earns a token every `min_interval` s and holds at most `burst`: Slack's
        "1 per second, short bursts allowed". With `burst=1`, a post within `min_interval`
        of the channel's last one is refused. None lifts the limit.
        """
        self._ws.limit_posts(min_interval, burst)

    def ratelimited_count(self, method: str | None = None) -> int:
        """How many 429s were served, for one method or all."""
        with self._ws.lock:
            if method is None:
                return sum(self._ws.ratelimited.values())
            return self._ws.ratelimited.get(method, 0)

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Return the predicate's first truthy result, or raise TimeoutError."""
        return self._ws.wait_for(predicate, timeout)

    def reset(self) -> None:
        """Forget all records, queued faults and rate settings; restore the seeded channels."""
        self._faults.clear()
        self._ws.reset()
        self.enforce_rate_limit(None)

    # -- fault injection ---------------------------------------------------------------------

    def fail_next(self, method: str, n: int = 1, status: int = 429, retry_after: int = 1) -> None:
        """Answer the next `n` calls of `method` with HTTP `status` (429 carries `Retry-After`)."""
        if not 400 <= status <= 599:
            raise ValueError("status must be an HTTP error")
        self._faults.add(method, Fault(status=status, retry_after=retry_after), n)

    def drop_next(self, method: str, n: int = 1) -> None:
        """Close the connection of the next `n` calls of `method` without answering."""
        self._faults.add(method, Fault(status=0), n)

    # -- Socket Mode -------------------------------------------------------------------------

    @property
    def connected(self) -> int:
        """How many Socket Mode clients are connected."""
        return self._hub.connected

    def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Send an envelope (`slash_commands`, `interactive`, `events_api`); return its id."""
        return self._hub.deliver(
            envelope_type,
            payload,
            accepts_response_payload=accepts_response_payload,
            envelope_id=envelope_id,
            timeout=timeout,
        )

    @property
    def acks(self) -> list[dict[str, Any]]:
        """Every acknowledgement received, as sent (`envelope_id`, optional `payload`)."""
        with self._ws.lock:
            return list(self._ws.acks)

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Return the acknowledgement of an envelope once it arrives, or raise TimeoutError."""

        def find() -> dict[str, Any] | None:
            return next((a for a in self._ws.acks if a.get("envelope_id") == envelope_id), None)

        return self._ws.wait_for(find, timeout)

    def ack_seconds(self, envelope_id: str) -> float:
        """Seconds between delivering an envelope and receiving its acknowledgement."""
        with self._ws.lock:
            return self._ws.ack_times[envelope_id] - self._ws.delivered_at[envelope_id]

    def disconnect_clients(self, reason: str | None = "refresh_requested") -> int:
        """Close every Socket Mode client, after a `disconnect` notice unless `reason` is None.

        Slack's notice makes a client reconnect at once. Without one, a client whose
        `auto_reconnect_enabled` is off simply stops: slack-sdk's built-in client then
        closes in milliseconds instead of waiting out its 3 s receive timeout.
        """
        return self._hub.disconnect(reason)
