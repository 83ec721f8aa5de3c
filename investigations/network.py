"""Which way a threat travelled, and which side of it is our host.

The session's source (`src`) opened the connection; the log's `direction` says which
way the threat went: `server-to-client` from `dst` to `src`, `client-to-server` (or no
direction) from `src` to `dst`. "Inside" is `PANBOT_INTERNAL_NETWORKS`.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from enum import StrEnum

from investigations.panos.events import Event, LogType

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# A page of thousands of logs names a few hundred hosts; parsing both sides' addresses
# for every log was a tenth of ingest's store time. Only address-sized strings are kept:
# a log field can be anything, and the cache must stay small whatever the logs say.
_ADDRESS_CACHE_SIZE = 4096
_CACHED_LENGTH = 64


class Direction(StrEnum):
    """The threat's travel in plain words."""

    OUTSIDE_TO_INSIDE = "outside_to_inside"
    INSIDE_TO_OUTSIDE = "inside_to_outside"
    INSIDE_TO_INSIDE = "inside_to_inside"
    OUTSIDE_TO_OUTSIDE = "outside_to_outside"


def is_internal(ip: str | None, internal: Sequence[Network]) -> bool:
    """Return whether `ip` lies in one of the internal networks; garbage is not internal."""
    if not ip:
        return False
    address = _cached_address(ip) if len(ip) <= _CACHED_LENGTH else _address(ip)
    if address is None:
        return False
    # A network of the other IP version simply does not contain the address.
    return any(address in network for network in internal)


def _address(ip: str) -> Address | None:
    """The address `ip` names, IPv4-mapped IPv6 as IPv4; None when it is not an address."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:10.0.0.1 is the IPv4 host 10.0.0.1 seen through a dual-stack socket.
        return address.ipv4_mapped
    return address


_cached_address = functools.lru_cache(maxsize=_ADDRESS_CACHE_SIZE)(_address)


def threat_path(event: Event) -> tuple[str | None, str | None]:
    """Return (sender, receiver) of the threat, from the log's `direction`."""
    if event.direction == "server-to-client":
        return event.dst, event.src
    return event.src, event.dst


def direction_words(event: Event, internal: Sequence[Network]) -> Direction:
    """Return which way the threat travelled, relative to the internal networks."""
    sender, receiver = threat_path(event)
    sender_inside = is_internal(sender, internal)
    receiver_inside = is_internal(receiver, internal)
    if sender_inside:
        return Direction.INSIDE_TO_INSIDE if receiver_inside else Direction.INSIDE_TO_OUTSIDE
    return Direction.OUTSIDE_TO_INSIDE if receiver_inside else Direction.OUTSIDE_TO_OUTSIDE


def our_host_and_other(event: Event, internal: Sequence[Network]) -> tuple[str | None, str | None]:
    """Return (our host, the other side) of the threat.

    Our host is the internal side the threat reached or came from: the receiver of an
    inbound or internal threat, the sender of an outbound one. When neither side is
    internal there is no host of ours, and the other side is the threat's sender. A
    correlation log names the host it is about in `src`.
    """
    if event.log_type is LogType.CORR:
        return event.src, event.dst
    sender, receiver = threat_path(event)
    match direction_words(event, internal):
        case Direction.OUTSIDE_TO_INSIDE | Direction.INSIDE_TO_INSIDE:
            return receiver, sender
        case Direction.INSIDE_TO_OUTSIDE:
            return sender, receiver
        case Direction.OUTSIDE_TO_OUTSIDE:
            return None, sender
