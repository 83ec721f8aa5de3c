"""Bare-value investigations (`/pan investigate <IP | hash | CVE | threat id>`): no buttons."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from investigations.enrich.indicators import is_sha256
from investigations.enrich.threatvault import FileInfo
from investigations.finding import Finding, Message
from investigations.followup import checked_ip, host_query
from investigations.network import our_host_and_other
from investigations.panos.events import Event, LogType
from investigations.playbooks.common import (
    Decision,
    Draft,
    ask_firewall,
    consult,
    firewall_off,
    lines,
)
from investigations.playbooks.lookups import (
    add_cve_facts,
    add_signature_facts,
    signature,
    virustotal,
    wildfire,
)
from investigations.playbooks.model import HostContext, Tools
from investigations.playbooks.wildfire import is_blocked_forward, zero_day_warning

NAME = "indicator"
IP_LOOKBACK = timedelta(hours=24)
FILE_LOOKBACK = timedelta(days=7)
_PAGE = 500

REVIEW = Decision(recommendation=Message(key="recommend.review"), actions=())


def _log_line(event: Event) -> str:
    what = event.threat_name or event.object_name or event.misc or event.app or "-"
    extra = ", ".join(x for x in (event.severity, event.action) if x)
    return (
        f"{event.receive_time:%Y-%m-%d %H:%M} UTC {event.log_type.value} "
        f"{event.src or '?'} → {event.dst or '?'} {what}" + (f" ({extra})" if extra else "")
    )


def threat_counts(events: Sequence[Event]) -> str:
    """Return the threats seen, most frequent first: "Name (id) ×n" (pure)."""
    counted = Counter(
        f"{e.threat_name} ({e.threat_id})" if e.threat_id else (e.threat_name or "-")
        for e in events
    )
    return lines(f"{name} ×{n}" for name, n in counted.most_common())


def ip(value: str, tools: Tools, context: HostContext | None = None) -> Finding:
    """Investigate an address: what panbot knows of it and its threat logs of the last day."""
    address = checked_ip(value)
    if address is None:
        raise ValueError("not an IP address")
    draft = Draft(NAME, address)
    context = context or HostContext()
    draft.fact("fact.host_names", ", ".join(context.names))
    draft.fact("fact.host_users", ", ".join(context.users))
    draft.fact("fact.patched_for", ", ".join(context.patched_for))
    draft.fact(
        "fact.earlier_alerts",
        lines(
            f"#{a.alert_id} {a.rule}: {a.threat or '-'} ({a.first_seen:%Y-%m-%d %H:%M} UTC, "
            f"{a.state})"
            for a in context.earlier_alerts
        ),
    )
    if tools.panos is None:
        firewall_off(draft)
        return draft.finding(REVIEW)
    panos = tools.panos
    since = panos.format_time(tools.now() - IP_LOOKBACK)
    query = host_query(address, since, field="addr")
    events, _ = ask_firewall(
        draft, lambda: panos.query_logs(LogType.THREAT, query, page_size=_PAGE, max_pages=1)
    )
    if events is not None:
        draft.fact("fact.recent_logs", f"{len(events)}")
        draft.fact("fact.threat", threat_counts(events))
    return draft.finding(REVIEW)


def _threatvault_file(draft: Draft, tools: Tools, digest: str) -> FileInfo | None:
    info = consult(draft, "threatvault", tools.clients.threatvault, lambda tv: tv.by_hash(digest))
    if info is not None:
        draft.fact("fact.malware", info.family)
        draft.fact("fact.file_type", info.filetype)
        draft.fact("fact.signatures", lines(f"{s.name} ({s.id})" for s in info.signatures))
    return info


def _firewall_file_logs(draft: Draft, tools: Tools, digest: str) -> list[Event]:
    if tools.panos is None:
        firewall_off(draft)
        return []
    if not is_sha256(digest):
        return []  # firewall logs carry the SHA-256 only
    panos = tools.panos
    since = panos.format_time(tools.now() - FILE_LOOKBACK)
    # `digest` is 64 hex digits (checked above): nothing else reaches the filter.
    query = f"( filedigest eq {digest.lower()} ) and ( receive_time geq '{since}' )"
    events, _ = ask_firewall(
        draft, lambda: panos.query_logs(LogType.WILDFIRE, query, page_size=_PAGE, max_pages=1)
    )
    return events or []


def file(digest: str, tools: Tools) -> Finding:
    """Investigate a file hash: Threat Vault, WildFire, VirusTotal and the firewall's logs."""
    value = digest.strip().lower()
    draft = Draft(NAME, value)
    _threatvault_file(draft, tools, value)
    analysis = wildfire(draft, tools, value)
    _, vt_never_seen = virustotal(draft, tools, value)
    logs = _firewall_file_logs(draft, tools, value)
    draft.fact("fact.recent_logs", lines(_log_line(e) for e in logs))
    blocked = [e for e in logs if is_blocked_forward(e.severity, e.verdict or e.category)]
    if blocked:
        host, _ = our_host_and_other(blocked[0], tools.networks)
        return draft.finding(
            Decision(
                recommendation=Message(key="recommend.not_urgent", params={"host": host or "-"}),
                actions=(),
                warnings=(Message(key="warning.wildfire_informational"),),
            )
        )
    malicious = (analysis.verdict is not None and analysis.verdict.is_malicious) or any(
        (e.verdict or e.category) == "malicious" for e in logs
    )
    zero_day = zero_day_warning(vt_never_seen, malicious)
    if zero_day is not None:
        draft.warn(zero_day)
    return draft.finding(REVIEW)


def cve(cve_id: str, tools: Tools) -> Finding:
    """Investigate a CVE: the signatures that cover it, NVD and JVN."""
    draft = Draft(NAME, cve_id)
    signatures = consult(
        draft,
        "threatvault",
        tools.clients.threatvault,
        lambda tv: tv.by_cve(cve_id),
        link=lambda found: found[0].link,
    )
    draft.fact("fact.signatures", lines(f"{s.name} ({s.id})" for s in signatures or ()))
    draft.fact("fact.cves", cve_id)
    add_cve_facts(draft, tools, [cve_id])
    return draft.finding(REVIEW)


def threat(threat_id: str, tools: Tools) -> Finding:
    """Investigate a signature id: what it detects and the CVEs it covers."""
    draft = Draft(NAME, threat_id)
    info = signature(draft, tools, threat_id)
    if info is not None:
        draft.fact("fact.threat", f"{info.name} ({info.id})" if info.name else info.id)
    add_signature_facts(draft, info)
    if info is not None and info.cves:
        add_cve_facts(draft, tools, info.cves)
    return draft.finding(REVIEW)
