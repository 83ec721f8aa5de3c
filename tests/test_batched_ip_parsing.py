"""Cached address parsing for a page's logs: the same answers as parsing every time."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest

from investigations import grouping, network
from investigations.grouping import grouping_key
from investigations.network import Network, is_internal
from investigations.panos.events import Event, LogType

INTERNAL: list[Network] = [
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("2001:db8:100::/48"),
]
ADDRESSES = [
    "10.1.2.3",
    " 10.1.2.3 ",
    "11.0.0.1",
    "::ffff:10.0.0.1",
    "2001:db8:100::1",
    "2001:DB8:100:0::1",
    "fe80::1%eth0",
    "10.0.0.1%eth0",
    "10.0.0.1/8",
    "999.1.1.1",
    "host.example",
    "10.0.0.1\x00",
    " ",
    "1" * 65,
    "10.0.0.1" + " " * 100,
]


def _uncached_is_internal(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in net for net in INTERNAL)


def _event() -> Event:
    return Event(
        log_type=LogType.THREAT,
        serial="007051000123456",
        seqno=1,
        receive_time=datetime(2024, 3, 1, tzinfo=UTC),
        threat_id="1",
    )


@pytest.mark.parametrize("ip", ADDRESSES)
def test_is_internal_same_when_cached(ip: str) -> None:
    for _ in range(2):  # the second answer comes from the cache
        assert is_internal(ip, INTERNAL) is _uncached_is_internal(ip)
    assert is_internal(ip, []) is False


@pytest.mark.parametrize("ip", ADDRESSES)
def test_grouping_host_same_when_cached(ip: str) -> None:
    try:
        expected = f"host:{ipaddress.ip_address(ip.strip())}"
    except ValueError:
        expected = f"host:{ip.strip()}"
    for _ in range(2):
        assert grouping_key("r", _event(), ip).endswith(f"|{grouping._escape(expected)}")


def test_long_strings_stay_out_of_the_caches() -> None:
    long_ip = "10.0.0.1" + " " * 1000
    network._cached_address.cache_clear()
    grouping._cached_host.cache_clear()
    assert is_internal(long_ip, INTERNAL)
    assert grouping_key("r", _event(), long_ip) == "r|threat:1|host:10.0.0.1"
    assert network._cached_address.cache_info().currsize == 0
    assert grouping._cached_host.cache_info().currsize == 0
    assert is_internal("10.0.0.1", INTERNAL)
    grouping_key("r", _event(), "10.0.0.1")
    assert network._cached_address.cache_info().currsize == 1
    assert grouping._cached_host.cache_info().currsize == 1


def test_caches_are_bounded() -> None:
    assert network._cached_address.cache_info().maxsize == 4096
    assert grouping._cached_host.cache_info().maxsize == 4096
