"""Who may press what: PANBOT_RESPONDERS and PANBOT_APPROVERS, user IDs and user groups.

A user-group entry (`S…`) is expanded with `usergroups.users.list` and cached for a
few minutes: a press must be answered within Slack's 3 seconds, and membership
changes rarely. A group that cannot be read counts as empty (fail closed) and is
not cached, so the next press asks again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.clock import Clock

log = logging.getLogger(__name__)

GROUP_CACHE_TTL = timedelta(minutes=5)


class Permission(StrEnum):
    """What a triage step requires of the presser."""

    RESPONDER = "responder"
    APPROVER = "approver"


def is_group(entry: str) -> bool:
    return entry.startswith("S")


def allowed(
    user: str, entries: Sequence[str], members: Mapping[str, frozenset[str]], *, open_if_empty: bool
) -> bool:
    """Whether `user` is listed directly or through a group; an empty list allows all or none."""
    if not entries:
        return open_if_empty
    for entry in entries:
        if entry == user or (is_group(entry) and user in members.get(entry, frozenset())):
            return True
    return False


GroupReader = Callable[[str], frozenset[str]]


def slack_group_reader(client: WebClient) -> GroupReader:
    """Read a user group's members from Slack."""

    def read(group: str) -> frozenset[str]:
        response = client.usergroups_users_list(usergroup=group)
        return frozenset(str(u) for u in response.get("users") or [])

    return read


class Permissions:
    """Answers "may this user do that?" for responders and approvers."""

    def __init__(
        self,
        *,
        responders: Sequence[str],
        approvers: Sequence[str],
        read_group: GroupReader,
        clock: Clock,
        ttl: timedelta = GROUP_CACHE_TTL,
    ) -> None:
        self._responders = tuple(responders)
        self._approvers = tuple(approvers)
        self._read_group = read_group
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[datetime, frozenset[str]]] = {}

    @property
    def approvers(self) -> tuple[str, ...]:
        return self._approvers

    def allows(self, user: str, permission: Permission) -> bool:
        """Whether the user holds the permission now."""
        if permission is Permission.RESPONDER:
            entries, open_if_empty = self._responders, True
        else:
            # Nobody approves when no approver is configured: isolation needs a decision.
            entries, open_if_empty = self._approvers, False
        if user in entries:
            return True
        groups = [e for e in entries if is_group(e)]
        return allowed(
            user, entries, {g: self._members(g) for g in groups}, open_if_empty=open_if_empty
        )

    def _members(self, group: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(group)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        try:
            members = self._read_group(group)
        except SlackClientError as exc:
            log.warning("could not read user group %s: %s", group, exc)
            return frozenset()
        with self._lock:
            self._cache[group] = (now, members)
        return members
