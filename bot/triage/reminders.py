"""Re-announce unacknowledged alerts in their thread, mentioning PANBOT_ONCALL.

An alert is reminded every PANBOT_ACK_REMINDER_MINUTES after it was stored (or last
reminded) while it stays open and unacknowledged; acknowledging or closing it stops
the reminders, because only `open` alerts qualify. Each reminder is claimed with a
conditional update first, so two replicas never remind twice.
"""

from __future__ import annotations

from datetime import timedelta

from bot.triage.service import Triage, note
from storage import audit, outbox, triage

PANBOT = "panbot"


def send_reminders(t: Triage) -> bool:
    """Queue the reminders that are due; True if any was."""
    minutes = t.settings.ack_reminder_minutes
    if minutes <= 0:
        return False
    now = t.clock()
    with t.db.session() as s:
        due = triage.reminders_due(s, now, timedelta(minutes=minutes))
    sent = False
    for item in due:
        with t.db.session() as s:
            if not triage.claim_reminder(s, item.alert_id, item.last_reminded_at, now):
                continue
            waited = max(minutes, int((now - item.created_at).total_seconds() // 60))
            oncall = t.settings.oncall
            payload = (
                note("note.reminder", minutes=waited, oncall=oncall)
                if oncall
                else note("note.reminder_no_oncall", minutes=waited)
            )
            outbox.enqueue_reply(s, item.alert_id, payload)
            audit.record(
                s,
                actor=PANBOT,
                action="reminder",
                alert_id=item.alert_id,
                host=item.host,
                detail={"minutes": waited},
                at=now,
            )
        sent = True
    if sent:
        t.wake_notifier()
    return sent
