"""Plain frozen data the views render: no database rows, no Slack payloads.

Handlers and jobs fill these from storage; the views turn them into Block Kit.
Every datetime must be timezone-aware (rendered in UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Literal, NamedTuple

AlertState = Literal["open", "acknowledged", "closed"]
Direction = Literal[
    "outside_to_inside", "inside_to_outside", "inside_to_inside", "outside_to_outside", "unknown"
]
IsolationState = Literal["requested", "approved", "applied", "apply_failed", "rejected", "released"]
Verdict = Literal["no_impact", "false_positive", "remediated"]

ALERT_STATES: tuple[AlertState, ...] = ("open", "acknowledged", "closed")
DIRECTIONS: tuple[Direction, ...] = (
    "outside_to_inside",
    "inside_to_outside",
    "inside_to_inside",
    "outside_to_outside",
    "unknown",
)
ISOLATION_STATES: tuple[IsolationState, ...] = (
    "requested",
    "approved",
    "applied",
    "apply_failed",
    "rejected",
    "released",
)
VERDICTS: tuple[Verdict, ...] = ("no_impact", "false_positive", "remediated")


def _require_aware(owner: object) -> None:
    for item in fields(owner):  # type: ignore[arg-type]
        value = getattr(owner, item.name)
        if isinstance(value, datetime) and value.utcoffset() is None:
            raise ValueError(f"{type(owner).__name__}.{item.name} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """A message ready for chat.postMessage / chat.update / chat.postEphemeral."""

    text: str  # the notification and accessibility fallback: always present
    blocks: list[dict[str, Any]]
    unfurl_links: bool = False
    unfurl_media: bool = False

    def to_payload(self) -> dict[str, Any]:
        """Return the keyword arguments for chat.postMessage (channel and thread_ts aside)."""
        return {
            "text": self.text,
            "blocks": self.blocks,
            "unfurl_links": self.unfurl_links,
            "unfurl_media": self.unfurl_media,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertCard:
    """Everything an alert's parent message shows.

    `file_verdict` is WildFire's verdict on the file (malicious, grayware...);
    `verdict` is the team's closing verdict.
    """

    alert_id: int
    rule: str  # a rule id of investigations.rules
    time: datetime  # when the first log of the alert was generated
    state: AlertState = "open"
    threat_name: str | None = None
    threat_id: str | None = None
    severity: str | None = None
    action: str | None = None
    our_host: str | None = None
    other_side: str | None = None
    direction: Direction = "unknown"
    application: str | None = None
    firewall: str | None = None
    count: int = 1
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    host_names: tuple[str, ...] = ()
    host_users: tuple[str, ...] = ()
    # per-rule key facts
    cves: tuple[str, ...] = ()
    sender: str | None = None
    subject: str | None = None
    recipient: str | None = None
    file_name: str | None = None
    file_type: str | None = None
    file_hash: str | None = None
    file_verdict: str | None = None
    corr_object: str | None = None
    corr_summary: str | None = None
    evidence_count: int | None = None
    # triage
    acked_by: str | None = None
    acked_at: datetime | None = None
    assignee: str | None = None
    host_patched_for: tuple[str, ...] = ()
    monitored_until: datetime | None = None
    isolation_state: IsolationState | None = None
    verdict: Verdict | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    patched_note: bool = False  # our host is already patched for this CVE: suggest no impact

    def __post_init__(self) -> None:
        _require_aware(self)
        if self.count < 1:
            raise ValueError("AlertCard.count must be at least 1")


class PollStatus(NamedTuple):
    """The last poll of one rule."""

    rule: str
    last_poll: datetime | None
    error: str | None = None


class AlertLine(NamedTuple):
    """One alert in a list (a host's history, the digest)."""

    alert_id: int
    rule: str
    threat: str | None
    state: str
    first_seen: datetime


class AuditEntry(NamedTuple):
    """One audit-trail row: who did what, when."""

    at: datetime
    actor: str  # Slack user ID, or "panbot"
    action: str  # an audit action; shown through the catalog's `audit.<action>` when defined
    detail: str | None = None


class HostMark(NamedTuple):
    """A host that is watched or isolated, for the App Home."""

    ip: str
    since: datetime | None
    until: datetime | None
    alert_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusSummary:
    """What `/pan status` and the App Home show."""

    open_by_state: dict[str, int]
    last_polls: list[PollStatus]
    firewall_ok: bool
    firewall_detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HostHistory:
    """What `/pan host <IP>` shows."""

    ip: str
    names: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    patched_for: tuple[str, ...] = ()
    monitored_until: datetime | None = None
    isolated_since: datetime | None = None
    isolated_until: datetime | None = None
    alerts: list[AlertLine] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        _require_aware(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestSummary:
    """The day's numbers for the optional daily digest."""

    day: date
    new_by_rule: dict[str, int]
    closed_by_verdict: dict[str, int]
    open_by_state: dict[str, int]
    oldest_open: list[AlertLine] = field(default_factory=list)
