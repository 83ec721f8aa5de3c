"""NVD: a CVE's CVSS score, references and CISA KEV status (English)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Unpack

from pydantic import BaseModel, ConfigDict, ValidationError

from investigations.enrich._http import unexpected
from investigations.enrich._service import Options, Service, normalized
from investigations.enrich.errors import AuthFailed, MalformedResponse
from investigations.enrich.indicators import normalize_cve
from investigations.enrich.limits import default_windows

NAME = "nvd"
ATTRIBUTION = "This product uses the NVD API but is not endorsed or certified by the NVD."
_DAY = 86_400
_HOUR = 3_600
# Newest CVSS first; within a version NVD's own ("Primary") scoring wins over a CNA's.
_METRICS = {"cvssMetricV31": "3.1", "cvssMetricV30": "3.0", "cvssMetricV2": "2.0"}


def detail_link(cve_id: str) -> str:
    """Return the CVE's NVD page."""
    return f"https://nvd.nist.gov/vuln/detail/{cve_id}"


class Cvss(BaseModel):
    """The chosen CVSS base metrics."""

    model_config = ConfigDict(frozen=True)

    version: str  # 3.1, 3.0 or 2.0
    base_score: float
    severity: str | None = None  # CRITICAL, HIGH, ...
    vector: str | None = None


class Reference(BaseModel):
    """A link NVD lists for the CVE, with its tags (Patch, Vendor Advisory, ...)."""

    model_config = ConfigDict(frozen=True)

    url: str
    tags: tuple[str, ...] = ()


class Kev(BaseModel):
    """CISA's Known Exploited Vulnerabilities entry, when the CVE is in the catalogue."""

    model_config = ConfigDict(frozen=True)

    exploit_add: date | None = None
    action_due: date | None = None
    required_action: str | None = None
    vulnerability_name: str | None = None


class CveRecord(BaseModel):
    """One CVE as NVD describes it."""

    model_config = ConfigDict(frozen=True)

    id: str
    description: str | None = None  # English
    cvss: Cvss | None = None
    references: tuple[Reference, ...] = ()
    kev: Kev | None = None
    weaknesses: tuple[str, ...] = ()
    status: str | None = None
    published: datetime | None = None
    last_modified: datetime | None = None

    @property
    def link(self) -> str:
        """The CVE's NVD page."""
        return detail_link(self.id)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # NVD writes UTC times without an offset.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cvss(metrics: Mapping[str, Any]) -> Cvss | None:
    for key, version in _METRICS.items():
        entries = [m for m in metrics.get(key) or [] if isinstance(m, dict)]
        entries.sort(key=lambda m: m.get("type") != "Primary")
        for metric in entries:
            data = metric.get("cvssData") or {}
            score = data.get("baseScore")
            if isinstance(score, int | float):
                return Cvss(
                    version=str(data.get("version") or version),
                    base_score=float(score),
                    # CVSS v2 keeps its severity beside cvssData in older answers.
                    severity=data.get("baseSeverity") or metric.get("baseSeverity"),
                    vector=data.get("vectorString"),
                )
    return None


def parse_cve(payload: Mapping[str, Any]) -> CveRecord | None:
    """Read a `?cveId=` answer; None when it has no vulnerability."""
    items = payload.get("vulnerabilities")
    if not isinstance(items, list):
        raise MalformedResponse(NAME, "no vulnerabilities list in the answer")
    if not items:
        return None
    cve = items[0].get("cve") if isinstance(items[0], dict) else None
    if not isinstance(cve, dict) or not isinstance(cve.get("id"), str):
        raise MalformedResponse(NAME, "the vulnerability has no CVE id")
    english = [d.get("value") for d in cve.get("descriptions") or [] if d.get("lang") == "en"]
    kev = None
    if cve.get("cisaExploitAdd") or cve.get("cisaVulnerabilityName"):
        kev = Kev(
            exploit_add=cve.get("cisaExploitAdd"),
            action_due=cve.get("cisaActionDue"),
            required_action=cve.get("cisaRequiredAction"),
            vulnerability_name=cve.get("cisaVulnerabilityName"),
        )
    weaknesses = [
        d.get("value")
        for w in cve.get("weaknesses") or []
        for d in w.get("description") or []
        if d.get("lang") == "en" and d.get("value")
    ]
    try:
        return CveRecord(
            id=cve["id"],
            description=english[0] if english else None,
            cvss=_cvss(cve.get("metrics") or {}),
            references=tuple(
                Reference(url=r["url"], tags=tuple(r.get("tags") or ()))
                for r in cve.get("references") or []
                if isinstance(r, dict) and isinstance(r.get("url"), str)
            ),
            kev=kev,
            weaknesses=tuple(dict.fromkeys(weaknesses)),
            status=cve.get("vulnStatus"),
            published=_utc(cve.get("published")),
            last_modified=_utc(cve.get("lastModified")),
        )
    except ValidationError:
        raise MalformedResponse(NAME, "the CVE record is malformed") from None


class Nvd(Service):
    """Client of the NVD CVE API 2.0; works without a key, at a tenth of the rate."""

    def __init__(
        self, base_url: str, api_key: str | None = None, **options: Unpack[Options]
    ) -> None:
        headers = {"Accept": "application/json"}
        if api_key:
            headers["apiKey"] = api_key
        super().__init__(
            NAME,
            base_url,
            windows=default_windows(NAME, keyed=bool(api_key)),
            headers=headers,
            # NVD throttles with 403 and no Retry-After; it advises about six seconds.
            throttle_statuses=(403, 429),
            default_retry_after=6.0,
            **options,
        )

    def cve(self, cve_id: str) -> CveRecord | None:
        """Return NVD's record of the CVE, or None when NVD has none."""
        value = normalized(NAME, normalize_cve, cve_id)

        def fetch() -> CveRecord | None:
            reply = self._http.get(self.base_url, params={"cveId": value})
            if reply.status == 404:
                return None
            # Not raise_for_auth: a 403 here is NVD's throttle, which the requester retries.
            if reply.status == 401:
                raise AuthFailed(NAME, "the API key was refused (HTTP 401)")
            if reply.status != 200:
                raise unexpected(reply)
            return parse_cve(reply.json_object())

        return self._cached.one(f"cve:{value}", fetch, CveRecord, ttl=_DAY, negative_ttl=_HOUR)
