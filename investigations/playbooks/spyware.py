"""Spyware / C2: what the signature says the traffic is; the host is most likely infected."""

from __future__ import annotations

from investigations.finding import Finding, Message
from investigations.network import Direction
from investigations.playbooks.common import Decision, Draft, add_host_facts, host_label
from investigations.playbooks.lookups import add_signature_facts, signature
from investigations.playbooks.model import AlertFacts, Tools

NAME = "spyware"


def decide(host: str, direction_words: str) -> Decision:
    """C2 from inside → infected: isolate, scan and clean, or reinstall (pure)."""
    warning = (
        Message(key="warning.c2")
        if direction_words == Direction.INSIDE_TO_OUTSIDE.value
        else Message(key="warning.likely_infected")
    )
    return Decision(
        recommendation=Message(key="recommend.isolate_c2", params={"host": host}),
        actions=("request_isolation", "mark_monitored", "close_alert"),
        warnings=(warning,),
    )


def run(alert: AlertFacts, tools: Tools) -> Finding:
    """Investigate a spyware alert."""
    event = alert.event
    draft = Draft(NAME, alert.subject)
    add_host_facts(draft, alert)
    draft.fact("fact.other_side", alert.other)
    draft.fact("fact.urls", event.misc)
    add_signature_facts(draft, signature(draft, tools, event.threat_id))
    return draft.finding(decide(host_label(alert), alert.direction_words))
