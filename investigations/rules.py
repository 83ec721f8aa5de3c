"""The five detection rules: the guide's log queries, each overridable by configuration."""

from __future__ import annotations

from dataclasses import dataclass

from investigations.panos.events import LogType


@dataclass(frozen=True, slots=True)
class Rule:
    """A detection rule: one PAN-OS log query polled on a schedule."""

    id: str
    log_type: LogType
    query: str


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        "vulnerability",
        LogType.THREAT,
        "( subtype eq vulnerability ) and ( severity eq critical ) and ( action eq alert )",
    ),
    Rule(
        "antivirus",
        LogType.THREAT,
        "( subtype eq virus ) and ( action eq alert ) and (( app eq pop3 ) or ( app eq imap ))",
    ),
    Rule("wildfire", LogType.WILDFIRE, "( verdict eq malicious ) and ( severity eq high )"),
    Rule(
        "spyware",
        LogType.THREAT,
        "( severity eq critical ) and ( subtype eq spyware ) and ( action eq alert )",
    ),
    Rule("correlation", LogType.CORR, "( severity eq critical )"),
)

RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in DEFAULT_RULES)


def rules_with_overrides(overrides: dict[str, str]) -> tuple[Rule, ...]:
    """Return the default rules with some queries replaced (keys are rule ids)."""
    unknown = set(overrides) - set(RULE_IDS)
    if unknown:
        raise ValueError(f"unknown rule id(s): {', '.join(sorted(unknown))}")
    return tuple(
        Rule(rule.id, rule.log_type, overrides.get(rule.id, rule.query)) for rule in DEFAULT_RULES
    )
