"""PAN-OS device-local times ('YYYY/MM/DD HH:MM:SS') to UTC and back.

A firewall writes log times on its own clock with no offset. Newer releases add
`high_res_timestamp` (ISO 8601 with the offset), which pins the offset exactly; a
configured IANA zone is the fallback, and UTC the last resort. Reading device-local
times as UTC regardless is a known bug of other integrations: never do that silently.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

PANOS_TIME_FORMAT = "%Y/%m/%d %H:%M:%S"


def parse_local_time(text: str, zone: tzinfo) -> datetime:
    """Return the UTC instant of a device-local PAN-OS time read in `zone`.

    An ambiguous wall time (the repeated hour when DST ends) is read as the first
    occurrence, and a skipped one (when DST starts) as zoneinfo's fold=0 reading.
    """
    # Slicing is several times faster than strptime, and this runs per log entry.
    if len(text) != 19 or text[4] != "/" or text[7] != "/" or text[10] != " ":
        raise ValueError(f"not a PAN-OS time: {text[:40]!r}")
    if text[13] != ":" or text[16] != ":":
        raise ValueError(f"not a PAN-OS time: {text[:40]!r}")
    local = datetime(
        int(text[0:4]),
        int(text[5:7]),
        int(text[8:10]),
        int(text[11:13]),
        int(text[14:16]),
        int(text[17:19]),
        tzinfo=zone,
    )
    return local.astimezone(UTC)


def offset_of(high_res_timestamp: str) -> timezone | None:
    """Return the UTC offset carried by a `high_res_timestamp`, or None if it has none."""
    try:
        parsed = datetime.fromisoformat(high_res_timestamp)
    except ValueError:
        return None
    offset = parsed.utcoffset()
    if offset is None:
        return None
    return UTC if not offset else timezone(offset)


def parse_high_res(high_res_timestamp: str) -> datetime | None:
    """Return a `high_res_timestamp` as a UTC datetime, or None when it has no offset."""
    try:
        parsed = datetime.fromisoformat(high_res_timestamp)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def format_panos_time(dt_utc: datetime, zone_or_offset: tzinfo | timedelta | None) -> str:
    """Return an aware datetime as the firewall's device-local 'YYYY/MM/DD HH:MM:SS'."""
    if dt_utc.tzinfo is None or dt_utc.utcoffset() is None:
        raise ValueError("format_panos_time needs a timezone-aware datetime")
    if zone_or_offset is None:
        zone: tzinfo = UTC
    elif isinstance(zone_or_offset, timedelta):
        zone = timezone(zone_or_offset)
    else:
        zone = zone_or_offset
    return dt_utc.astimezone(zone).strftime(PANOS_TIME_FORMAT)
