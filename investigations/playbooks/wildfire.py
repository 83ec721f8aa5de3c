"""WildFire verdict malicious: the sample's network activity, fame, and our host's later contact."""

from __future__ import annotations

from collections.abc import Sequence

from investigations.finding import Finding, Message
from investigations.followup import Contact, Destinations, destinations_of, follow_up
from investigations.playbooks.common import (
    Decision,
    Draft,
    add_host_facts,
    ask_firewall,
    firewall_off,
    host_label,
    lines,
)
from investigations.playbooks.lookups import virustotal, wildfire
from investigations.playbooks.model import AlertFacts, Tools

NAME = "wildfire"
INFORMATIONAL = "informational"


def is_blocked_forward(severity: str | None, verdict: str | None) -> bool:
    """Malicious but informational: a file an AV signature blocked, forwarded to WildFire."""
    return (severity or "").lower() == INFORMATIONAL and (verdict or "malicious") == "malicious"


def zero_day_warning(vt_never_seen: bool, malicious: bool) -> Message | None:
    """A malicious file no VirusTotal vendor knows may be a zero-day (pure)."""
    return Message(key="warning.zero_day") if vt_never_seen and malicious else None


def decide(host: str, contacts: int | None, *, blocked_forward: bool = False) -> Decision:
    """Contact found → infection likely: isolate; none → watch; unknown → review (pure).

    `contacts` is the number of destinations our host reached after the event, or
    None when the firewall could not be asked.
    """
    if blocked_forward:
        return Decision(
            recommendation=Message(key="recommend.not_urgent", params={"host": host}),
            actions=("close_alert", "mark_monitored"),
            warnings=(Message(key="warning.wildfire_informational"),),
        )
    if contacts:
        return Decision(
            recommendation=Message(key="recommend.isolate_and_restore", params={"host": host}),
            actions=("request_isolation", "mark_monitored", "close_alert"),
            warnings=(Message(key="warning.host_contacted", params={"count": contacts}),),
        )
    if contacts is None:
        return Decision(
            recommendation=Message(key="recommend.review"),
            actions=("request_isolation", "mark_monitored", "close_alert"),
        )
    return Decision(
        recommendation=Message(key="recommend.monitor", params={"host": host}),
        actions=("mark_monitored", "close_alert"),
    )


def contact_lines(contacts: Sequence[Contact]) -> str:
    """Return the contacts as fact lines: time, log type, destination, what."""
    return lines(
        f"{c.at:%Y-%m-%d %H:%M:%S} UTC {c.log_type} {c.destination} — {c.detail}" for c in contacts
    )


def run(alert: AlertFacts, tools: Tools) -> Finding:
    """Investigate a WildFire alert."""
    event = alert.event
    draft = Draft(NAME, alert.subject)
    add_host_facts(draft, alert)
    draft.fact("fact.file_name", event.file_name or event.misc)
    draft.fact("fact.file_type", event.filetype)
    draft.fact("fact.sha256", event.file_digest)
    draft.fact("fact.application", event.app)
    draft.fact("fact.sender", event.sender)
    draft.fact("fact.recipient", event.recipient)
    draft.fact("fact.subject", event.subject)
    analysis = wildfire(draft, tools, event.file_digest)
    _, vt_never_seen = virustotal(draft, tools, event.file_digest)
    verdict = event.verdict or event.category
    zero_day = zero_day_warning(vt_never_seen, (verdict or "malicious") == "malicious")
    if zero_day is not None:
        draft.warn(zero_day)
    contacts = _contacts(draft, alert, tools, destinations_of(analysis.report))
    blocked = is_blocked_forward(event.severity, verdict)
    return draft.finding(decide(host_label(alert), contacts, blocked_forward=blocked))


def _contacts(draft: Draft, alert: AlertFacts, tools: Tools, wanted: Destinations) -> int | None:
    if tools.panos is None:
        firewall_off(draft)
        return None
    if alert.host is None:
        return 0  # no host of ours to follow
    panos, host, since = tools.panos, alert.host, alert.event.receive_time
    found, answered = ask_firewall(draft, lambda: follow_up(panos, host, since, wanted))
    if not answered or found is None:
        return None
    draft.fact("fact.contacted", contact_lines(found))
    return len({c.destination for c in found})
