"""What the fake intel server knows: plain records the renderers turn into each service's shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict


class Network(TypedDict, total=False):
    """A sample's network activity, as WildFire's report lists it.

    dns: "name" or "name=address"; urls: "http://host/path"; tcp/udp: "address:port".
    """

    dns: list[str]
    urls: list[str]
    tcp: list[str]
    udp: list[str]


@dataclass(frozen=True)
class Signature:
    """A Threat Vault signature."""

    id: str
    name: str
    kind: str  # vulnerability, spyware, antivirus
    description: str
    severity: str = "critical"
    category: str = ""
    cves: tuple[str, ...] = ()
    vendor_ids: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    default_action: str = "alert"
    first_version: str = "500"
    latest_version: str = "8900"
    first_release: datetime = datetime(2015, 2, 10, 17, 0, 5, tzinfo=UTC)
    latest_release: datetime = datetime(2024, 11, 5, 9, 12, 44, tzinfo=UTC)
    related_sha256: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sample:
    """A file: what VirusTotal, WildFire and Threat Vault say about it."""

    sha256: str
    md5: str
    sha1: str
    name: str
    file_type: str
    size: int
    malicious: int | None  # None: VirusTotal has never seen it
    total: int
    engines: dict[str, str]  # engine name as VirusTotal spells it -> detection name
    wildfire_verdict: int | None  # None: WildFire has never seen it
    network: Network = field(default_factory=Network)
    signature_ids: tuple[str, ...] = ()
    family: str = ""
    first_seen: datetime = datetime(2024, 10, 1, 8, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Cve:
    """An NVD CVE record."""

    id: str
    description: str
    score: float
    severity: str
    vector: str
    version: str = "3.1"  # 3.1, 3.0 or 2.0
    published: datetime = datetime(2015, 2, 11, 3, 0, 21, tzinfo=UTC)
    last_modified: datetime = datetime(2024, 11, 21, 2, 22, 5, tzinfo=UTC)
    references: tuple[tuple[str, tuple[str, ...]], ...] = ()
    cwe: str = "NVD-CWE-noinfo"
    kev_added: str | None = None  # YYYY-MM-DD
    kev_due: str | None = None
    kev_action: str | None = None
    kev_name: str | None = None


@dataclass(frozen=True)
class JvnNote:
    """A JVN iPedia note (Japanese)."""

    vuln_id: str
    cves: tuple[str, ...]
    title: str
    overview: str  # may hold HTML, as MyJVN's does
    impact: str
    solution: str
    score: float
    severity: str
    vector: str
    cvss_version: str = "3.0"
    published: datetime = datetime(2015, 2, 12, 12, 0, tzinfo=UTC)
    last_updated: datetime = datetime(2015, 2, 12, 12, 0, tzinfo=UTC)
