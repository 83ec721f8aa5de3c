"""Triage jobs with a moved clock: reminders, watched hosts, the daily digest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest
from sqlalchemy import select

from bot.triage.jobs import run_triage_jobs_once
from storage import Database
from storage.models import AuditRow, HostRow
from tests.harness import CHANNEL, FakeClock, World, world
from tests.triage_support import close_values, triaged

ALICE, BOB = "U0ALICE", "U0BOB"


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


def _reminders(texts: list[str]) -> list[str]:
    return [t for t in texts if t.startswith("Reminder:")]


def test_reminders_until_acknowledged_or_closed(w: World, database: Database) -> None:
    with triaged(w, database, PANBOT_ACK_REMINDER_MINUTES=15, PANBOT_ONCALL="S0RESPOND") as t:
        ids = {rule: t.alert_id(rule) for rule in ("vulnerability", "antivirus", "wildfire")}
        assert not run_triage_jobs_once(t.bot)  # nobody has waited 15 minutes yet
        t.clock.advance(timedelta(minutes=16))
        assert run_triage_jobs_once(t.bot)
        assert not run_triage_jobs_once(t.bot)  # each reminder is claimed once
        t.settle()
        texts = [m.text for m in t.replies(ids["vulnerability"])]
        assert _reminders(texts) == [
            "Reminder: this alert has been unacknowledged for 16 min. <!subteam^S0RESPOND>"
        ]
        with t.db.session() as s:
            rows = s.scalars(select(AuditRow).where(AuditRow.action == "reminder")).all()
        assert len(rows) == 5 and {r.actor for r in rows} == {"panbot"}
        assert all(r.host for r in rows)

        t.press("ack", ids["vulnerability"], ALICE)
        t.wait_audit(ids["vulnerability"], "ack")
        t.press("close_alert", ids["antivirus"], BOB)
        t.submit("close_alert", ids["antivirus"], close_values("no_impact"), BOB)
        t.wait_audit(ids["antivirus"], "close_alert")
        t.clock.advance(timedelta(minutes=16))
        assert run_triage_jobs_once(t.bot)
        t.settle()
        assert len(_reminders([m.text for m in t.replies(ids["vulnerability"])])) == 1
        assert len(_reminders([m.text for m in t.replies(ids["antivirus"])])) == 1
        assert len(_reminders([m.text for m in t.replies(ids["wildfire"])])) == 2
        # No digest is configured: the channel still holds the five parents only.
        t.clock.advance(timedelta(days=1))
        run_triage_jobs_once(t.bot)
        t.settle()
        assert len(w.slack.parents(CHANNEL)) == 5


def test_a_watched_host_gets_its_new_logs_until_the_watch_ends(
    w: World, database: Database
) -> None:
    with triaged(w, database, PANBOT_ACK_REMINDER_MINUTES=0, PANBOT_WATCH_DAYS=2) as t:
        alert = t.alert_id("spyware")
        t.press("mark_monitored", alert, ALICE)
        t.wait_audit(alert, "mark_monitored")
        with t.db.session() as s:
            ip = s.scalars(select(HostRow.ip).where(HostRow.monitored_until.is_not(None))).one()
        w.simulator.append(
            "threat",
            src=ip,
            dst="203.0.113.9",
            subtype="spyware",
            severity="medium",
            threatid="Suspicious DNS Query(109000001)",
            action="alert",
            app="dns",
        )
        w.simulator.append(
            "url", src=ip, dst="198.51.100.7", misc="bad.example.com/x", app="web-browsing"
        )
        w.simulator.append("threat", src="192.168.10.99", dst="203.0.113.9", subtype="spyware")
        assert run_triage_jobs_once(t.bot)
        t.settle()
        notes = [m.text for m in t.replies(alert) if m.text.startswith("New log for watched")]
        assert len(notes) == 2
        assert any("Suspicious DNS Query" in n for n in notes)
        assert any("bad.example.com/x" in n for n in notes)
        query = f"( addr.src in {ip} ) or ( addr.dst in {ip} )"
        assert {kind for kind, q in w.simulator.log_queries() if query in q} == {"threat", "url"}

        assert not run_triage_jobs_once(t.bot)  # nothing new: nothing posted twice
        t.settle()
        assert len([m for m in t.replies(alert) if m.text.startswith("New log")]) == 2

        t.clock.advance(timedelta(days=2, minutes=1))
        assert run_triage_jobs_once(t.bot)
        queries = len(w.simulator.log_queries())
        assert not run_triage_jobs_once(t.bot)
        assert len(w.simulator.log_queries()) == queries  # the host is no longer read
        t.settle()
        assert [m.text for m in t.replies(alert) if "ended" in m.text] == [f"Watch of {ip} ended."]
        assert "monitor_ended" in t.actions(alert)
        with t.db.session() as s:
            host = s.get(HostRow, ip)
            assert host is not None and host.monitored_alert_id is None


def test_daily_digest_once_a_day(database: Database) -> None:
    # At noon, so that the five alerts (logged minutes apart) fall on one day whenever
    # the test runs; run near midnight on the real clock, they straddled two.
    clock = FakeClock.at_next_noon()
    with (
        world(clock=clock) as w,
        triaged(
            w, database, clock=clock, PANBOT_ACK_REMINDER_MINUTES=0, PANBOT_DIGEST_TIME="00:00"
        ) as t,
    ):
        closed = t.alert_id("correlation")
        t.press("close_alert", closed, ALICE)
        t.submit("close_alert", closed, close_values("remediated"), ALICE)
        t.wait_audit(closed, "close_alert")
        t.settle()
        # Tomorrow: the digest covers today, when the five alerts came in.
        t.clock.advance(timedelta(days=1))
        today = (t.clock() - timedelta(days=1)).astimezone(UTC).date().isoformat()
        w.slack.fail_next("chat.postMessage", 3, status=500)
        assert not run_triage_jobs_once(t.bot)  # Slack failed: the day stays unclaimed
        assert run_triage_jobs_once(t.bot)
        assert not run_triage_jobs_once(t.bot)
        # The first start posted yesterday's (empty) digest already; today's comes once.
        digests = [p for p in w.slack.parents(CHANNEL) if f"daily digest {today}" in p.text]
        assert len(digests) == 1
        assert len([p for p in w.slack.parents(CHANNEL) if "daily digest" in p.text]) == 2
        shown = digests[0].rendered
        assert f"panbot daily digest {today}: 5 new alert(s), 4 open" in shown
        assert "New alerts: 5" in shown and "Closed: 1" in shown and "Remediated" in shown
        assert "Still open: 4" in shown
