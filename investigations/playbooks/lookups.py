"""Lookups several playbooks share: a signature, a CVE, a file on VirusTotal and WildFire."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from investigations.enrich.indicators import is_threat_id, normalize_cve
from investigations.enrich.jvn import JvnEntry, search_link
from investigations.enrich.nvd import CveRecord, detail_link
from investigations.enrich.virustotal import FileReport
from investigations.enrich.wildfire import Report, Verdict, VerdictCode
from investigations.finding import SourceResult, SourceStatus
from investigations.panos.models import ThreatSignature as FirewallSignature
from investigations.playbooks.common import (
    Draft,
    ask_firewall,
    consult,
    firewall_off,
    lines,
    shorten,
)
from investigations.playbooks.model import Tools

MAX_CVES = 5  # each costs an NVD and a JVN request; signatures rarely list more
_ADVISORY_TAGS = frozenset({"Patch", "Vendor Advisory", "Mitigation"})


@dataclass(frozen=True)
class SignatureInfo:
    """A threat signature, from Threat Vault or, failing that, from the firewall."""

    id: str
    name: str | None
    description: str | None
    cves: tuple[str, ...]
    vendor_ids: tuple[str, ...] = ()


def _valid_cves(values: Sequence[str]) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        try:
            found.append(normalize_cve(value))
        except ValueError:
            continue
    return tuple(dict.fromkeys(found))


def signature(draft: Draft, tools: Tools, threat_id: str | None) -> SignatureInfo | None:
    """Describe a signature: Threat Vault first; the firewall's content when that cannot."""
    if not threat_id or not is_threat_id(threat_id):
        return None
    found = consult(
        draft,
        "threatvault",
        tools.clients.threatvault,
        lambda tv: tv.by_signature_id(threat_id),
        link=lambda s: s.link,
    )
    if found is not None:
        return SignatureInfo(
            id=found.id,
            name=found.name,
            description=found.description,
            cves=_valid_cves(found.cves),
            vendor_ids=found.vendor_ids,
        )
    # The firewall knows its own installed signatures (FACTS.md: `show threat id`).
    if tools.panos is None:
        firewall_off(draft)
        return None
    panos = tools.panos
    local: FirewallSignature | None
    local, _ = ask_firewall(draft, lambda: panos.threat_signature(int(threat_id)))
    if local is None:
        return None
    return SignatureInfo(
        id=str(local.id),
        name=local.name,
        description=local.description,
        cves=_valid_cves(local.cves),
    )


def add_signature_facts(draft: Draft, info: SignatureInfo | None) -> None:
    """Add a signature's description, CVEs and vendor advisories."""
    if info is None:
        return
    draft.fact("fact.description", shorten(info.description))
    draft.fact("fact.cves", ", ".join(info.cves))
    draft.fact("fact.vendor_advisories", ", ".join(info.vendor_ids))


def _cvss_text(record: CveRecord) -> str:
    if record.cvss is None:
        return ""
    severity = f" {record.cvss.severity}" if record.cvss.severity else ""
    return f"{record.cvss.base_score:g}{severity} (CVSS {record.cvss.version})"


def _kev_text(record: CveRecord) -> str:
    kev = record.kev
    if kev is None:
        return ""
    parts = [f"CISA KEV since {kev.exploit_add}" if kev.exploit_add else "CISA KEV"]
    if kev.action_due:
        parts.append(f"due {kev.action_due}")
    text = ", ".join(parts)
    return f"{text}: {kev.required_action}" if kev.required_action else text


def _prefixed(cve: str, text: str, many: bool) -> str:
    return f"{cve}: {text}" if many and text else text


def _ask_about(
    draft: Draft, tools: Tools, cve: str
) -> tuple[CveRecord | None, list[JvnEntry] | None]:
    record = consult(
        draft, "nvd", tools.clients.nvd, lambda nvd: nvd.cve(cve), link=detail_link(cve)
    )

    def jvn_link(found: list[JvnEntry]) -> str:
        return found[0].link or search_link(cve)

    entries = consult(draft, "jvn", tools.clients.jvn, lambda jvn: jvn.by_cve(cve), link=jvn_link)
    return record, entries


def add_cve_facts(draft: Draft, tools: Tools, cves: Sequence[str]) -> None:
    """Ask NVD and JVN about each CVE (the first few) and add what they say."""
    chosen = list(dict.fromkeys(cves))[:MAX_CVES]
    many = len(chosen) > 1
    cvss: list[str] = []
    kev: list[str] = []
    advisories: list[str] = []
    descriptions: list[str] = []
    notes: list[JvnEntry] = []
    for cve in chosen:
        record, entries = _ask_about(draft, tools, cve)
        if record is not None:
            cvss.append(_prefixed(cve, _cvss_text(record), many))
            kev.append(_prefixed(cve, _kev_text(record), many))
            descriptions.append(_prefixed(cve, shorten(record.description, 600), many))
            advisories += [r.url for r in record.references if _ADVISORY_TAGS & set(r.tags)]
        if entries:
            notes.append(entries[0])
    draft.fact("fact.cvss", lines(cvss))
    draft.fact("fact.kev", lines(kev))
    draft.fact("fact.vendor_advisories", lines(advisories, 5))
    draft.fact("fact.nvd_description", lines(descriptions, 3))
    for note in notes:
        prefix = f"{note.cve} " if many else ""
        draft.fact("fact.jvn_title", f"{prefix}{note.vuln_id}: {note.title}")
        draft.fact("fact.jvn_overview", shorten(note.overview))
        draft.fact("fact.jvn_impact", shorten(note.impact))
        draft.fact("fact.jvn_solution", shorten(note.solution))


def virustotal(draft: Draft, tools: Tools, digest: str | None) -> tuple[FileReport | None, bool]:
    """Return (VirusTotal's report, whether VirusTotal answered that it has never seen it)."""
    if not digest:
        return None, False
    report = consult(
        draft,
        "virustotal",
        tools.clients.virustotal,
        lambda vt: vt.file(digest),
        link=lambda r: r.link,
    )
    if report is not None:
        malicious, total = report.ratio
        draft.fact("fact.vt_detections", f"{malicious} / {total}")
        draft.fact("fact.malware", report.threat_label)
    unseen = draft.sources.get("virustotal")
    return report, unseen is not None and unseen.status is SourceStatus.NOT_FOUND


def wildfire_link(base_url: str, digest: str) -> str:
    """Return the WildFire portal's page of a sample, in the configured (regional) cloud."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/wildfire/reportlist?search={quote(digest)}"


@dataclass(frozen=True)
class WildFireOutcome:
    """What WildFire said about a file."""

    verdict: VerdictCode | None = None
    report: Report | None = None
    pending: bool = False


def _activity(report: Report) -> str:
    items = [f"DNS {q.query}" + (f" → {q.response}" if q.response else "") for q in report.dns]
    items += [
        f"{c.protocol.upper()} {c.ip}"
        + (f":{c.port}" if c.port is not None else "")
        + (f" ({c.country})" if c.country else "")
        for c in report.connections
    ]
    items += [f"{h.method or 'HTTP'} {h.url}" for h in report.http]
    return lines(items)


def wildfire(draft: Draft, tools: Tools, digest: str | None) -> WildFireOutcome:
    """Ask WildFire for the verdict and the analysis report; note network activity."""
    client = tools.clients.wildfire
    if not digest:
        return WildFireOutcome()
    link = wildfire_link(client.base_url, digest) if client is not None else None
    verdict: Verdict | None = consult(
        draft, "wildfire", client, lambda wf: wf.verdict(digest), link=link
    )
    if verdict is None:
        return WildFireOutcome()
    if verdict.code is VerdictCode.UNKNOWN:
        draft.sources["wildfire"] = SourceResult(
            name="wildfire", status=SourceStatus.NOT_FOUND, link=link
        )
        return WildFireOutcome(verdict=verdict.code)
    draft.fact("fact.file_verdict", verdict.code.name.lower())
    report: Report | None = consult(draft, "wildfire", client, lambda wf: wf.report(digest))
    pending = verdict.code is VerdictCode.PENDING or (report is not None and report.pending)
    if pending:
        draft.source(SourceResult(name="wildfire", status=SourceStatus.PENDING, link=link))
        draft.pending = True
    if report is not None and not report.pending:
        draft.fact("fact.network_activity", _activity(report))
    return WildFireOutcome(verdict=verdict.code, report=report, pending=pending)
