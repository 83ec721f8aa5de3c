"""Validate indicators before any of them goes into a URL or a form."""

from __future__ import annotations

import re

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_SHA1 = re.compile(r"[0-9a-fA-F]{40}")
_MD5 = re.compile(r"[0-9a-fA-F]{32}")
# CVE ids have four or more digits after the year; the upper bound keeps input small.
_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,19}")
_THREAT_ID = re.compile(r"[0-9]{1,12}")
_JVNDB_ID = re.compile(r"JVNDB-[0-9]{4}-[0-9]{6}")


def is_sha256(value: str) -> bool:
    """Tell whether the value is a SHA-256 digest in hex."""
    return _SHA256.fullmatch(value) is not None


def is_sha1(value: str) -> bool:
    """Tell whether the value is a SHA-1 digest in hex."""
    return _SHA1.fullmatch(value) is not None


def is_md5(value: str) -> bool:
    """Tell whether the value is an MD5 digest in hex."""
    return _MD5.fullmatch(value) is not None


def normalize_hash(value: str, *, allow_sha1: bool = False) -> str:
    """Return a SHA-256 or MD5 (optionally SHA-1) digest in lower case, else raise ValueError."""
    candidate = value.strip()
    if is_sha256(candidate) or is_md5(candidate) or (allow_sha1 and is_sha1(candidate)):
        return candidate.lower()
    raise ValueError("not a SHA-256 or MD5 hash")


def normalize_cve(value: str) -> str:
    """Return the CVE id in upper case (`cve-2015-0036` → `CVE-2015-0036`); else ValueError."""
    candidate = value.strip().upper()
    if _CVE.fullmatch(candidate) is None:
        raise ValueError("not a CVE id (CVE-YYYY-NNNN)")
    return candidate


def is_threat_id(value: str | int) -> bool:
    """Tell whether the value is a PAN-OS threat/signature id: 1 to 12 digits, not zero."""
    text = str(value)
    return _THREAT_ID.fullmatch(text) is not None and int(text) > 0


def is_jvndb_id(value: str) -> bool:
    """Tell whether the value is a JVN iPedia id such as JVNDB-2022-000097."""
    return _JVNDB_ID.fullmatch(value) is not None
