"""Direction in plain words and our host: the table of the guide's cases and the edges."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from investigations.network import (
    Direction,
    Network,
    direction_words,
    is_internal,
    our_host_and_other,
    threat_path,
)
from investigations.panos.events import Event, LogType

INTERNAL: list[Network] = [
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("2001:db8:100::/48"),
]
IN1, IN2 = "192.168.1.10", "10.1.2.3"
OUT1, OUT2 = "203.0.113.80", "198.51.100.7"


def _event(
    src: str | None, dst: str | None, direction: str | None, log_type: LogType = LogType.THREAT
) -> Event:
    return Event(
        log_type=log_type,
        serial="007051000123456",
        seqno=1,
        receive_time=datetime(2024, 3, 1, tzinfo=UTC),
        src=src,
        dst=dst,
        direction=direction,
    )


@pytest.mark.parametrize(
    ("src", "dst", "direction", "words", "ours", "other"),
    [
        # Guide, vulnerability: an outside web server attacks an inside browser.
        (IN1, OUT1, "server-to-client", Direction.OUTSIDE_TO_INSIDE, IN1, OUT1),
        # Guide, spyware: an inside host calls out to its C2 server.
        (IN1, OUT1, "client-to-server", Direction.INSIDE_TO_OUTSIDE, IN1, OUT1),
        # Inbound exploit against an inside server.
        (OUT1, IN1, "client-to-server", Direction.OUTSIDE_TO_INSIDE, IN1, OUT1),
        # An inside server sends malware back to an outside client.
        (OUT1, IN1, "server-to-client", Direction.INSIDE_TO_OUTSIDE, IN1, OUT1),
        # A missing direction reads as client-to-server.
        (IN1, OUT1, None, Direction.INSIDE_TO_OUTSIDE, IN1, OUT1),
        (OUT1, IN1, None, Direction.OUTSIDE_TO_INSIDE, IN1, OUT1),
        # Lateral movement: our host is the one reached.
        (IN1, IN2, "client-to-server", Direction.INSIDE_TO_INSIDE, IN2, IN1),
        (IN1, IN2, "server-to-client", Direction.INSIDE_TO_INSIDE, IN1, IN2),
        # Neither side is ours: the other side is the threat's sender.
        (OUT1, OUT2, "client-to-server", Direction.OUTSIDE_TO_OUTSIDE, None, OUT1),
        (OUT1, OUT2, "server-to-client", Direction.OUTSIDE_TO_OUTSIDE, None, OUT2),
        # IPv6 inside and outside.
        (
            "2001:db8:100::5",
            "2001:db8:ffff::1",
            "client-to-server",
            Direction.INSIDE_TO_OUTSIDE,
            "2001:db8:100::5",
            "2001:db8:ffff::1",
        ),
        (
            "2001:db8:100::5",
            "2001:db8:ffff::1",
            "server-to-client",
            Direction.OUTSIDE_TO_INSIDE,
            "2001:db8:100::5",
            "2001:db8:ffff::1",
        ),
        # Garbage or missing addresses are never inside.
        ("garbage", IN1, "client-to-server", Direction.OUTSIDE_TO_INSIDE, IN1, "garbage"),
        (None, None, "client-to-server", Direction.OUTSIDE_TO_OUTSIDE, None, None),
        (IN1, "", "client-to-server", Direction.INSIDE_TO_OUTSIDE, IN1, ""),
    ],
)
def test_direction_and_our_host(
    src: str | None,
    dst: str | None,
    direction: str | None,
    words: Direction,
    ours: str | None,
    other: str | None,
) -> None:
    event = _event(src, dst, direction)
    assert direction_words(event, INTERNAL) is words
    assert our_host_and_other(event, INTERNAL) == (ours, other)


@pytest.mark.parametrize("src", [IN1, OUT1])
def test_correlation_logs_are_about_their_source(src: str) -> None:
    event = _event(src, None, None, LogType.CORR)
    assert our_host_and_other(event, INTERNAL) == (src, None)


def test_threat_path() -> None:
    assert threat_path(_event("a", "b", "server-to-client")) == ("b", "a")
    assert threat_path(_event("a", "b", "client-to-server")) == ("a", "b")


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("10.255.255.255", True),
        ("11.0.0.1", False),
        ("192.168.0.1", True),
        (" 192.168.0.1 ", True),
        ("::ffff:10.0.0.1", True),  # IPv4-mapped
        ("2001:db8:100:ffff::1", True),
        ("2001:db8:101::1", False),
        ("fe80::1%eth0", False),
        ("10.0.0.1/8", False),
        ("999.1.1.1", False),
        ("", False),
        (None, False),
        ("10.0.0.1\x00", False),
    ],
)
def test_is_internal(ip: str | None, expected: bool) -> None:
    assert is_internal(ip, INTERNAL) is expected


def test_nothing_is_internal_without_networks() -> None:
    assert not is_internal(IN1, [])
    assert direction_words(_event(IN1, IN2, None), []) is Direction.OUTSIDE_TO_OUTSIDE
