"""Plain records the fake Slack keeps and hands to tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict


class ChannelSpec(TypedDict, total=False):
    """How a channel is seeded: every key is optional."""

    name: str
    is_private: bool
    is_member: bool
    is_archived: bool


class UserSpec(TypedDict, total=False):
    """How a user is seeded: every key is optional."""

    name: str
    real_name: str
    tz: str
    is_bot: bool
    is_admin: bool
    deleted: bool


DEFAULT_CHANNELS: dict[str, ChannelSpec] = {
    "C0ALERTS": {"name": "security-alerts", "is_member": True},
    "C0GENERAL": {"name": "general", "is_member": False},
    "G0PRIVATE": {"name": "soc-private", "is_private": True, "is_member": False},
}
DEFAULT_USERS: dict[str, UserSpec] = {
    "U0ALICE": {"name": "alice", "real_name": "Alice Analyst", "tz": "Asia/Tokyo"},
    "U0BOB": {"name": "bob", "real_name": "Bob Responder", "tz": "Asia/Tokyo"},
    "U0CAROL": {"name": "carol", "real_name": "Carol Approver", "tz": "UTC"},
}
DEFAULT_USERGROUPS: dict[str, list[str]] = {
    "S0RESPOND": ["U0ALICE", "U0BOB"],
    "S0APPROVE": ["U0CAROL"],
}
DEFAULT_SCOPES = (
    "chat:write,commands,channels:join,channels:read,groups:read,im:write,"
    "users:read,usergroups:read"
)


def block_texts(value: Any) -> Iterator[str]:
    """Yield every "text" string inside a Block Kit structure, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from block_texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from block_texts(item)


@dataclass(frozen=True)
class Message:
    """A channel message as it stands now (latest `chat.update` applied)."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]] | None
    user: str
    edits: int = 0
    reply_broadcast: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_parent(self) -> bool:
        """Whether this is a top-level message rather than a thread reply."""
        return self.thread_ts is None

    @property
    def rendered(self) -> str:
        """Return the text and every text inside the blocks, newline-joined, for assertions."""
        return "\n".join([self.text, *block_texts(self.blocks or [])])


@dataclass(frozen=True)
class Ephemeral:
    """A `chat.postEphemeral` message: seen by one user only."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None

    @property
    def rendered(self) -> str:
        """Return the text and every text inside the blocks, newline-joined, for assertions."""
        return "\n".join([self.text, *block_texts(self.blocks or [])])


@dataclass(frozen=True)
class View:
    """A modal or App Home view as it stands now (latest `views.update` applied)."""

    id: str
    type: str
    view: dict[str, Any]
    user_id: str | None = None
    trigger_id: str | None = None
    updates: int = 0

    @property
    def callback_id(self) -> str:
        """The view's `callback_id`, or an empty string."""
        return str(self.view.get("callback_id", ""))

    @property
    def private_metadata(self) -> str:
        """The view's `private_metadata`, or an empty string."""
        return str(self.view.get("private_metadata", ""))

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The view's blocks."""
        blocks: list[dict[str, Any]] = self.view.get("blocks", [])
        return blocks

    @property
    def rendered(self) -> str:
        """Every text inside the view (title, blocks, buttons), newline-joined."""
        return "\n".join(block_texts(self.view))


@dataclass(frozen=True)
class ResponsePost:
    """A JSON body POSTed to a `response_url`."""

    id: str
    body: dict[str, Any]

    @property
    def rendered(self) -> str:
        """Every text inside the body, newline-joined, for assertions."""
        return "\n".join(block_texts(self.body))
