"""Virus in mail: who sent what to whom, and does the company's own antivirus catch the file."""

from __future__ import annotations

from collections.abc import Sequence

from investigations.enrich.virustotal import FileReport
from investigations.finding import Finding, Message
from investigations.playbooks.common import Decision, Draft, add_host_facts, host_label
from investigations.playbooks.lookups import add_signature_facts, signature, virustotal
from investigations.playbooks.model import AlertFacts, Tools

NAME = "antivirus"


def decide(
    host: str, our_engines: Sequence[str], detected_by: Sequence[str], vt_known: bool
) -> Decision:
    """Our antivirus detects the file → infection most likely prevented; else scan (pure)."""
    if detected_by:
        return Decision(
            recommendation=Message(
                key="recommend.av_prevented",
                params={"host": host, "engines": ", ".join(detected_by)},
            ),
            actions=("mark_monitored", "close_alert"),
        )
    warnings: tuple[Message, ...] = ()
    if our_engines and vt_known:
        warnings = (Message(key="warning.not_detected_by_our_av"),)
    return Decision(
        recommendation=Message(key="recommend.av_scan", params={"host": host}),
        actions=("mark_monitored", "request_isolation", "close_alert"),
        warnings=warnings,
    )


def engine_results(report: FileReport | None, engines: Sequence[str]) -> str:
    """Return each of our engines with its detection name, "-" where it stays silent."""
    if report is None:
        return ", ".join(engines)
    named = {r.engine_name.casefold(): r for r in report.results if r.category == "malicious"}
    shown = []
    for engine in engines:
        hit = named.get(engine.strip().casefold())
        shown.append(f"{hit.engine_name}: {hit.result or '+'}" if hit else f"{engine}: -")
    return "\n".join(shown)


def run(alert: AlertFacts, tools: Tools) -> Finding:
    """Investigate a virus-in-mail alert."""
    event = alert.event
    draft = Draft(NAME, alert.subject)
    add_host_facts(draft, alert)
    draft.fact("fact.sender", event.sender)
    draft.fact("fact.subject", event.subject)
    draft.fact("fact.recipient", event.recipient)
    draft.fact("fact.file_name", event.file_name or event.misc)
    draft.fact("fact.sha256", event.file_digest)
    add_signature_facts(draft, signature(draft, tools, event.threat_id))
    report, _ = virustotal(draft, tools, event.file_digest)
    detected = report.detected_by(tools.av_engines) if report is not None else []
    draft.fact("fact.av_engines", engine_results(report, tools.av_engines))
    return draft.finding(
        decide(host_label(alert), tools.av_engines, detected, vt_known=report is not None)
    )
