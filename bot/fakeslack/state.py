"""The fake workspace's state: channels, users, what was posted, what was called."""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from bot.fakeslack.models import (
    ChannelSpec,
    Ephemeral,
    Message,
    ResponsePost,
    UserSpec,
    View,
)

T = TypeVar("T")


class SlackError(Exception):
    """A Web API failure, answered as `{"ok": false, "error": ...}` with an HTTP status."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """Return the JSON body Slack would answer with."""
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class Channel:
    """A conversation in the fake workspace."""

    id: str
    name: str
    is_private: bool = False
    is_member: bool = False
    is_archived: bool = False
    is_im: bool = False

    @classmethod
    def from_spec(cls, channel_id: str, spec: ChannelSpec) -> Channel:
        """Build a channel from its seed."""
        return cls(
            id=channel_id,
            name=spec.get("name", channel_id.lower()),
            is_private=spec.get("is_private", channel_id.startswith("G")),
            is_member=spec.get("is_member", False),
            is_archived=spec.get("is_archived", False),
        )

    def info(self) -> dict[str, Any]:
        """Return the `channel` object of `conversations.info`."""
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private and not self.is_im,
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.is_member,
            "is_general": self.name == "general",
        }


class Workspace:
    """Everything the fake knows, guarded by one re-entrant lock and one condition."""

    def __init__(
        self,
        *,
        bot_token: str,
        app_token: str,
        team_id: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        scopes: str,
        channels: Mapping[str, ChannelSpec],
        users: Mapping[str, UserSpec],
        usergroups: Mapping[str, list[str]],
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.scopes = scopes
        self.users: dict[str, UserSpec] = {k: dict(v) for k, v in users.items()}  # type: ignore[misc]
        self.users.setdefault(
            bot_user_id, {"name": "panbot", "real_name": "panbot", "is_bot": True}
        )
        self.usergroups = {k: list(v) for k, v in usergroups.items()}
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        # chat.postMessage's limit per channel, a token bucket like Slack's documented "1 per
        # second, short bursts allowed": one token per interval, at most `post_burst`; a post
        # finding none is answered 429. None = off.
        self.min_post_interval: float | None = None
        self.post_burst = 1
        self._channel_specs = dict(channels)
        self._last_us = 0
        self._init_recorded()

    def _init_recorded(self) -> None:
        self.channels = {k: Channel.from_spec(k, v) for k, v in self._channel_specs.items()}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.messages: list[Message] = []
        self.message_index: dict[tuple[str, str], int] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.responses: list[ResponsePost] = []
        self.acks: list[dict[str, Any]] = []
        self.ack_times: dict[str, float] = {}
        self.delivered_at: dict[str, float] = {}
        self.post_times: defaultdict[str, list[float]] = defaultdict(list)
        # Per channel, when its bucket is full again (posts accepted while the limit is on).
        self.post_full_at: dict[str, float] = {}
        self.ratelimited: defaultdict[str, int] = defaultdict(int)
        self.used_triggers: set[str] = set()

    def reset(self) -> None:
        """Forget everything recorded and restore the seeded channels."""
        with self.changed:
            self._init_recorded()
            self.changed.notify_all()

    def limit_posts(self, min_interval: float | None, burst: int = 1) -> None:
        """Set (or, with None, lift) the per-channel post limit; every bucket starts full."""
        if burst < 1:
            raise ValueError("burst must be at least 1")
        with self.lock:
            self.min_post_interval = min_interval
            self.post_burst = burst
            self.post_full_at = {}

    def admit_post(self, channel: str, now: float) -> bool:
        """Take a token for a post to `channel` at `now`; False, taking nothing, if none is left."""
        interval = self.min_post_interval
        if interval is None:
            return True
        full_at = self.post_full_at.get(channel, -math.inf)
        if now < full_at - (self.post_burst - 1) * interval:
            return False
        self.post_full_at[channel] = max(full_at, now) + interval
        return True

    def next_ts(self) -> str:
        """Return a fresh message timestamp, strictly increasing like Slack's."""
        with self.lock:
            us = max(self._last_us + 1, time.time_ns() // 1000)
            self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    @staticmethod
    def new_id(prefix: str) -> str:
        """Return a fresh Slack-looking id such as `V1A2B3C4D5E`."""
        return prefix + uuid.uuid4().hex[:10].upper()

    def notify(self) -> None:
        """Wake every `wait_for`; call after each change."""
        with self.changed:
            self.changed.notify_all()

    def wait_for(self, predicate: Callable[[], T | None], timeout: float) -> T:
        """Return the predicate's first truthy result, re-checked on every change."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s")
                # A short cap also covers predicates on state that changes without notify().
                self.changed.wait(min(remaining, 0.05))

    def find_channel(self, ref: str) -> Channel:
        """Resolve an id, `#name` or user id (a DM with the bot) to a channel."""
        if ref in self.channels:
            return self.channels[ref]
        name = ref.removeprefix("#")
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        if ref in self.users:
            dm = Channel(id="D" + ref[1:], name=ref, is_member=True, is_im=True)
            self.channels[dm.id] = dm
            return dm
        raise SlackError("channel_not_found")

    def add_message(self, message: Message) -> None:
        """Store a new message."""
        self.message_index[(message.channel, message.ts)] = len(self.messages)
        self.messages.append(message)

    def get_message(self, channel: str, ts: str) -> Message:
        """Return a stored message or fail as Slack does."""
        index = self.message_index.get((channel, ts))
        if index is None:
            raise SlackError("message_not_found")
        return self.messages[index]

    def remove_message(self, channel: str, ts: str) -> Message:
        """Delete a stored message, as a person may in Slack; fail as Slack does if absent."""
        removed = self.get_message(channel, ts)
        self.messages.remove(removed)
        self.message_index = {(m.channel, m.ts): i for i, m in enumerate(self.messages)}
        return removed

    def replace_message(self, message: Message, **changes: Any) -> Message:
        """Apply an edit to a stored message and return the new version."""
        new = replace(message, edits=message.edits + 1, **changes)
        self.messages[self.message_index[(message.channel, message.ts)]] = new
        return new
