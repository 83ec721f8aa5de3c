"""Store one page of matching logs: new events, new or joined alerts, outbox rows, cursor.

All of it happens in the caller's transaction, so a crash leaves either the whole
page stored with the cursor moved, or nothing: a re-read then stores it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.config import Network
from investigations.grouping import GROUPING_WINDOW, grouping_key
from investigations.network import direction_words, our_host_and_other
from investigations.panos.events import Event
from investigations.rules import Rule
from storage import Session, alerts, cursors, events, outbox, triage
from storage.alerts import NewAlert


@dataclass
class IngestResult:
    """What one page changed."""

    read: int = 0
    stored: int = 0
    alerts_opened: list[int] = field(default_factory=list)
    alerts_joined: list[int] = field(default_factory=list)
    newest: datetime | None = None


def alert_facts(event: Event, networks: Sequence[Network]) -> dict[str, Any]:
    """The first event as the parent message shows it, plus its direction in plain words."""
    facts = event.model_dump(mode="json", exclude_none=True)
    facts["direction_words"] = direction_words(event, networks).value
    return facts


def ingest_page(
    session: Session,
    *,
    rule: Rule,
    firewall: str,
    page: Sequence[Event],
    networks: Sequence[Network],
    channel: str | None,
) -> IngestResult:
    """Store a page of a rule's matches; group new events into alerts; queue Slack messages."""
    result = IngestResult(read=len(page))
    if not page:
        return result
    inserted = events.insert_new(
        session,
        [
            events.NewEvent(
                serial=e.serial,
                log_type=e.log_type.value,
                seqno=e.seqno,
                rule=rule.id,
                receive_time=e.receive_time,
                src=e.src,
                dst=e.dst,
                data=e.model_dump(mode="json", exclude_none=True),
            )
            for e in page
        ],
    )
    result.stored = len(inserted)
    result.newest = max(e.receive_time for e in page)

    # Group in memory first: a burst of thousands of logs becomes a few alert writes.
    groups: dict[str, list[tuple[Event, int]]] = {}
    hosts: dict[str, tuple[str | None, str | None]] = {}
    for event in sorted(page, key=lambda e: (e.receive_time, e.seqno)):
        row_id = inserted.pop(event.key, None)
        if row_id is None:
            continue  # already stored by an earlier poll
        host, other = our_host_and_other(event, networks)
        key = grouping_key(rule.id, event, host)
        groups.setdefault(key, []).append((event, row_id))
        hosts.setdefault(key, (host, other))

    # Then a handful of batched statements, not a few per group (FACTS: a round trip
    # each; hundreds of hosts in a burst are hundreds of groups).
    joinable = alerts.find_joinable_many(
        session,
        {key: members[0][0].receive_time for key, members in groups.items()},
        GROUPING_WINDOW,
    )
    bumps: list[tuple[int, int, datetime]] = []
    news: list[NewAlert] = []
    for key, members in groups.items():
        first_event = members[0][0]
        last_seen = members[-1][0].receive_time
        if key in joinable:
            bumps.append((joinable[key].id, len(members), last_seen))
            continue
        host, other = hosts[key]
        news.append(
            NewAlert(
                rule=rule.id,
                group_key=key,
                host=host,
                other=other,
                severity=first_event.severity,
                threat_name=first_event.threat_name or first_event.object_name,
                threat_id=first_event.threat_id or first_event.object_id,
                firewall=first_event.device_name or first_event.serial,
                first_seen=first_event.receive_time,
                last_seen=last_seen,
                count=len(members),
                facts=alert_facts(first_event, networks),
                slack_channel=channel,
            )
        )
    alerts.bump_many(session, bumps)
    created = alerts.create_many(session, news)
    alert_of = {key: joinable[key].id if key in joinable else created[key] for key in groups}
    events.attach(
        session,
        [(row_id, alert_of[key]) for key, members in groups.items() for _, row_id in members],
    )
    # Outbox rows in the groups' order: oldest first group, first message.
    outbox.enqueue_for_alerts(
        session,
        [(outbox.UPDATE if key in joinable else outbox.PARENT, alert_of[key]) for key in groups],
    )
    seen_hosts: list[tuple[str, list[str], list[str]]] = []
    for key in groups:
        alert_id = alert_of[key]
        if key in joinable:
            result.alerts_joined.append(alert_id)
        else:
            result.alerts_opened.append(alert_id)
            seen = _host_seen(groups[key][0][0], hosts[key][0])
            if seen is not None:
                seen_hosts.append(seen)
    triage.upsert_hosts(session, seen_hosts)

    cursors.advance(session, rule.id, firewall, result.newest)
    return result


def _host_seen(event: Event, host: str | None) -> tuple[str, list[str], list[str]] | None:
    """The user and host name a new alert's log shows for our host ("what is it?")."""
    if host is None:
        return None
    ours_is_src = host == event.src
    user = event.srcuser if ours_is_src else event.dstuser
    name = event.src_host if ours_is_src else event.dst_host
    if not (user or name):
        return None
    return host, [name] if name else [], [user] if user else []
