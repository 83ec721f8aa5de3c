"""Log entries (`result/log/logs/entry`) to Events: the hot path of every poll.

A page holds up to 5,000 entries of ~120 elements each (16 MB of XML). `LogPageParser`
reads a log job's answer as it arrives and maps each entry as soon as it is complete,
then drops it, so the page never exists as a whole tree (an lxml tree of a full page
is ~110 MB of small allocations the process keeps long after). Each entry is walked
once and only the elements an Event uses are read (lxml filters the tags in C, so
unused elements never become Python objects). Times, the threat name/id split and the
per-log-type fields are done here; pydantic's compiled validator does the rest, which
measured faster than `model_construct` for this model.
"""

from __future__ import annotations

import re
from collections.abc import Container
from datetime import UTC, datetime, timezone, tzinfo
from typing import Any

from lxml import etree
from pydantic import ValidationError

from investigations.panos.errors import PanosResponseError
from investigations.panos.events import Event, LogType
from investigations.panos.timeparse import offset_of, parse_local_time

# PAN-OS element → Event field, where the names differ.
_RENAMED = (
    ("from", "from_zone"),
    ("to", "to_zone"),
    ("rule", "policy_rule"),
    ("thr_category", "threat_category"),
    ("filedigest", "file_digest"),
    ("reportid", "report_id"),
)
_INT_FIELDS = ("seqno", "sport", "dport", "sessionid", "repeatcnt", "evidence_count")
# Elements needing more than a copy; handled after the walk.
_SPECIAL = ("receive_time", "time_generated", "high_res_timestamp", "threatid", "tid")
_COMPUTED = frozenset(
    {"log_type", "receive_time", "time_generated", "threat_name", "threat_id", "file_name"}
)
_TAGS: tuple[str, ...] = (
    *(
        name
        for name in Event.model_fields
        if name not in _COMPUTED and name not in {field for _, field in _RENAMED}
    ),
    *(tag for tag, _ in _RENAMED),
    *_SPECIAL,
)
# lxml builds a tag filter per iterator, and from bytes it builds it faster than from str
# (measured: 9 % of a whole page's parse); the children found are the same.
_TAG_FILTER: tuple[bytes, ...] = tuple(tag.encode("ascii") for tag in _TAGS)
# Threat subtypes whose <misc> is a file name rather than a URL.
_FILE_SUBTYPES = frozenset({"virus", "wildfire-virus", "wildfire", "file", "ml-virus"})
_TIMES_COUNT = re.compile(r"\((\d+) times?\)")

# A key as `Event.key` has it, less the log type (one page is one log type).
SeenKey = tuple[str, int]


def split_threatid(text: str) -> tuple[str | None, str | None]:
    """Split PAN-OS `threatid` "Name(1234)" into name and id."""
    if text.endswith(")"):
        head, sep, tail = text[:-1].rpartition("(")
        if sep and tail.isdigit():
            return head.rstrip() or None, tail
    return text, None


def last_utc_offset(root: etree._Element) -> timezone | None:
    """Return the UTC offset of the last entry's `high_res_timestamp`, if any."""
    logs = root.find("result/log/logs")
    if logs is None or len(logs) == 0:
        return None
    text = logs[-1].findtext("high_res_timestamp")
    return offset_of(text) if text else None


class _Times:
    """Device-local time conversion with per-page caches (entries share seconds)."""

    def __init__(self, zone: tzinfo | None) -> None:
        self.zone: tzinfo = zone or UTC
        self._offsets: dict[str, tzinfo] = {}
        self._instants: dict[tuple[str, tzinfo], datetime] = {}

    def zone_for(self, high_res: str | None) -> tzinfo:
        if high_res is None:
            return self.zone
        key = high_res[-6:]
        zone = self._offsets.get(key)
        if zone is None:
            zone = offset_of(high_res) or self.zone
            self._offsets[key] = zone
        return zone

    def instant(self, text: str, zone: tzinfo) -> datetime:
        key = (text, zone)
        instant = self._instants.get(key)
        if instant is None:
            instant = parse_local_time(text, zone)
            self._instants[key] = instant
        return instant


class EntryMapper:
    """Maps one `<entry>` element to an Event; shared by the tree and the stream parsers."""

    def __init__(
        self,
        log_type: LogType,
        zone: tzinfo | None = None,
        known: Container[SeenKey] | None = None,
    ) -> None:
        self.log_type = log_type
        self.known = known
        self._times = _Times(zone)
        # For memory first: a page's Events repeat the same few values (serial, zone,
        # app, severity...) and carry the same set of given fields. Sharing one string
        # object per value and one fields set per shape takes a 5,000-entry page's
        # Events from 28 MB to 9 MB (tracemalloc), and the page parses ~10 % faster
        # (fewer objects for the allocator and the garbage collector).
        self._same: dict[str | None, str | None] = {}
        self._fields_set: set[str] = set()

    def known_key(self, entry: etree._Element) -> SeenKey | None:
        """Return the entry's (serial, seqno) if it is in `known`, else None (never guess).

        The key is read exactly as `map` would read it (the last <serial> and <seqno>,
        else `logid`), and only a plain number is compared, so the key is the one the
        Event would carry: a skipped entry is one whose Event the caller already holds.
        Anything odd (a garbled seqno, no serial) is left to the full mapping.
        """
        if not self.known:
            return None
        serial: str | None = None
        seqno: str | None = None
        for child in entry.iterchildren("serial", "seqno"):
            if child.tag == "serial":
                serial = child.text
            else:
                seqno = child.text
        if seqno is None:
            seqno = entry.get("logid")  # corr logs: as in _complete
        if serial is None or seqno is None or not (seqno.isascii() and seqno.isdigit()):
            return None
        key = (serial, int(seqno))
        return key if key in self.known else None

    def map(self, entry: etree._Element) -> Event:
        """Return the entry's Event; raise PanosResponseError when it cannot be stored."""
        same = self._same.setdefault
        raw: dict[str, Any] = {
            child.tag: same(text, text)
            for child in entry.iterchildren(*_TAG_FILTER)
            for text in (child.text,)
        }
        try:
            _complete(raw, entry, self.log_type, self._times)
            try:
                event = Event.model_validate(raw)
            except ValidationError:
                # Rare: a number PAN-OS left garbled. Such numbers become None.
                _lenient_ints(raw)
                event = Event.model_validate(raw)
        except (ValueError, ValidationError) as exc:
            logid = entry.get("logid", "?")[:24]
            reason = (
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                if isinstance(exc, ValidationError)
                else str(exc)
            )
            raise PanosResponseError(
                f"log entry {logid} in the firewall's answer is unusable: {reason}"
            ) from None
        # pydantic gives each instance its own set of the fields given (2.2 KB here).
        # Events are frozen, nothing adds to the set (model_copy copies it first), and
        # an equal set is as good: share it.
        fields = event.__pydantic_fields_set__
        if fields == self._fields_set:
            object.__setattr__(event, "__pydantic_fields_set__", self._fields_set)
        else:
            self._fields_set = fields
        return event


def parse_log_entries(
    root: etree._Element, log_type: LogType, zone: tzinfo | None = None
) -> list[Event]:
    """Return the Events of a finished log job's answer (a whole tree), times in UTC.

    Times use the entry's `high_res_timestamp` offset where present, else `zone`,
    else UTC. An entry without serial, sequence number (or `logid`) or receive time
    makes the whole answer unusable: it could not be stored or de-duplicated.
    The client streams pages with `LogPageParser` instead; this serves callers that
    already hold a tree.
    """
    logs = root.find("result/log/logs")
    if logs is None:
        raise PanosResponseError("the log job's answer carries no result/log/logs")
    mapper = EntryMapper(log_type, zone)
    return [mapper.map(entry) for entry in logs.iterchildren("entry")]


def _lenient_ints(raw: dict[str, Any]) -> None:
    for name in _INT_FIELDS:
        value = raw.get(name)
        if isinstance(value, str):
            try:
                raw[name] = int(value)
            except ValueError:
                raw[name] = None


def _complete(raw: dict[str, Any], entry: etree._Element, log_type: LogType, times: _Times) -> None:
    """Turn the raw element texts of one entry into Event fields, in place."""
    for tag, field in _RENAMED:
        if tag in raw:
            raw[field] = raw.pop(tag)
    if raw.get("serial") is None:
        raise ValueError("no serial")
    if raw.get("seqno") is None:
        # Correlation logs have no sequence number; logid is their identity.
        logid = entry.get("logid")
        if logid is None or not logid.isdigit():
            raise ValueError("no seqno or logid")
        raw["seqno"] = logid

    zone = times.zone_for(raw.pop("high_res_timestamp", None))
    generated = raw.pop("time_generated", None)
    received = raw.pop("receive_time", None) or generated
    if received is None:
        raise ValueError("no receive_time")
    raw["receive_time"] = times.instant(received, zone)
    if generated is not None:
        raw["time_generated"] = times.instant(generated, zone)

    threatid = raw.pop("threatid", None)
    tid = raw.pop("tid", None)
    if threatid is not None:
        raw["threat_name"], raw["threat_id"] = split_threatid(threatid)
    if tid is not None and tid != "0":
        raw["threat_id"] = tid

    misc = raw.get("misc")
    if log_type is LogType.WILDFIRE:
        if raw.get("verdict") is None and raw.get("category") is not None:
            raw["verdict"] = raw["category"]
        if misc is not None:
            raw["file_name"] = misc
    elif misc is not None and raw.get("subtype") in _FILE_SUBTYPES:
        raw["file_name"] = misc

    evidence = raw.get("evidence")
    if evidence is not None and raw.get("evidence_count") is None:
        found = _TIMES_COUNT.search(evidence)
        if found:
            raw["evidence_count"] = found.group(1)
    raw["log_type"] = log_type
