"""Typed comparisons of the PAN-OS log filter language: what `( field op value )` means.

Each comparison is typed by its field (address, severity, time, number, text) and its
value is checked when the filter is parsed, so evaluation never fails: an entry value
that cannot be read as the field's type simply does not match. Negative operators
(neq, notin) are exactly the negation of their positive ones, missing fields included.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import TypeVar

Entry = Mapping[str, str]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SEVERITIES: tuple[str, ...] = ("informational", "low", "medium", "high", "critical")
TIME_FORMAT = "%Y/%m/%d %H:%M:%S"

ADDRESS_FIELDS = frozenset({"src", "dst", "natsrc", "natdst"})
TIME_FIELDS = frozenset({"receive_time", "time_generated", "time_received", "start"})
NUMBER_FIELDS = frozenset(
    {
        "seqno",
        "sport",
        "dport",
        "natsport",
        "natdport",
        "repeatcnt",
        "sessionid",
        "tid",
        "bytes",
        "bytes_sent",
        "bytes_received",
        "packets",
        "elapsed",
        "vsys_id",
        "config_ver",
    }
)
# The web UI's names for entry fields; a tuple means "either side matches".
ALIASES: dict[str, tuple[str, ...]] = {
    "addr.src": ("src",),
    "addr.dst": ("dst",),
    "addr": ("src", "dst"),
    "port.src": ("sport",),
    "port.dst": ("dport",),
    "zone.src": ("from",),
    "zone.dst": ("to",),
    "user.src": ("srcuser",),
    "user.dst": ("dstuser",),
}
_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_THREAT_ID_RE = re.compile(r"\((\d+)\)\s*\Z")
_Ordered = TypeVar("_Ordered", int, datetime)


class FilterSyntaxError(ValueError):
    """A log filter could not be parsed; the message says where and why."""


class Op(StrEnum):
    """A comparison operator of the filter language."""

    EQ = "eq"
    NEQ = "neq"
    GEQ = "geq"
    LEQ = "leq"
    IN = "in"
    NOTIN = "notin"
    CONTAINS = "contains"


_NEGATED = {Op.NEQ: Op.EQ, Op.NOTIN: Op.IN}


@dataclass(frozen=True, slots=True)
class Comparison:
    """``( field op value )``, with the value already converted to the field's type."""

    field: str
    op: Op
    value: str
    test: Callable[[str], bool]  # the positive test of one entry value
    sources: tuple[str, ...]  # entry keys that hold the field (aliases have several)
    extract: Callable[[Entry, str], str | None]

    def matches(self, entry: Entry) -> bool:
        """Return whether the entry's field satisfies the comparison."""
        hit = False
        for source in self.sources:
            raw = self.extract(entry, source)
            if raw is not None and self.test(raw):
                hit = True
                break
        return not hit if self.op in _NEGATED else hit


@lru_cache(maxsize=65536)
def parse_time(text: str) -> datetime | None:
    """Read a device-local ``YYYY/MM/DD HH:MM:SS`` time; None when it is not one."""
    try:
        return datetime.strptime(text.strip(), TIME_FORMAT)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _parse_int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _plain(entry: Entry, source: str) -> str | None:
    return entry.get(source)


def _verdict(entry: Entry, source: str) -> str | None:
    # WildFire submission logs carry the verdict in <category>.
    if "verdict" in entry:
        return entry["verdict"]
    if entry.get("type", "").upper() in {"WILDFIRE", "THREAT"} and (
        entry.get("subtype", "").lower() == "wildfire"
    ):
        return entry.get("category")
    return None


def _threat_number(entry: Entry, source: str) -> str | None:
    if "tid" in entry:
        return entry["tid"]
    found = _THREAT_ID_RE.search(entry.get("threatid", ""))
    return found.group(1) if found else None


def _threat_name(entry: Entry, source: str) -> str | None:
    raw = entry.get("threatid")
    return None if raw is None else _THREAT_ID_RE.sub("", raw).strip()


def _ordered(op: Op, cmp: int) -> bool:
    """Apply eq/geq/leq to the result of a three-way comparison."""
    if op is Op.EQ:
        return cmp == 0
    if op is Op.GEQ:
        return cmp >= 0
    return cmp <= 0


def _sign(a: _Ordered, b: _Ordered) -> int:
    return (a > b) - (a < b)


def _address_test(field: str, op: Op, value: str) -> Callable[[str], bool]:
    if op not in {Op.EQ, Op.IN}:
        raise FilterSyntaxError(f"operator {op.value!r} does not apply to address field {field!r}")
    try:
        network: Network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise FilterSyntaxError(f"{value!r} is not an IP address or network") from None

    def test(raw: str) -> bool:
        ip = _parse_ip(raw)
        return ip is not None and ip in network

    return test


def _severity_test(field: str, op: Op, value: str) -> Callable[[str], bool]:
    level = value.lower()
    if level not in SEVERITIES:
        raise FilterSyntaxError(f"{value!r} is not a severity ({', '.join(SEVERITIES)})")
    rank = SEVERITIES.index(level)

    def test(raw: str) -> bool:
        found = raw.strip().lower()
        return found in SEVERITIES and _ordered(op, _sign(SEVERITIES.index(found), rank))

    return test


def _time_test(field: str, op: Op, value: str) -> Callable[[str], bool]:
    wanted = parse_time(value)
    if wanted is None:
        raise FilterSyntaxError(f"{value!r} is not a time 'YYYY/MM/DD HH:MM:SS'")

    def test(raw: str) -> bool:
        found = parse_time(raw)
        return found is not None and _ordered(op, _sign(found, wanted))

    return test


def _number_test(field: str, op: Op, value: str) -> Callable[[str], bool]:
    wanted = _parse_int(value)
    if wanted is None:
        raise FilterSyntaxError(f"{value!r} is not a number (field {field!r})")

    def test(raw: str) -> bool:
        found = _parse_int(raw)
        return found is not None and _ordered(op, _sign(found, wanted))

    return test


def _text_test(field: str, op: Op, value: str) -> Callable[[str], bool]:
    if op is not Op.EQ:
        raise FilterSyntaxError(f"operator {op.value!r} does not apply to text field {field!r}")
    wanted = value.casefold()
    return lambda raw: raw.casefold() == wanted


def _contains_test(value: str) -> Callable[[str], bool]:
    wanted = value.casefold()
    return lambda raw: wanted in raw.casefold()


def build_comparison(field: str, op: Op, value: str) -> Comparison:
    """Type-check one ``( field op value )`` and build its matcher."""
    if not _FIELD_RE.match(field):
        raise FilterSyntaxError(f"{field!r} is not a field name")
    name = field.lower()
    sources = ALIASES.get(name, (name,))
    positive = _NEGATED.get(op, op)
    extract = _EXTRACTORS.get(name, _plain)
    test: Callable[[str], bool]
    if positive is Op.CONTAINS:
        test = _contains_test(value)
    elif sources[0] in ADDRESS_FIELDS:
        test = _address_test(field, positive, value)
    elif positive is Op.IN:
        raise FilterSyntaxError(f"operator {op.value!r} applies to address fields only")
    elif name == "severity":
        test = _severity_test(field, positive, value)
    elif sources[0] in TIME_FIELDS:
        test = _time_test(field, positive, value)
    elif sources[0] in NUMBER_FIELDS:
        test = _number_test(field, positive, value)
    elif name == "threatid" and _parse_int(value) is not None:
        # `( threatid eq 30846 )` compares the signature id, not "Name(30846)".
        test, extract = _number_test(field, positive, value), _threat_number
    else:
        test = _text_test(field, positive, value)
    return Comparison(field, op, value, test, sources, extract)


_EXTRACTORS: dict[str, Callable[[Entry, str], str | None]] = {
    "verdict": _verdict,
    "name-of-threatid": _threat_name,
}
