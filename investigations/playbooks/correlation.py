"""Correlated event: the correlation object, its summary, and the evidence logs behind it."""

from __future__ import annotations

from investigations.finding import Finding, Message
from investigations.followup import Evidence, correlation_evidence
from investigations.playbooks.common import (
    Decision,
    Draft,
    add_host_facts,
    ask_firewall,
    firewall_off,
    host_label,
    lines,
)
from investigations.playbooks.model import AlertFacts, Tools

NAME = "correlation"

# The descriptions of PAN-OS's built-in objects the guide meets; the correlation log
# carries only the name, and the XML API has no call that returns the description.
_C2_BEACON = (
    "Detects hosts that may be compromised, based on command-and-control (C2) "
    "beacon-like activity: repeated visits to newly registered or dynamic DNS "
    "domains, repeated file downloads from the same place, unknown traffic."
)
KNOWN_OBJECTS: dict[str, str] = {
    "host visited known malware url": _C2_BEACON,
    "beacon detection": _C2_BEACON,
    "compromised host": _C2_BEACON,
}


def object_description(name: str | None) -> str | None:
    """Return the description of a built-in correlation object, when panbot knows it."""
    return KNOWN_OBJECTS.get((name or "").strip().casefold())


def decide(host: str) -> Decision:
    """A correlated compromise: isolate the host and investigate the infection (pure)."""
    return Decision(
        recommendation=Message(key="recommend.isolate_investigate", params={"host": host}),
        actions=("request_isolation", "mark_monitored", "close_alert"),
        warnings=(Message(key="warning.likely_infected"),),
    )


def evidence_facts(draft: Draft, evidence: Evidence) -> None:
    """Add the evidence: how many logs, to where, in which direction."""
    kinds = ", ".join(f"{kind} {n}" for kind, n in evidence.by_type)
    draft.fact("fact.evidence_count", f"{evidence.count} ({kinds})" if kinds else "0")
    draft.fact("fact.evidence", lines(f"{where} ×{n}" for where, n in evidence.destinations))
    draft.fact("fact.direction", ", ".join(f"{d} ×{n}" for d, n in evidence.directions))


def run(alert: AlertFacts, tools: Tools) -> Finding:
    """Investigate a correlated event."""
    event = alert.event
    draft = Draft(NAME, alert.subject)
    add_host_facts(draft, alert)
    shown = f"{event.object_name} ({event.object_id})" if event.object_id else event.object_name
    draft.fact("fact.corr_object", shown)
    draft.fact("fact.corr_description", object_description(event.object_name))
    draft.fact("fact.corr_summary", event.evidence)
    draft.fact("fact.category", event.category)
    if tools.panos is None:
        firewall_off(draft)
    elif alert.host is not None:
        panos, host, until = tools.panos, alert.host, event.receive_time
        evidence, _ = ask_firewall(draft, lambda: correlation_evidence(panos, host, until))
        if evidence is not None:
            evidence_facts(draft, evidence)
    return draft.finding(decide(host_label(alert)))
