"""The optional daily digest (PANBOT_DIGEST_TIME, UTC): yesterday in numbers, what is open.

It is the one message besides alert parents that goes to the channel (INTERFACE.md:
"or (when enabled) the daily digest"). Once a day is claimed with a conditional
update before posting, so replicas post it once; a failed post gives the claim
back for the next run.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from slack_sdk.errors import SlackClientError

from bot.triage.service import Triage
from bot.views.digest import digest
from bot.views.model import AlertLine, DigestSummary
from storage import alerts, triage

log = logging.getLogger(__name__)

CLAIM = "digest"


def due_day(now: datetime, at: time | None) -> datetime | None:
    """The start (UTC midnight) of the day whose digest is due at `now`, or None."""
    if at is None:
        return None
    now = now.astimezone(UTC)
    if (now.hour, now.minute) < (at.hour, at.minute):
        return None
    return datetime.combine(now.date(), time(0), UTC)


def summary(t: Triage, day_start: datetime) -> DigestSummary:
    """Yesterday's (the day before `day_start`) numbers, and what is open now."""
    start = day_start - timedelta(days=1)
    with t.db.session() as s:
        new, closed = triage.counts_between(s, start, day_start)
        open_now = alerts.open_by_state(s)
        oldest = [
            AlertLine(a.id, a.rule, a.threat_name, a.state, a.first_seen)
            for a in triage.oldest_open(s)
        ]
    return DigestSummary(
        day=start.date(),
        new_by_rule=new,
        closed_by_verdict=closed,
        open_by_state=open_now,
        oldest_open=oldest,
    )


def post_digest(t: Triage) -> bool:
    """Post today's digest if it is due and nobody has; True if posted."""
    day_start = due_day(t.clock(), t.settings.digest_time)
    channel = t.settings.slack_channel
    if day_start is None or channel is None:
        return False
    with t.db.session() as s:
        previous = triage.claim_day(s, CLAIM, channel, day_start)
    if previous is None:
        return False
    message = digest(summary(t, day_start), t.catalog)
    try:
        t.slack.chat_postMessage(channel=channel, **message.to_payload())
    except SlackClientError as exc:
        log.warning("daily digest not posted, will retry: %s", exc)
        with t.db.session() as s:
            triage.unclaim_day(s, CLAIM, channel, day_start, previous)
        return False
    return True
