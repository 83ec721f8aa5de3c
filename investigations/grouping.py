"""The grouping key: which alert a new log joins instead of posting a new parent.

Alerts group by (rule, what was detected, our host) within GROUPING_WINDOW. "What was
detected" is the threat signature id for threat logs, the correlation object for
correlation logs and the file's sha256 for WildFire logs.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from datetime import timedelta

from investigations.panos.events import Event, LogType

GROUPING_WINDOW = timedelta(hours=24)
MAX_KEY_LENGTH = 512
_HASH_LENGTH = 64  # sha256 hex
# Thousands of logs of a page share a few hundred hosts: parse each address once. Only
# address-sized strings are kept, so the cache stays small whatever the logs say.
_HOST_CACHE_SIZE = 4096
_CACHED_LENGTH = 64


def _escape(part: str) -> str:
    # '|' separates the parts; escaping it keeps ("a|b", "c") and ("a", "b|c") apart.
    return part.replace("%", "%25").replace("|", "%7C")


def _detected(event: Event) -> str:
    if event.log_type is LogType.CORR:
        if event.object_id:
            return f"object:{event.object_id}"
        return f"object-name:{event.object_name}" if event.object_name else "object:?"
    if event.log_type is LogType.WILDFIRE and event.file_digest:
        return f"sha256:{event.file_digest.lower()}"
    if event.threat_id:
        return f"threat:{event.threat_id}"
    return f"threat-name:{event.threat_name}" if event.threat_name else "threat:?"


def _host(our_host: str | None) -> str:
    if our_host and len(our_host) <= _CACHED_LENGTH:
        return _cached_host(our_host)
    return _host_part(our_host)


def _host_part(our_host: str | None) -> str:
    if not our_host:
        return "host:-"
    try:
        return f"host:{ipaddress.ip_address(our_host.strip())}"
    except ValueError:
        return f"host:{our_host.strip()}"


_cached_host = functools.lru_cache(maxsize=_HOST_CACHE_SIZE)(_host_part)


def grouping_key(rule_id: str, event: Event, our_host: str | None) -> str:
    """Return the stable key of the alert group an event belongs to (at most 512 chars)."""
    key = "|".join(_escape(part) for part in (rule_id, _detected(event), _host(our_host)))
    if len(key) <= MAX_KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: MAX_KEY_LENGTH - _HASH_LENGTH - 1]}#{digest}"
