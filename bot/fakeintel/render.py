"""Render the fake intel records in each real service's wire shapes (see shared/reference)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from bot.fakeintel.records import Cve, JvnNote, Sample, Signature

# Engine names as VirusTotal spells them; the filler when a sample names fewer engines.
ENGINE_POOL = (
    "Bkav", "Lionic", "MicroWorld-eScan", "ClamAV", "CAT-QuickHeal", "Skyhigh", "McAfee",
    "Malwarebytes", "Zillya", "Sangfor", "K7AntiVirus", "Alibaba", "K7GW", "CrowdStrike",
    "Arcabit", "BitDefenderTheta", "VirIT", "Symantec", "tehtris", "ESET-NOD32",
    "TrendMicro-HouseCall", "Avast", "Cynet", "Kaspersky", "BitDefender", "NANO-Antivirus",
    "SUPERAntiSpyware", "Tencent", "Emsisoft", "F-Secure", "DrWeb", "VIPRE", "TrendMicro",
    "Trapmine", "FireEye", "Sophos", "SentinelOne", "Jiangmin", "Webroot", "Google", "Avira",
    "Antiy-AVL", "Kingsoft", "Gridinsoft", "Xcitium", "Microsoft", "ViRobot", "ZoneAlarm",
    "GData", "Varist", "AhnLab-V3", "Acronis", "VBA32", "ALYac", "MAX", "DeepInstinct",
    "Cylance", "Zoner", "Rising", "Yandex", "Ikarus", "MaxSecure", "Fortinet", "AVG",
    "Cybereason", "Panda", "Elastic", "Baidu", "TACHYON",
)  # fmt: skip


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


# --- Threat Vault -----------------------------------------------------------------------


def tv_signature(sig: Signature) -> dict[str, Any]:
    """Return a signature as `/threats` lists it; antivirus entries have their own shape."""
    if sig.kind == "antivirus":
        return {
            "name": sig.name,
            "severity": sig.severity,
            "type": "0",
            "subtype": "virus",
            "description": sig.description,
            "action": "",
            "id": sig.id,
            "create_time": _iso(sig.first_release),
            "status": "active",
            "related_sha256_hashes": list(sig.related_sha256),
            "release": {
                "antivirus": {
                    "first_release_version": sig.first_version,
                    "first_release_time": _iso(sig.first_release),
                    "last_release_version": sig.latest_version,
                    "last_release_time": _iso(sig.latest_release),
                }
            },
        }
    return {
        "id": sig.id,
        "name": sig.name,
        "description": sig.description,
        "category": sig.category,
        "min_version": "8.1.0",
        "max_version": "",
        "severity": sig.severity,
        "default_action": sig.default_action,
        "cve": list(sig.cves),
        "vendor": list(sig.vendor_ids),
        "reference": list(sig.references),
        "status": "released",
        "details": {"change_data": "new coverage"},
        "ori_release_version": sig.first_version,
        "latest_release_version": sig.latest_version,
        "ori_release_time": _iso(sig.first_release),
        "latest_release_time": _iso(sig.latest_release),
    }


def tv_found(data: dict[str, list[dict[str, Any]]]) -> bytes:
    """Return a successful `/threats` answer."""
    count = sum(len(items) for items in data.values())
    return _json(
        {
            "success": True,
            "link": {"next": None, "previous": None},
            "count": count,
            "data": data,
            "message": "Successful",
        }
    )


def tv_fileinfo(sample: Sample, signatures: Sequence[Signature]) -> dict[str, Any]:
    """Return a file as `/threats?sha256=` lists it."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for sig in signatures:
        by_kind.setdefault(sig.kind, []).append(tv_signature(sig))
    return {
        "filetype": sample.file_type,
        "sha256": sample.sha256,
        "sha1": sample.sha1,
        "md5": sample.md5,
        "size": str(sample.size),
        "type": "Virus" if signatures else "",
        "family": sample.family,
        "platform": "Win32",
        "wildfire_verdict": wf_verdict_name(sample.wildfire_verdict),
        "create_time": _iso(sample.first_seen),
        "signatures": by_kind,
    }


def tv_error(message: str) -> bytes:
    """Return Threat Vault's failure envelope (404 not found, 400 bad query, 401 bad key)."""
    return _json({"success": False, "message": message})


# --- WildFire ---------------------------------------------------------------------------

_WF_NAMES = {0: "benign", 1: "malicious", 2: "grayware", 4: "phishing", 5: "c2"}


def wf_verdict_name(code: int | None) -> str:
    """Return the verdict word Threat Vault uses for a WildFire code."""
    return _WF_NAMES.get(code, "") if code is not None else ""


def wf_verdict(digest: str, sample: Sample | None) -> bytes:
    """Return a `/get/verdict` answer (-102 when the sample is unknown)."""
    code = -102 if sample is None or sample.wildfire_verdict is None else sample.wildfire_verdict
    sha256 = sample.sha256 if sample else digest
    md5 = f"\n        <md5>{sample.md5}</md5>" if sample else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<wildfire>\n    <get-verdict-info>\n'
        f"        <sha256>{escape(sha256)}</sha256>\n        <verdict>{code}</verdict>{md5}\n"
        "    </get-verdict-info>\n</wildfire>\n"
    ).encode()


def _network(sample: Sample) -> str:
    net = sample.network
    lines = []
    for proto, dests in (("udp", net.get("udp", [])), ("tcp", net.get("tcp", []))):
        for dest in dests:
            ip, _, port = dest.rpartition(":")
            lines.append(
                f'<{proto.upper()} port={quoteattr(port)} ip={quoteattr(ip)} country="US"/>'
            )
    for entry in net.get("dns", []):
        name, _, answer = entry.partition("=")
        lines.append(
            f'<dns query={quoteattr(name)} response={quoteattr(answer or "NXDOMAIN")} type="A"/>'
        )
    for url in net.get("urls", []):
        rest = url.split("://", 1)[-1]
        host, slash, path = rest.partition("/")
        lines.append(
            f'<url host={quoteattr(host)} method="GET" uri={quoteattr(slash + path)}'
            ' user_agent="Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.1)"/>'
        )
    return "".join(f"\n                {line}" for line in lines)


def wf_report(sample: Sample) -> bytes:
    """Return a `/get/report` XML answer; no task_info while the verdict is pending."""
    malware = "yes" if sample.wildfire_verdict in (1, 4, 5) else "no"
    file_info = (
        "    <file_info>\n        <file_signer>None</file_signer>\n"
        f"        <malware>{malware}</malware>\n        <sha1>{sample.sha1}</sha1>\n"
        f"        <filetype>{escape(sample.file_type)}</filetype>\n"
        f"        <sha256>{sample.sha256}</sha256>\n        <md5>{sample.md5}</md5>\n"
        f"        <size>{sample.size}</size>\n    </file_info>\n"
    )
    reports = ""
    if sample.wildfire_verdict != -100:
        # Two analysis environments, as WildFire runs; their findings overlap.
        for software in (
            "Windows 7 x64 SP1, Adobe Reader 11, Flash 11, Office 2010",
            "Windows 10 x64",
        ):
            reports += (
                "        <report>\n            <version>3.0</version>\n"
                "            <platform>100</platform>\n"
                f"            <software>{escape(software)}</software>\n"
                f"            <sha256>{sample.sha256}</sha256>\n"
                f"            <md5>{sample.md5}</md5>\n            <malware>{malware}</malware>\n"
                "            <summary>\n"
                '                <entry score="0.8" id="2001" details="The sample connects to'
                ' a remote host">Connected to a non-standard HTTP port</entry>\n'
                "            </summary>\n"
                f"            <network>{_network(sample)}\n            </network>\n"
                "        </report>\n"
            )
        reports = f"    <task_info>\n{reports}    </task_info>\n"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<wildfire>\n    <version>2.0</version>\n'
        f"{file_info}{reports}</wildfire>\n"
    ).encode()


# --- VirusTotal -------------------------------------------------------------------------


def _engine_results(sample: Sample, malicious: int) -> dict[str, dict[str, Any]]:
    named = dict(sample.engines)
    fillers = iter(
        [e for e in ENGINE_POOL if e not in named]
        + [f"Engine-{n:02d}" for n in range(1, sample.total + 1)]
    )
    results: dict[str, dict[str, Any]] = {}

    def add(engine: str, category: str, result: str | None) -> None:
        results[engine] = {
            "category": category,
            "engine_name": engine,
            "engine_version": "1.0.0.1",
            "result": result,
            "method": "blacklist",
            "engine_update": "20241001",
        }

    for engine, detection in named.items():
        add(engine, "malicious", detection)
    while len(results) < malicious:
        add(next(fillers), "malicious", f"Trojan.Generic.{len(results) + 1000}")
    while len(results) < sample.total:
        add(next(fillers), "undetected", None)
    return results


def vt_file(sample: Sample) -> bytes:
    """Return a `GET /files/{id}` answer."""
    malicious = sample.malicious or 0
    stamp = int(sample.first_seen.timestamp())
    attributes = {
        "meaningful_name": sample.name,
        "names": [sample.name],
        "type_description": sample.file_type,
        "size": sample.size,
        "sha256": sample.sha256,
        "sha1": sample.sha1,
        "md5": sample.md5,
        "first_submission_date": stamp,
        "last_analysis_date": stamp + 3600,
        "last_analysis_stats": {
            "harmless": 0,
            "type-unsupported": 0,
            "suspicious": 0,
            "confirmed-timeout": 0,
            "timeout": 0,
            "failure": 0,
            "malicious": malicious,
            "undetected": sample.total - malicious,
        },
        "last_analysis_results": _engine_results(sample, malicious),
        "reputation": -malicious,
    }
    if sample.family:
        attributes["popular_threat_classification"] = {
            "suggested_threat_label": sample.family.lower()
        }
    return _json(
        {
            "data": {
                "attributes": attributes,
                "type": "file",
                "id": sample.sha256,
                "links": {"self": f"https://www.virustotal.com/api/v3/files/{sample.sha256}"},
            }
        }
    )


def vt_error(code: str, message: str) -> bytes:
    """Return VirusTotal's error envelope."""
    return _json({"error": {"message": message, "code": code}})


# --- NVD --------------------------------------------------------------------------------


def _nvd_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _metrics(cve: Cve) -> dict[str, Any]:
    if cve.version == "2.0":
        return {
            "cvssMetricV2": [
                {
                    "source": "nvd@nist.gov",
                    "type": "Primary",
                    "cvssData": {
                        "version": "2.0",
                        "vectorString": cve.vector,
                        "baseScore": cve.score,
                    },
                    "baseSeverity": cve.severity,
                    "exploitabilityScore": 8.6,
                    "impactScore": 10.0,
                }
            ]
        }
    key = "cvssMetricV31" if cve.version == "3.1" else "cvssMetricV30"
    return {
        key: [
            {
                "source": "nvd@nist.gov",
                "type": "Primary",
                "cvssData": {
                    "version": cve.version,
                    "vectorString": cve.vector,
                    "baseScore": cve.score,
                    "baseSeverity": cve.severity,
                },
                "exploitabilityScore": 3.9,
                "impactScore": 5.9,
            }
        ]
    }


def nvd_answer(cve: Cve | None, now: datetime) -> bytes:
    """Return a `?cveId=` answer (no vulnerabilities when unknown)."""
    items: list[dict[str, Any]] = []
    if cve is not None:
        record: dict[str, Any] = {
            "id": cve.id,
            "sourceIdentifier": "secure@microsoft.com",
            "published": _nvd_time(cve.published),
            "lastModified": _nvd_time(cve.last_modified),
            "vulnStatus": "Analyzed",
        }
        if cve.kev_added:
            record |= {
                "cisaExploitAdd": cve.kev_added,
                "cisaActionDue": cve.kev_due,
                "cisaRequiredAction": cve.kev_action,
                "cisaVulnerabilityName": cve.kev_name,
            }
        record |= {
            "descriptions": [{"lang": "en", "value": cve.description}],
            "metrics": _metrics(cve),
            "weaknesses": [
                {
                    "source": "nvd@nist.gov",
                    "type": "Primary",
                    "description": [{"lang": "en", "value": cve.cwe}],
                }
            ],
            "references": [
                {"url": url, "source": "secure@microsoft.com", "tags": list(tags)}
                for url, tags in cve.references
            ],
        }
        items.append({"cve": record})
    return _json(
        {
            "resultsPerPage": len(items),
            "startIndex": 0,
            "totalResults": len(items),
            "format": "NVD_CVE",
            "version": "2.0",
            "timestamp": _nvd_time(now),
            "vulnerabilities": items,
        }
    )


# --- MyJVN ------------------------------------------------------------------------------

_JVN_STATUS_NS = "http://jvndb.jvn.jp/myjvn/Status"


def _jvn_time(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _status(method: str, total: int, returned: int, *, error: str = "") -> str:
    return (
        f'  <status:Status version="3.3" method="{method}" lang="ja"'
        f' retCd="{1 if error else 0}" retMax="50" errCd="{"1" if error else ""}"'
        f' errMsg={quoteattr(error)} totalRes="{total}" totalResRet="{returned}"'
        ' firstRes="1" feed="hnd" />\n'
    )


def jvn_result(method: str, *, error: str = "") -> bytes:
    """Return MyJVN's bare <Result>: zero hits, or an error status."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Result version="3.3" xmlns="http://jvndb.jvn.jp/myjvn/Results"'
        f' xmlns:status="{_JVN_STATUS_NS}">\n{_status(method, 0, 0, error=error)}</Result>\n'
    ).encode()


def _link(note: JvnNote) -> str:
    return f"https://jvndb.jvn.jp/ja/contents/{note.vuln_id[6:10]}/{note.vuln_id}.html"


def jvn_overview(notes: Iterable[JvnNote], total: int) -> bytes:
    """Return a getVulnOverviewList answer (RSS 1.0, http:// namespaces as in the sample)."""
    notes = list(notes)
    seq = "".join(f'\n        <rdf:li rdf:resource="{_link(n)}" />' for n in notes)
    items = ""
    for n in notes:
        refs = "".join(
            f'\n    <sec:references source="CVE" id="{c}">https://www.cve.org/CVERecord?id={c}'
            f'</sec:references>\n    <sec:references source="NVD" id="{c}">'
            f"https://nvd.nist.gov/vuln/detail/{c}</sec:references>"
            for c in n.cves
        )
        items += (
            f'  <item rdf:about="{_link(n)}">\n    <title>{escape(n.title)}</title>\n'
            f"    <link>{_link(n)}</link>\n"
            f"    <description>{escape(n.overview)}</description>\n"
            "    <dc:creator>Information-technology Promotion Agency, Japan</dc:creator>\n"
            f"    <sec:identifier>{n.vuln_id}</sec:identifier>{refs}\n"
            f'    <sec:cvss score="{n.score}" severity="{n.severity}" vector="{n.vector}"'
            f' version="{n.cvss_version}" type="Base" />\n'
            f"    <dc:date>{_jvn_time(n.last_updated)}</dc:date>\n"
            f"    <dcterms:issued>{_jvn_time(n.published)}</dcterms:issued>\n"
            f"    <dcterms:modified>{_jvn_time(n.last_updated)}</dcterms:modified>\n  </item>\n"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rdf:RDF\n'
        '  xmlns="http://purl.org/rss/1.0/"\n'
        '  xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"\n'
        '  xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '  xmlns:dcterms="http://purl.org/dc/terms/"\n'
        '  xmlns:sec="http://jvn.jp/rss/mod_sec/3.0/"\n'
        f'  xmlns:status="{_JVN_STATUS_NS}"\n  xml:lang="ja">\n'
        '  <channel rdf:about="https://jvndb.jvn.jp/apis/myjvn">\n'
        "    <title>JVNDB　脆弱性対策情報</title>\n"
        "    <link>https://jvndb.jvn.jp/apis/myjvn</link>\n"
        f"    <items>\n      <rdf:Seq>{seq}\n      </rdf:Seq>\n    </items>\n  </channel>\n"
        f"{items}{_status('getVulnOverviewList', total, len(notes))}</rdf:RDF>\n"
    ).encode()


def jvn_detail(note: JvnNote) -> bytes:
    """Return a getVulnDetailInfo answer (VULDEF, https:// namespaces as MyJVN's docs show)."""
    related = "".join(
        '\n        <RelatedItem type="advisory">\n'
        f"          <Name>{name}</Name>\n          <VulinfoID>{c}</VulinfoID>\n"
        f"          <URL>{url}{c}</URL>\n        </RelatedItem>"
        for c in note.cves
        for name, url in (
            ("Common Vulnerabilities and Exposures (CVE)", "https://www.cve.org/CVERecord?id="),
            ("National Vulnerability Database (NVD)", "https://nvd.nist.gov/vuln/detail/"),
        )
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<VULDEF-Document version="3.2"\n'
        '  xmlns="https://jvn.jp/vuldef/" xmlns:vuldef="https://jvn.jp/vuldef/"\n'
        f'  xmlns:status="{_JVN_STATUS_NS}" xml:lang="ja">\n'
        f"  <Vulinfo>\n    <VulinfoID>{note.vuln_id}</VulinfoID>\n    <VulinfoData>\n"
        f"      <Title>{escape(note.title)}</Title>\n"
        "      <VulinfoDescription>\n"
        f"        <Overview>{escape(note.overview)}</Overview>\n"
        "      </VulinfoDescription>\n      <Impact>\n"
        f'        <Cvss version="{note.cvss_version}">\n'
        f'          <Severity type="Base">{note.severity}</Severity>\n'
        f"          <Base>{note.score}</Base>\n          <Vector>{note.vector}</Vector>\n"
        "        </Cvss>\n        <ImpactItem>\n"
        f"          <Description>{escape(note.impact)}</Description>\n"
        "        </ImpactItem>\n      </Impact>\n      <Solution>\n        <SolutionItem>\n"
        f"          <Description>{escape(note.solution)}</Description>\n"
        "        </SolutionItem>\n      </Solution>\n"
        f"      <Related>{related}\n      </Related>\n"
        f"      <DateFirstPublished>{_jvn_time(note.published)}</DateFirstPublished>\n"
        f"      <DateLastUpdated>{_jvn_time(note.last_updated)}</DateLastUpdated>\n"
        f"      <DatePublic>{_jvn_time(note.published)}</DatePublic>\n"
        "    </VulinfoData>\n  </Vulinfo>\n"
        f"{_status('getVulnDetailInfo', 1, 1)}</VULDEF-Document>\n"
    ).encode()
