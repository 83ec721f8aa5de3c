"""In-memory, thread-safe firewall state: log entries per log type, and User-ID tags."""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.simulator.filters import TIME_FORMAT, Filter, MatchAll
from investigations.panos.events import LogType

Clock = Callable[[], datetime]
FieldValue = str | int | datetime

DEFAULT_SERIAL = "007954000123456"
DEFAULT_DEVICE_NAME = "pa-vm-sim"
MAX_TAG_TIMEOUT = 30 * 24 * 3600  # PAN-OS caps a registration's timeout at 30 days
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")  # each field becomes an XML element


# PAN-OS writes WildFire submissions and URL filtering as THREAT entries with a subtype.
_TYPE_AND_SUBTYPE: dict[LogType, tuple[str, str]] = {
    LogType.THREAT: ("THREAT", "vulnerability"),
    LogType.WILDFIRE: ("THREAT", "wildfire"),
    LogType.URL: ("THREAT", "url"),
    LogType.TRAFFIC: ("TRAFFIC", "end"),
    LogType.CORR: ("CORRELATION", ""),
}


class StoreError(ValueError):
    """A value given to the store is not acceptable."""


def utc_now() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def log_type_of(name: str) -> LogType:
    """Return the log type named by a PAN-OS `log-type` value."""
    try:
        return LogType(name)
    except ValueError:
        raise StoreError(f"unsupported log type {name!r}") from None


class LogStore:
    """Log entries per log type, as ordered dicts of PAN-OS field name to string."""

    def __init__(
        self,
        *,
        timezone: ZoneInfo | None = None,
        now: Clock = utc_now,
        serial: str = DEFAULT_SERIAL,
        device_name: str = DEFAULT_DEVICE_NAME,
    ) -> None:
        self.timezone = timezone or ZoneInfo("UTC")
        self.now = now
        self.serial = serial
        self.device_name = device_name
        self._lock = threading.RLock()
        self._entries: dict[LogType, list[dict[str, str]]] = {t: [] for t in LogType}
        self._seqno: dict[LogType, int] = dict.fromkeys(LogType, 1000)
        self._logid = 7_300_000_000_000_000_000

    def local(self, moment: datetime) -> datetime:
        """Return a moment in the firewall's zone (naive moments are taken as device-local)."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.timezone)
        return moment.astimezone(self.timezone)

    def format_time(self, moment: datetime) -> str:
        """Format a moment as a device-local PAN-OS time."""
        return self.local(moment).strftime(TIME_FORMAT)

    def append(self, log_type: str, fields: Mapping[str, FieldValue]) -> dict[str, str]:
        """Store one entry, filling serial, seqno, times, logid and type; return a copy."""
        kind = log_type_of(str(log_type))
        bad = [key for key in fields if not _FIELD_NAME.match(key)]
        if bad:
            raise StoreError(f"not a PAN-OS field name: {', '.join(map(repr, bad))}")
        values = {key: self._text(value) for key, value in fields.items()}
        with self._lock:
            seqno = _number(values.get("seqno", str(self._seqno[kind] + 1)), "seqno")
            self._seqno[kind] = max(self._seqno[kind], seqno)
            self._logid += 1
            entry = self._base(kind, values, seqno, str(values.get("logid", self._logid)))
            for key, value in values.items():
                entry[key] = value
            entry.setdefault("device_name", self.device_name)
            entry.setdefault("vsys", "vsys1")
            self._entries[kind].append(entry)
            return dict(entry)

    def _text(self, value: FieldValue) -> str:
        if isinstance(value, datetime):
            return self.format_time(value)
        return str(value)

    def _base(
        self, kind: LogType, values: Mapping[str, str], seqno: int, logid: str
    ) -> dict[str, str]:
        received = values.get("receive_time") or self.format_time(self.now())
        generated = values.get("time_generated", received)
        _check_time(received, "receive_time")
        local = _check_time(generated, "time_generated").replace(tzinfo=self.timezone)
        type_, subtype = _TYPE_AND_SUBTYPE[kind]
        return {
            "logid": logid,
            "domain": "1",
            "receive_time": received,
            "serial": self.serial,
            "seqno": str(seqno),
            "actionflags": "0x0",
            "type": type_,
            "subtype": subtype,
            "config_ver": "2817",
            "time_generated": generated,
            "high_res_timestamp": local.isoformat(timespec="milliseconds"),
        }

    def entries(self, log_type: str) -> list[dict[str, str]]:
        """Return copies of one log type's entries, in the order they were added."""
        kind = log_type_of(log_type)
        with self._lock:
            return [dict(entry) for entry in self._entries[kind]]

    def query(
        self,
        log_type: str,
        flt: Filter | None = None,
        *,
        nlogs: int = 20,
        skip: int = 0,
        newest_first: bool = True,
    ) -> list[dict[str, str]]:
        """Return matching entries sorted by receive time and seqno, paged like PAN-OS."""
        kind = log_type_of(log_type)
        test = flt or MatchAll()
        with self._lock:
            found = [dict(entry) for entry in self._entries[kind] if test.matches(entry)]
        found.sort(key=lambda e: (e["receive_time"], int(e["seqno"])), reverse=newest_first)
        return found[skip : skip + nlogs]

    def clear(self) -> None:
        """Forget every entry (sequence numbers keep increasing)."""
        with self._lock:
            for entries in self._entries.values():
                entries.clear()


@dataclass(frozen=True, slots=True)
class Registration:
    """One registered IP and its live tags."""

    ip: str
    tags: tuple[str, ...]
    persistent: bool


@dataclass(slots=True)
class _Tag:
    expires: datetime | None
    persistent: bool


class TagStore:
    """User-ID registered IPs and their tags; a tag with a timeout vanishes when it expires."""

    def __init__(self, *, now: Clock = utc_now) -> None:
        self.now = now
        self._lock = threading.Lock()
        self._tags: dict[str, dict[str, _Tag]] = {}

    def register(self, ip: str, tag: str, *, timeout: int = 0, persistent: bool = False) -> None:
        """Register a tag for an IP; timeout in seconds, 0 means never expire."""
        address = self.validate(ip, tag, timeout)
        expires = self.now() + timedelta(seconds=timeout) if timeout else None
        with self._lock:
            self._tags.setdefault(address, {})[tag] = _Tag(expires, persistent)

    def validate(self, ip: str, tag: str, timeout: int = 0) -> str:
        """Check a registration without making it; return the normalised IP."""
        address = _valid_ip(ip)
        if not tag:
            raise StoreError("a tag must not be empty")
        if not 0 <= timeout <= MAX_TAG_TIMEOUT:
            raise StoreError(f"timeout {timeout} is outside 0..{MAX_TAG_TIMEOUT} seconds")
        return address

    def unregister(self, ip: str, tag: str | None = None) -> None:
        """Remove one tag from an IP, or all its tags when tag is None."""
        address = _valid_ip(ip)
        with self._lock:
            tags = self._tags.get(address, {})
            if tag is None:
                tags.clear()
            else:
                tags.pop(tag, None)
            if not tags:
                self._tags.pop(address, None)

    def registered(self, *, tag: str | None = None, ip: str | None = None) -> list[Registration]:
        """Return live registrations, optionally only those with a tag or for one IP."""
        moment = self.now()
        with self._lock:
            self._expire(moment)
            result = []
            for address, tags in sorted(self._tags.items(), key=lambda item: _ip_key(item[0])):
                if (ip is not None and address != ip) or (tag is not None and tag not in tags):
                    continue
                persistent = any(t.persistent for t in tags.values())
                result.append(Registration(address, tuple(sorted(tags)), persistent))
            return result

    def _expire(self, moment: datetime) -> None:
        for address in list(self._tags):
            tags = self._tags[address]
            for name in [
                n for n, t in tags.items() if t.expires is not None and t.expires <= moment
            ]:
                del tags[name]
            if not tags:
                del self._tags[address]


def _check_time(text: str, field: str) -> datetime:
    try:
        return datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        raise StoreError(f"{field} {text!r} is not 'YYYY/MM/DD HH:MM:SS'") from None


def _number(text: str, field: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise StoreError(f"{field} {text!r} is not a number") from None


def _valid_ip(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip.strip()))
    except ValueError:
        raise StoreError(f"{ip!r} is not an IP address") from None


def _ip_key(ip: str) -> tuple[int, int]:
    address = ipaddress.ip_address(ip)
    return (address.version, int(address))
