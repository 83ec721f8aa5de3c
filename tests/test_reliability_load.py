"""Load: a burst of 10,000 matching logs in one poll, and 50 button presses at once.

The figures these tests measure are printed (`pytest -s`) and quoted in RELIABILITY.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import PanBot
from bot.fakeslack.payloads import block_actions_body
from bot.simulator.filters import parse_filter
from storage import Database
from storage.models import AlertRow, AuditRow
from tests.harness import CHANNEL, SlackRequests, World, bot_settings, make_bot, world
from tests.test_reliability_support import assert_every_log_is_an_alert, assert_one_parent_per_alert

SPYWARE = "( severity eq critical ) and ( subtype eq spyware ) and ( action eq alert )"
BURST = 10_000
HOSTS = 10


@pytest.fixture
def w() -> Iterator[World]:
    with world(scenario="empty") as started:
        yield started


def _burst(w: World) -> None:
    fields = {
        "subtype": "spyware",
        "severity": "critical",
        "action": "alert",
        "dst": "203.0.113.50",
        "app": "web-browsing",
        "direction": "client-to-server",
        "threatid": "WireLurker Command and Control Traffic(14978)",
        "tid": "14978",
        "thr_category": "command-and-control",
    }
    for i in range(BURST):
        w.simulator.append("threat", src=f"192.168.30.{i % HOSTS + 1}", **fields)


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_a_burst_of_10000_logs_is_stored_grouped_and_posted_within_slacks_limits(
    w: World, database: Database
) -> None:
    _burst(w)
    assert len(w.simulator.store.query("threat", parse_filter(SPYWARE), nlogs=BURST + 1)) == BURST
    settings = bot_settings(w, database)
    # Slack's one message per second per channel with short bursts, enforced as the bot paces.
    w.slack.enforce_rate_limit(1.0, burst=settings.slack_burst)
    bot = PanBot(settings, migrate=False)  # the real 1 s pacing
    try:
        begun = time.monotonic()
        outcomes = bot.poller.poll_all()
        polled = time.monotonic() - begun
        begun = time.monotonic()
        while bot.notifier.drain(budget=60):
            pass
        posted = time.monotonic() - begun
    finally:
        bot.stop()
    print(f"\n10,000 logs: poll and store {polled:.1f} s, post {posted:.1f} s")
    assert sum(o.stored for o in outcomes) == BURST
    assert all(o.error is None for o in outcomes)
    assert assert_every_log_is_an_alert(database, w.simulator) == BURST
    assert assert_one_parent_per_alert(database, w.slack) == HOSTS
    with database.session() as s:
        counts = list(s.scalars(select(AlertRow.count)))
    assert sorted(counts) == [BURST // HOSTS] * HOSTS  # grouped: one alert per host
    assert w.slack.max_posts_per_second(CHANNEL) <= settings.slack_burst
    assert w.slack.ratelimited_count("chat.postMessage") == 0
    assert polled < 30
    assert posted < HOSTS * 1.0 + 10


def test_50_concurrent_button_presses_are_all_answered_within_3_seconds(
    sqlite_database: Database,
) -> None:
    with world() as w:
        bot = make_bot(w, sqlite_database)
        bot.start(jobs=False)
        requests = SlackRequests(bot)
        try:
            bot.poller.poll_all()
            bot.notifier.drain(budget=30)
            with sqlite_database.session() as s:
                alerts = list(s.execute(select(AlertRow.id, AlertRow.slack_ts)).all())
            assert len(alerts) == 5
            presses = [
                block_actions_body(
                    action,
                    str(alert_id),
                    f"U0USER{n:02d}",
                    CHANNEL,
                    str(ts),
                    response_url=w.slack.response_url(f"p{n}"),
                )
                for n in range(50)
                for action, (alert_id, ts) in [
                    (("ack", "mark_monitored", "enrich")[n % 3], alerts[n % 5])
                ]
            ]

            def press(body: str) -> tuple[int, float]:
                begun = time.monotonic()
                response = requests.post(body)
                return response.status_code, time.monotonic() - begun

            with ThreadPoolExecutor(max_workers=50) as pool:
                answers = list(pool.map(press, presses))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and _acks(sqlite_database) < 5:
                time.sleep(0.1)
            health = httpx.get(
                requests.url.replace("/slack/events", "/healthz"), timeout=5
            ).status_code
        finally:
            requests.close()
            bot.stop()
    slowest = max(seconds for _, seconds in answers)
    print(f"\n50 concurrent presses: slowest answer {slowest:.2f} s")
    assert [code for code, _ in answers] == [200] * 50
    assert slowest < 3.0
    assert _acks(sqlite_database) == 5  # ten presses per alert, one acknowledgement each
    assert health == 200


def _acks(db: Database) -> int:
    with db.session() as s:
        return int(
            s.scalar(select(func.count()).select_from(AuditRow).where(AuditRow.action == "ack"))
            or 0
        )
