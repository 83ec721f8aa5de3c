"""Watched hosts: post their new threat and URL logs into the alert's thread.

`mark_monitored` starts a watch (PANBOT_WATCH_DAYS) and a cursor of its own
(`watch:<ip>` in poll_cursors, set to the moment the watch started). Each run asks
the firewall for threat and URL logs with the host on either side received since
the cursor, posts them (each once: the outbox dedupes on the log's identity) and
moves the cursor. When the watch runs out, the thread is told so once.
"""

from __future__ import annotations

import logging
import re

from bot.triage.service import Triage, note, record
from bot.triage.steps import watch_cursor
from investigations.panos.commands import checked_ip
from investigations.panos.errors import PanosError
from investigations.panos.events import Event, LogType
from storage import cursors, outbox, triage
from storage.triage import Watch

log = logging.getLogger(__name__)

PANBOT = "panbot"
LOG_TYPES = (LogType.THREAT, LogType.URL)
# At most this many logs per host per run: a noisy host must not flood its thread.
MAX_PER_RUN = 20
_PLAIN_ADDRESS = re.compile(r"[0-9A-Fa-f:.]{2,45}")


def watch_query(ip: str, since: str) -> str:
    """The log filter for one host, built from a validated IP only."""
    address = checked_ip(ip)
    if not _PLAIN_ADDRESS.fullmatch(address):
        # e.g. an IPv6 scope id ("fe80::1%eth0"): nothing but digits, dots and colons.
        raise ValueError(f"not a plain IP address: {address[:60]!r}")
    return (
        f"( ( addr.src in {address} ) or ( addr.dst in {address} ) )"
        f" and ( receive_time geq '{since}' )"
    )


def run_watches(t: Triage) -> bool:
    """End the watches that ran out and post new logs of the running ones."""
    now = t.clock()
    with t.db.session() as s:
        ended = triage.watches(s, now, running=False)
        running = triage.watches(s, now)
    done = False
    for watch in ended:
        with t.change() as s:
            if triage.end_watch(s, watch.ip, watch.alert_id, now):
                record(
                    s,
                    actor=PANBOT,
                    action="monitor_ended",
                    alert_id=watch.alert_id,
                    host=watch.ip,
                    at=now,
                    note=note("note.monitor_ended", host=watch.ip),
                )
                done = True
    for watch in running:
        done = _post_new_logs(t, watch) or done
    return done


def _post_new_logs(t: Triage, watch: Watch) -> bool:
    name = watch_cursor(watch.ip)
    with t.db.session() as s:
        cursor = cursors.get(s, name, t.firewall)
    since = cursor.watermark if cursor else watch.since
    if since is None:
        since = t.clock()
    # Log times have whole seconds: a log of the watch's first second counts.
    since = since.replace(microsecond=0)
    try:
        query = watch_query(watch.ip, t.panos.format_time(since))
        found: list[Event] = []
        for log_type in LOG_TYPES:
            found += t.panos.query_logs(log_type, query, page_size=MAX_PER_RUN, max_pages=1)
    except (PanosError, ValueError) as exc:
        log.warning("watch of %s: could not read its logs: %s", watch.ip, exc)
        return False
    fresh = sorted(
        (e for e in found if e.receive_time >= since), key=lambda e: (e.receive_time, e.seqno)
    )[:MAX_PER_RUN]
    if not fresh:
        return False
    posted = False
    with t.change() as s:
        for event in fresh:
            key = f"watch:{watch.alert_id}:{event.serial}:{event.log_type.value}:{event.seqno}"
            posted = (
                outbox.enqueue_reply(s, watch.alert_id, _log_note(watch.ip, event), dedupe_key=key)
                or posted
            )
        cursors.advance(s, name, t.firewall, fresh[-1].receive_time)
    return posted


def _log_note(ip: str, event: Event) -> dict[str, object]:
    what = event.threat_name or event.misc or event.app or "-"
    return note(
        "note.watch_log",
        host=ip,
        rule=event.subtype or event.log_type.value,
        threat=what,
        at=event.receive_time.isoformat(),
    )
