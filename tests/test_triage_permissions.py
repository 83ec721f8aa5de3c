"""Responders and approvers: user IDs and user groups read from (fake) Slack over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta

import pytest
from slack_sdk import WebClient

from bot.config import ConfigError, load_settings
from bot.fakeslack.server import FakeSlack
from bot.triage.permissions import Permission, Permissions, allowed, slack_group_reader
from bot.triage.watch import watch_query
from tests.harness import FakeClock

RESPONDER, APPROVER = Permission.RESPONDER, Permission.APPROVER


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _permissions(
    slack: FakeSlack, responders: list[str], approvers: list[str], clock: FakeClock
) -> Permissions:
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    return Permissions(
        responders=responders,
        approvers=approvers,
        read_group=slack_group_reader(client),
        clock=clock,
    )


def test_allowed_is_a_plain_decision() -> None:
    members = {"S1": frozenset({"U2"})}
    assert allowed("U1", [], members, open_if_empty=True)
    assert not allowed("U1", [], members, open_if_empty=False)
    assert allowed("U1", ["U1"], members, open_if_empty=False)
    assert allowed("U2", ["S1"], members, open_if_empty=False)
    assert not allowed("U3", ["S1", "U1"], members, open_if_empty=True)


def test_empty_responders_is_everyone_and_empty_approvers_nobody(slack: FakeSlack) -> None:
    perms = _permissions(slack, [], [], FakeClock())
    assert perms.allows("U0ALICE", RESPONDER)
    assert not perms.allows("U0ALICE", APPROVER)
    assert slack.calls_to("usergroups.users.list") == []


def test_groups_are_read_once_per_five_minutes(slack: FakeSlack) -> None:
    clock = FakeClock()
    perms = _permissions(slack, ["S0RESPOND", "U0CAROL"], ["S0APPROVE"], clock)
    assert perms.allows("U0ALICE", RESPONDER) and perms.allows("U0BOB", RESPONDER)
    assert perms.allows("U0CAROL", RESPONDER)  # listed by ID
    assert not perms.allows("U0DAVE", RESPONDER)
    assert perms.allows("U0CAROL", APPROVER) and not perms.allows("U0ALICE", APPROVER)
    groups = [c["usergroup"] for c in slack.calls_to("usergroups.users.list")]
    assert sorted(groups) == ["S0APPROVE", "S0RESPOND"]
    clock.advance(timedelta(minutes=6))
    assert perms.allows("U0BOB", RESPONDER)
    assert len(slack.calls_to("usergroups.users.list")) == 3


def test_an_unreadable_group_denies_and_is_asked_again(slack: FakeSlack) -> None:
    perms = _permissions(slack, ["S0NOSUCH"], [], FakeClock())
    assert not perms.allows("U0ALICE", RESPONDER)
    assert not perms.allows("U0ALICE", RESPONDER)
    assert len(slack.calls_to("usergroups.users.list")) == 2


def test_triage_settings() -> None:
    settings = load_settings(PANBOT_DIGEST_TIME="9:30", PANBOT_WATCH_DAYS="3")
    assert settings.digest_time == time(9, 30) and settings.watch_days == 3
    defaults = load_settings()
    assert defaults.digest_time is None and defaults.watch_days == 7
    for name, bad in (
        ("PANBOT_DIGEST_TIME", "25:00"),
        ("PANBOT_DIGEST_TIME", "9h"),
        ("PANBOT_WATCH_DAYS", "0"),
    ):
        with pytest.raises(ConfigError, match=name):
            load_settings(**{name: bad})


def test_watch_queries_take_plain_addresses_only() -> None:
    query = watch_query("192.168.10.88", "2026/11/25 10:00:00")
    assert query.startswith("( ( addr.src in 192.168.10.88 ) or ( addr.dst in 192.168.10.88 ) )")
    for hostile in ("192.168.10.88 ) or ( addr.src in 0.0.0.0/0", "fe80::1%<!channel>", "host"):
        with pytest.raises(ValueError):
            watch_query(hostile, "2026/11/25 10:00:00")
