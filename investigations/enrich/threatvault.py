"""Threat Vault: what a PAN-OS signature is, which CVEs it covers, what a file hash is."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Unpack
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from investigations.enrich._http import json_answer
from investigations.enrich._service import Options, Service, normalized
from investigations.enrich.errors import InvalidQuery, MalformedResponse
from investigations.enrich.indicators import is_md5, is_sha256, is_threat_id, normalize_cve
from investigations.enrich.limits import default_windows

NAME = "threatvault"
_DAY = 86_400
_HOUR = 3_600


def signature_link(threat_id: str) -> str:
    """Return the Threat Vault web page of a signature (needs a support-portal login)."""
    return f"https://threatvault.paloaltonetworks.com/?query={quote(threat_id)}"


class ThreatSignature(BaseModel):
    """One signature: an IPS vulnerability, spyware, antivirus... entry of Threat Vault."""

    model_config = ConfigDict(frozen=True)

    kind: str  # Threat Vault's data key: vulnerability, spyware, antivirus, ...
    id: str
    name: str
    description: str | None = None
    category: str | None = None  # e.g. code-execution, overflow, spyware
    subtype: str | None = None  # antivirus entries: virus, ...
    severity: str | None = None
    cves: tuple[str, ...] = ()
    vendor_ids: tuple[str, ...] = ()  # vendor advisories, e.g. MS15-009
    references: tuple[str, ...] = ()
    default_action: str | None = None
    status: str | None = None
    first_release_version: str | None = None
    first_release_time: datetime | None = None
    latest_release_version: str | None = None
    latest_release_time: datetime | None = None
    related_sha256: tuple[str, ...] = ()

    @property
    def link(self) -> str:
        """The signature's Threat Vault page."""
        return signature_link(self.id)


class FileInfo(BaseModel):
    """What Threat Vault knows of a file hash, with the signatures that cover it."""

    model_config = ConfigDict(frozen=True)

    sha256: str | None = None
    sha1: str | None = None
    md5: str | None = None
    filetype: str | None = None
    size: int | None = None
    type: str | None = None
    family: str | None = None
    platform: str | None = None
    wildfire_verdict: str | None = None
    create_time: datetime | None = None
    signatures: tuple[ThreatSignature, ...] = ()


class _Lenient(BaseModel):
    # Ids and versions arrive as strings or integers (FACTS.md); blanks mean absent.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_blanks(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None and v != ""}
        return data


class _RawRelease(_Lenient):
    first_release_version: str | None = None
    first_release_time: datetime | None = None
    last_release_version: str | None = None
    last_release_time: datetime | None = None


class _RawSignature(_Lenient):
    id: str
    name: str
    description: str | None = None
    category: str | None = None
    subtype: str | None = None
    severity: str | None = None
    cve: list[str] = Field(default_factory=list)
    vendor: list[str] = Field(default_factory=list)
    reference: list[str] = Field(default_factory=list)
    default_action: str | None = None
    action: str | None = None
    status: str | None = None
    ori_release_version: str | None = None
    ori_release_time: datetime | None = None
    latest_release_version: str | None = None
    latest_release_time: datetime | None = None
    release: dict[str, _RawRelease] = Field(default_factory=dict)
    related_sha256_hashes: list[str] = Field(default_factory=list)

    def to_model(self, kind: str) -> ThreatSignature:
        own = self.release.get(kind) or self.release.get("antivirus") or _RawRelease()
        return ThreatSignature(
            kind=kind,
            id=self.id,
            name=self.name,
            description=self.description,
            category=self.category,
            subtype=self.subtype,
            severity=self.severity,
            cves=tuple(c.strip().upper() for c in self.cve),
            vendor_ids=tuple(self.vendor),
            references=tuple(self.reference),
            default_action=self.default_action or self.action,
            status=self.status,
            first_release_version=self.ori_release_version or own.first_release_version,
            first_release_time=self.ori_release_time or own.first_release_time,
            latest_release_version=self.latest_release_version or own.last_release_version,
            latest_release_time=self.latest_release_time or own.last_release_time,
            related_sha256=tuple(self.related_sha256_hashes),
        )


class _RawFileInfo(_Lenient):
    sha256: str | None = None
    sha1: str | None = None
    md5: str | None = None
    filetype: str | None = None
    size: int | None = None
    type: str | None = None
    family: str | None = None
    platform: str | None = None
    wildfire_verdict: str | None = None
    create_time: datetime | None = None
    signatures: dict[str, list[_RawSignature]] = Field(default_factory=dict)

    def to_model(self) -> FileInfo:
        return FileInfo(
            **self.model_dump(exclude={"signatures"}),
            signatures=tuple(
                raw.to_model(kind) for kind, items in self.signatures.items() for raw in items
            ),
        )


def parse_signatures(data: Mapping[str, Any]) -> list[ThreatSignature]:
    """Read every signature of a `/threats` answer's `data` object."""
    try:
        return [
            _RawSignature.model_validate(item).to_model(kind)
            for kind, items in data.items()
            if kind != "fileinfo" and isinstance(items, list)
            for item in items
        ]
    except ValidationError:
        raise MalformedResponse(NAME, "a signature lacks its id or name") from None


def parse_fileinfo(data: Mapping[str, Any]) -> FileInfo | None:
    """Read the first file of a `/threats?sha256=` answer's `data` object."""
    items = data.get("fileinfo")
    if not isinstance(items, list) or not items:
        return None
    try:
        return _RawFileInfo.model_validate(items[0]).to_model()
    except ValidationError:
        raise MalformedResponse(NAME, "the file information is malformed") from None


class ThreatVault(Service):
    """Client of the Threat Vault API (`/threats`), key in the X-API-KEY header."""

    def __init__(self, base_url: str, api_key: str, **options: Unpack[Options]) -> None:
        super().__init__(
            NAME,
            base_url,
            windows=default_windows(NAME),
            headers={"X-API-KEY": api_key, "Accept": "application/json"},
            **options,
        )
        self._url = f"{self.base_url}/threats"

    def by_signature_id(self, threat_id: str | int) -> ThreatSignature | None:
        """Return the signature with this id, or None when Threat Vault does not know it."""
        text = str(threat_id).strip()
        if not is_threat_id(text):
            raise InvalidQuery(NAME, "a threat id is 1 to 12 digits")

        def fetch() -> ThreatSignature | None:
            data = self._query({"id": text})
            found = parse_signatures(data) if data else []
            return next((s for s in found if s.id == text), found[0] if found else None)

        return self._cached.one(f"id:{text}", fetch, ThreatSignature, ttl=_DAY, negative_ttl=_HOUR)

    def by_hash(self, digest: str) -> FileInfo | None:
        """Return what Threat Vault knows of a SHA-256 or MD5 file hash, or None."""
        value = digest.strip().lower()
        if is_sha256(value):
            param = "sha256"
        elif is_md5(value):
            param = "md5"
        else:
            raise InvalidQuery(NAME, "not a SHA-256 or MD5 hash")

        def fetch() -> FileInfo | None:
            data = self._query({param: value})
            return parse_fileinfo(data) if data else None

        return self._cached.one(f"{param}:{value}", fetch, FileInfo, ttl=_DAY, negative_ttl=_HOUR)

    def by_cve(self, cve: str) -> list[ThreatSignature]:
        """Return the signatures that cover a CVE (empty when none)."""
        cve_id = normalized(NAME, normalize_cve, cve)

        def fetch() -> list[ThreatSignature]:
            data = self._query({"cve": cve_id})
            return parse_signatures(data) if data else []

        return self._cached.many(
            f"cve:{cve_id}", fetch, ThreatSignature, ttl=_DAY, negative_ttl=_HOUR
        )

    def _query(self, params: dict[str, str]) -> dict[str, Any] | None:
        payload = json_answer(self._http.get(self._url, params=params))
        if payload is None or payload.get("success") is False:
            return None
        data = payload.get("data")
        if not data:
            return None
        if not isinstance(data, dict):
            raise MalformedResponse(NAME, "`data` is not an object")
        return data
