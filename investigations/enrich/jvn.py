"""MyJVN (JVN iPedia): a CVE's Japanese vulnerability note — title, overview, impact, solution."""

from __future__ import annotations

from datetime import datetime
from typing import Unpack
from urllib.parse import urlencode

from lxml import etree
from pydantic import BaseModel, ConfigDict

from investigations.enrich._http import unexpected
from investigations.enrich._service import Options, Service, normalized
from investigations.enrich._text import strip_html
from investigations.enrich._xml import child_text, localname, parse_xml
from investigations.enrich.errors import MalformedResponse, SourceUnavailable
from investigations.enrich.indicators import is_jvndb_id, normalize_cve
from investigations.enrich.limits import default_windows

NAME = "jvn"
MAX_DETAILS = 5  # one CVE rarely has more notes; each costs a request
_DAY = 86_400
# Without these MyJVN searches only the last week (FACTS.md).
_ALL_DATES = {"rangeDatePublic": "n", "rangeDatePublished": "n", "rangeDateFirstPublished": "n"}


def search_link(cve_id: str) -> str:
    """Return JVN iPedia's search page for the CVE (Japanese)."""
    query = urlencode(
        {"mode": "_vulnerability_search_IA_VulnSearch", "lang": "ja", "keyword": cve_id}
    )
    return f"https://jvndb.jvn.jp/search/index.php?{query}"


class JvnCvss(BaseModel):
    """A CVSS base score as JVN iPedia rates it."""

    model_config = ConfigDict(frozen=True)

    version: str
    score: float | None = None
    severity: str | None = None
    vector: str | None = None


class JvnEntry(BaseModel):
    """One JVN iPedia note about the CVE, in Japanese, as plain text."""

    model_config = ConfigDict(frozen=True)

    vuln_id: str  # JVNDB-YYYY-NNNNNN
    cve: str
    title: str
    overview: str | None = None
    impact: str | None = None
    solution: str | None = None
    cvss: tuple[JvnCvss, ...] = ()  # newest CVSS version first
    link: str | None = None  # the note's page
    published: datetime | None = None
    last_updated: datetime | None = None


class _Item(BaseModel):
    vuln_id: str
    title: str
    description: str | None
    link: str | None
    issued: datetime | None
    modified: datetime | None


def _status(root: etree._Element) -> None:
    status = root.find("{*}Status")
    if status is not None and status.get("retCd", "0") != "0":
        raise SourceUnavailable(NAME, f"MyJVN error {status.get('errCd') or '?'}")


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _plain(value: str | None) -> str | None:
    return strip_html(value) or None if value else None


def parse_overview(body: bytes, cve_id: str) -> list[_Item]:
    """Read a getVulnOverviewList answer: the notes whose references name exactly this CVE."""
    root = parse_xml(NAME, body)
    _status(root)
    if localname(root) == "Result":
        return []  # zero hits: a bare <Result> holding only the status
    if localname(root) != "RDF":
        raise MalformedResponse(NAME, "unexpected root element")
    items: list[_Item] = []
    for item in root.iterfind("{*}item"):
        # The keyword search is partial: CVE-2021-4428 also finds CVE-2021-44287.
        named = {(ref.get("id") or "").strip().upper() for ref in item.iterfind("{*}references")}
        vuln_id = child_text(item, "identifier")
        if cve_id not in named or vuln_id is None:
            continue
        items.append(
            _Item(
                vuln_id=vuln_id,
                title=child_text(item, "title") or vuln_id,
                description=child_text(item, "description"),
                link=child_text(item, "link"),
                issued=_time(child_text(item, "issued")),
                modified=_time(child_text(item, "modified")),
            )
        )
    return items


def _joined(info: etree._Element, path: str) -> str | None:
    texts = [e.text for e in info.iterfind(path) if e.text and e.text.strip()]
    return _plain("\n".join(texts)) if texts else None


def _cvss(data: etree._Element) -> tuple[JvnCvss, ...]:
    scores = []
    for cvss in data.iterfind("{*}Impact/{*}Cvss"):
        base = child_text(cvss, "Base")
        try:
            score = float(base) if base else None
        except ValueError:
            score = None
        scores.append(
            JvnCvss(
                version=cvss.get("version", ""),
                score=score,
                severity=child_text(cvss, "Severity"),
                vector=child_text(cvss, "Vector"),
            )
        )
    return tuple(sorted(scores, key=lambda c: c.version, reverse=True))


def parse_detail(body: bytes, item: _Item, cve_id: str) -> JvnEntry:
    """Read a getVulnDetailInfo answer for one note; the overview stands in when it has none."""
    root = parse_xml(NAME, body)
    _status(root)
    for info in root.iterfind("{*}Vulinfo"):
        if child_text(info, "VulinfoID") != item.vuln_id:
            continue
        data = info.find("{*}VulinfoData")
        if data is None:
            break
        return JvnEntry(
            vuln_id=item.vuln_id,
            cve=cve_id,
            title=_plain(child_text(data, "Title")) or item.title,
            overview=_joined(data, "{*}VulinfoDescription/{*}Overview"),
            impact=_joined(data, "{*}Impact/{*}ImpactItem/{*}Description"),
            solution=_joined(data, "{*}Solution/{*}SolutionItem/{*}Description"),
            cvss=_cvss(data),
            link=item.link,
            published=_time(child_text(data, "DateFirstPublished")) or item.issued,
            last_updated=_time(child_text(data, "DateLastUpdated")) or item.modified,
        )
    return JvnEntry(
        vuln_id=item.vuln_id,
        cve=cve_id,
        title=_plain(item.title) or item.vuln_id,
        overview=_plain(item.description),
        link=item.link,
        published=item.issued,
        last_updated=item.modified,
    )


class Jvn(Service):
    """Client of the MyJVN API (`feed=hnd`, Japanese); needs no key."""

    def __init__(self, base_url: str, **options: Unpack[Options]) -> None:
        super().__init__(NAME, base_url, windows=default_windows(NAME), **options)

    def by_cve(self, cve_id: str) -> list[JvnEntry]:
        """Return the JVN iPedia notes that reference exactly this CVE (empty when none)."""
        value = normalized(NAME, normalize_cve, cve_id)

        def fetch() -> list[JvnEntry]:
            items = parse_overview(
                self._call(
                    {"method": "getVulnOverviewList", "keyword": value, "maxCountItem": "50"}
                    | _ALL_DATES
                ),
                value,
            )
            return [
                parse_detail(
                    self._call({"method": "getVulnDetailInfo", "vulnId": item.vuln_id}),
                    item,
                    value,
                )
                for item in items[:MAX_DETAILS]
                if is_jvndb_id(item.vuln_id)
            ]

        return self._cached.many(f"cve:{value}", fetch, JvnEntry, ttl=_DAY, negative_ttl=_DAY)

    def _call(self, params: dict[str, str]) -> bytes:
        reply = self._http.get(self.base_url, params={"feed": "hnd", "lang": "ja", **params})
        if reply.status != 200:
            raise unexpected(reply)
        return reply.body
