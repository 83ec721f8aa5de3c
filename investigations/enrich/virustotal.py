"""VirusTotal: how many antivirus engines flag a file, and which."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Unpack

from pydantic import BaseModel, ConfigDict

from investigations.enrich._http import json_answer
from investigations.enrich._service import Options, Service, normalized
from investigations.enrich.errors import MalformedResponse
from investigations.enrich.indicators import normalize_hash
from investigations.enrich.limits import default_windows

NAME = "virustotal"
_HOURS_6 = 6 * 3_600
_MINUTES_30 = 1_800
# The categories in which an engine looked at the file and said something about it.
_VERDICT_CATEGORIES = ("malicious", "suspicious", "undetected", "harmless")


def gui_link(digest: str) -> str:
    """Return the file's VirusTotal web page."""
    return f"https://www.virustotal.com/gui/file/{digest}"


class EngineResult(BaseModel):
    """One engine's answer about the file."""

    model_config = ConfigDict(frozen=True)

    engine_name: str
    category: str  # malicious, suspicious, undetected, harmless, type-unsupported, timeout...
    result: str | None = None  # the engine's detection name


class AnalysisStats(BaseModel):
    """The counts of `last_analysis_stats`."""

    model_config = ConfigDict(frozen=True)

    malicious: int = 0
    suspicious: int = 0
    undetected: int = 0
    harmless: int = 0
    timeout: int = 0
    confirmed_timeout: int = 0
    failure: int = 0
    type_unsupported: int = 0


class FileReport(BaseModel):
    """VirusTotal's last analysis of a file."""

    model_config = ConfigDict(frozen=True)

    sha256: str
    md5: str | None = None
    sha1: str | None = None
    meaningful_name: str | None = None
    type_description: str | None = None
    size: int | None = None
    threat_label: str | None = None  # popular_threat_classification.suggested_threat_label
    last_analysis_date: datetime | None = None
    stats: AnalysisStats = AnalysisStats()
    results: tuple[EngineResult, ...] = ()

    @property
    def malicious(self) -> int:
        """Engines that flagged the file as malicious."""
        return self.stats.malicious

    @property
    def total(self) -> int:
        """Engines that gave a verdict.

        Like VirusTotal's own page, this leaves out engines that do not support the
        file type, timed out or failed.
        """
        s = self.stats
        return s.malicious + s.suspicious + s.undetected + s.harmless

    @property
    def ratio(self) -> tuple[int, int]:
        """(malicious, total): the guide's "20 of 59"."""
        return self.malicious, self.total

    @property
    def link(self) -> str:
        """The file's VirusTotal web page."""
        return gui_link(self.sha256)

    def detected_by(self, engines: Sequence[str]) -> list[str]:
        """Return those of `engines` (any case) that call the file malicious, spelled as VT does.

        Only "malicious" counts: a "suspicious" heuristic is no reason to say the
        company's antivirus prevented an infection.
        """
        flagged = {
            r.engine_name.casefold(): r.engine_name
            for r in self.results
            if r.category == "malicious"
        }
        hits = (flagged.get(e.strip().casefold()) for e in engines)
        return list(dict.fromkeys(h for h in hits if h))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_file(payload: Mapping[str, Any]) -> FileReport:
    """Read a `GET /files/{id}` answer."""
    data = payload.get("data")
    attrs = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(attrs, dict):
        raise MalformedResponse(NAME, "no data.attributes in the answer")
    sha256 = attrs.get("sha256") or data.get("id")
    if not isinstance(sha256, str):
        raise MalformedResponse(NAME, "the file has no sha256")
    raw_stats = attrs.get("last_analysis_stats") or {}
    stats = AnalysisStats(
        **{
            field: _int(raw_stats.get(field.replace("_", "-")))
            for field in AnalysisStats.model_fields
        }
    )
    results = tuple(
        EngineResult(
            engine_name=str(r.get("engine_name") or key),
            category=str(r.get("category") or "unknown"),
            result=r.get("result") if isinstance(r.get("result"), str) else None,
        )
        for key, r in (attrs.get("last_analysis_results") or {}).items()
        if isinstance(r, dict)
    )
    analysed = attrs.get("last_analysis_date")
    analysed_at = datetime.fromtimestamp(analysed, UTC) if isinstance(analysed, int) else None
    label = (attrs.get("popular_threat_classification") or {}).get("suggested_threat_label")
    return FileReport(
        sha256=sha256.lower(),
        md5=attrs.get("md5"),
        sha1=attrs.get("sha1"),
        meaningful_name=attrs.get("meaningful_name"),
        type_description=attrs.get("type_description"),
        size=attrs.get("size") if isinstance(attrs.get("size"), int) else None,
        threat_label=label if isinstance(label, str) else None,
        last_analysis_date=analysed_at,
        stats=stats,
        results=results,
    )


class VirusTotal(Service):
    """Client of the VirusTotal API v3; the key travels in the x-apikey header."""

    def __init__(self, base_url: str, api_key: str, **options: Unpack[Options]) -> None:
        super().__init__(
            NAME,
            base_url,
            windows=default_windows(NAME),
            headers={"x-apikey": api_key, "Accept": "application/json"},
            # VirusTotal sends no Retry-After; its per-minute window is what resets.
            default_retry_after=15.0,
            **options,
        )

    def file(self, digest: str) -> FileReport | None:
        """Return the file's last analysis, or None when VirusTotal has never seen it."""
        value = normalized(NAME, lambda text: normalize_hash(text, allow_sha1=True), digest)

        def fetch() -> FileReport | None:
            payload = json_answer(self._http.get(f"{self.base_url}/files/{value}"))
            return None if payload is None else parse_file(payload)

        return self._cached.one(
            f"file:{value}", fetch, FileReport, ttl=_HOURS_6, negative_ttl=_MINUTES_30
        )
