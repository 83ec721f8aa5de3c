"""Log entries (`result/log/logs/entry`) to Events: the hot path of every poll.

A page holds up to 5,000 entries of ~100 elements each. Each entry is walked once and
only the elements an Event uses are read (lxml filters the tags in C, so unused
elements never become Python objects). Times, the threat name/id split and the
per-log-type fields are done here; pydantic's compiled validator does the rest, which
measured faster than `model_construct` for this model.
"""

from __future__ import annotations

import re
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
# Threat subtypes whose <misc> is a file name rather than a URL.
_FILE_SUBTYPES = frozenset({"virus", "wildfire-virus", "wildfire", "file", "ml-virus"})
_TIMES_COUNT = re.compile(r"\((\d+) times?\)")


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


def parse_log_entries(
    root: etree._Element, log_type: LogType, zone: tzinfo | None = None
) -> list[Event]:
    """Return the Events of a finished log job's answer, times in UTC.

    Times use the entry's `high_res_timestamp` offset where present, else `zone`,
    else UTC. An entry without serial, sequence number (or `logid`) or receive time
    makes the whole answer unusable: it could not be stored or de-duplicated.
    """
    logs = root.find("result/log/logs")
    if logs is None:
        raise PanosResponseError("the log job's answer carries no result/log/logs")
    times = _Times(zone)
    tags = _TAGS
    validate = Event.model_validate
    events: list[Event] = []
    for entry in logs.iterchildren("entry"):
        raw: dict[str, Any] = {child.tag: child.text for child in entry.iterchildren(*tags)}
        try:
            _complete(raw, entry, log_type, times)
            try:
                event = validate(raw)
            except ValidationError:
                # Rare: a number PAN-OS left garbled. Such numbers become None.
                _lenient_ints(raw)
                event = validate(raw)
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
        events.append(event)
    return events


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
