"""What every playbook does the same way: ask a source safely, collect facts, list sources.

A source is asked through `consult` (enrichment) or `ask_firewall`: an absent client is
OFF, an error is FAILED with its plain-text reason, and nothing a source does can stop
the others. A playbook fills a `Draft`, then turns it into the frozen `Finding`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from investigations.enrich.errors import EnrichmentError
from investigations.enrich.outcome import failed, not_found, off, ok
from investigations.finding import Fact, Finding, Message, SourceResult, SourceStatus
from investigations.panos.errors import PanosError
from investigations.playbooks.model import AlertFacts

C = TypeVar("C")
T = TypeVar("T")

FIREWALL = "firewall"
MAX_FACT_LINES = 15
MAX_TEXT = 1500  # one intel text (a description, an overview) in a fact
# Which outcome a source shows when it was asked several times (one per CVE, say):
# a failure must not hide behind a success, and "still analysing" outranks "done".
_RANK = {
    SourceStatus.FAILED: 4,
    SourceStatus.PENDING: 3,
    SourceStatus.OK: 2,
    SourceStatus.NOT_FOUND: 1,
    SourceStatus.OFF: 0,
}


@dataclass(frozen=True)
class Decision:
    """A playbook's conclusion: what to warn about, what to recommend, which buttons fit."""

    recommendation: Message
    actions: tuple[str, ...]
    warnings: tuple[Message, ...] = ()


def shorten(text: str | None, limit: int = MAX_TEXT) -> str:
    """Return intel text on at most `limit` characters (a finding is a summary)."""
    if not text:
        return ""
    flat = text.strip()
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def lines(items: Iterable[str], limit: int = MAX_FACT_LINES) -> str:
    """Return items one per line, at most `limit`, then how many were left out."""
    unique = list(dict.fromkeys(i for i in items if i))
    shown = unique[:limit]
    if len(unique) > limit:
        shown.append(f"… (+{len(unique) - limit})")
    return "\n".join(shown)


@dataclass
class Draft:
    """A finding being assembled; `finding()` freezes it."""

    playbook: str
    subject: str
    facts: list[Fact] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)
    sources: dict[str, SourceResult] = field(default_factory=dict)
    pending: bool = False

    def fact(self, label: str, value: object) -> None:
        """Add a fact unless its value is empty; a second value of a label joins the first."""
        text = "" if value is None else str(value).strip()
        if not text:
            return
        for index, fact in enumerate(self.facts):
            if fact.label == label:
                if text not in fact.value.split("\n"):
                    self.facts[index] = Fact(label=label, value=f"{fact.value}\n{text}")
                return
        self.facts.append(Fact(label=label, value=text))

    def warn(self, message: Message) -> None:
        """Add a warning once."""
        if message not in self.warnings:
            self.warnings.append(message)

    def source(self, result: SourceResult) -> None:
        """Record a consultation; a source asked twice shows its most telling outcome."""
        before = self.sources.get(result.name)
        if before is None:
            self.sources[result.name] = result
            return
        better = result if _RANK[result.status] > _RANK[before.status] else before
        self.sources[result.name] = better.model_copy(update={"link": before.link or result.link})

    def failed(self, name: str) -> bool:
        """Tell whether a source failed."""
        result = self.sources.get(name)
        return result is not None and result.status is SourceStatus.FAILED

    def finding(self, decision: Decision | None) -> Finding:
        """Freeze the draft with its conclusion."""
        warnings = list(decision.warnings) if decision else []
        for message in self.warnings:
            if message not in warnings:
                warnings.append(message)
        if any(s.status is SourceStatus.FAILED for s in self.sources.values()):
            warnings.append(Message(key="warning.sources_missing"))
        return Finding(
            playbook=self.playbook,
            subject=self.subject,
            facts=tuple(self.facts),
            warnings=tuple(warnings),
            sources=tuple(self.sources.values()),
            recommendation=decision.recommendation if decision else None,
            actions=decision.actions if decision else (),
            pending=self.pending,
        )


def consult(
    draft: Draft,
    name: str,
    client: C | None,
    call: Callable[[C], T | None],
    *,
    link: Callable[[T], str | None] | str | None = None,
) -> T | None:
    """Ask one enrichment source; record OFF, FAILED, NOT_FOUND or OK; return its answer."""
    if client is None:
        draft.source(off(name))
        return None
    try:
        value = call(client)
    except EnrichmentError as exc:
        draft.source(failed(name, exc))
        return None
    if value is None or (isinstance(value, list | tuple) and not value):
        draft.source(not_found(name, link if isinstance(link, str) else None))
        return None
    shown = link(value) if callable(link) else link
    draft.source(ok(name, shown))
    return value


def ask_firewall(draft: Draft, call: Callable[[], T]) -> tuple[T | None, bool]:
    """Query the firewall; return (answer, whether it answered), recording the outcome."""
    try:
        value = call()
    except (PanosError, ValueError) as exc:
        # PanosError messages are written for humans and never carry the key.
        reason = shorten(str(exc), 200) or type(exc).__name__
        draft.source(SourceResult(name=FIREWALL, status=SourceStatus.FAILED, detail=reason))
        return None, False
    draft.source(SourceResult(name=FIREWALL, status=SourceStatus.OK))
    return value, True


def firewall_off(draft: Draft) -> None:
    """Record that no firewall client was given (tests, or a bare lookup without one)."""
    draft.source(SourceResult(name=FIREWALL, status=SourceStatus.OFF))


def host_label(alert: AlertFacts) -> str:
    """Return the host a recommendation names: ours, else the other side."""
    return alert.host or alert.other or "-"


def add_host_facts(draft: Draft, alert: AlertFacts) -> None:
    """Add what panbot knows of our host: address, names, users, records, earlier alerts."""
    event, context = alert.event, alert.host_context
    ours_is_src = alert.host is not None and alert.host == event.src
    users = [event.srcuser if ours_is_src else event.dstuser, *context.users]
    names = [event.src_host if ours_is_src else event.dst_host, *context.names]
    draft.fact("fact.our_host", alert.host)
    draft.fact("fact.host_users", ", ".join(dict.fromkeys(u for u in users if u)))
    draft.fact("fact.host_names", ", ".join(dict.fromkeys(n for n in names if n)))
    draft.fact("fact.patched_for", ", ".join(context.patched_for))
    earlier = [a for a in context.earlier_alerts if a.alert_id != alert.alert_id]
    draft.fact(
        "fact.earlier_alerts",
        lines(
            f"#{a.alert_id} {a.rule}: {a.threat or '-'} "
            f"({a.first_seen:%Y-%m-%d %H:%M} UTC, {a.state})"
            for a in earlier
        ),
    )
