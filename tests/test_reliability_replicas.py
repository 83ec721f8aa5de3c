"""Several `panbot run` replicas on one PostgreSQL database.

Exactly one replica polls each rule and drains the outbox at a time (lease rows); when
the holder is SIGKILLed, another takes over within one lease period; nothing is posted
twice and nothing is lost; any replica answers `/pan status`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import PanBot
from bot.fakeslack.payloads import slash_command_body
from bot.fakeslack.signing import signed_request_headers
from bot.simulator.filters import parse_filter
from storage import Database, leases
from storage.models import EventRow
from tests.harness import CHANNEL, SIGNING_SECRET, FakeClock, World, make_bot, world
from tests.test_reliability_support import (
    LEASE_SECONDS,
    Replica,
    assert_every_log_is_an_alert,
    assert_one_parent_per_alert,
    lease_holders,
    replicas,
    scratch_postgres,
    wait_until,
)

POLL_LEASES = {f"poll:{rule}" for rule in ("vulnerability", "antivirus", "wildfire", "spyware")}
POLL_LEASES.add("poll:correlation")
SPYWARE = "( severity eq critical ) and ( subtype eq spyware ) and ( action eq alert )"


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


def add_spyware_alert(w: World, host: str) -> None:
    """A new matching log on a new host of ours: a new alert (a new group)."""
    template = w.simulator.store.query("threat", parse_filter(SPYWARE), nlogs=1)[0]
    fields = {
        k: v
        for k, v in template.items()
        if k not in {"seqno", "receive_time", "time_generated", "high_res_timestamp", "logid"}
    }
    fields["src"] = host
    w.simulator.append("threat", **fields)


def metric(replica: Replica, name: str) -> dict[str, float]:
    """One Prometheus counter's samples on a replica, by label text."""
    text = httpx.get(f"{replica.url}/metrics", timeout=5).text
    found: dict[str, float] = {}
    for line in text.splitlines():
        match = re.match(rf"^{name}(\{{[^}}]*\}})? ([0-9.e+]+)$", line)
        if match:
            found[match.group(1) or ""] = float(match.group(2))
    return found


def holder_replica(replicas_: list[Replica], holder: str) -> Replica:
    """The replica whose instance id (host:pid:random) holds a lease."""
    pid = int(holder.split(":")[-2])
    return next(r for r in replicas_ if r.pid == pid)


def signed_status(replica: Replica) -> httpx.Response:
    body = slash_command_body(text="status")
    headers = signed_request_headers(SIGNING_SECRET, body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return httpx.post(f"{replica.url}/slack/events", content=body, headers=headers, timeout=5)


def test_replicas_share_work_take_over_after_sigkill_and_post_once(
    w: World, tmp_path: Path
) -> None:
    with (
        scratch_postgres("panbot_replicas") as url,
        replicas(w, url, tmp_path, 3) as reps,
    ):
        for replica in reps:
            replica.wait_healthy(timeout=60)
        wait_until(lambda: len(w.slack.parents(CHANNEL)) == 5, 60, "five parents")
        db = Database(url)
        try:
            held = lease_holders(db)
            assert POLL_LEASES | {"notifier"} <= set(held)

            # One poller per rule: over a few intervals only the lease holder's poll
            # counter for a rule moves.
            before = {r.name: metric(r, "panbot_polls_total") for r in reps}
            time.sleep(3)
            after = {r.name: metric(r, "panbot_polls_total") for r in reps}
            for rule in ("vulnerability", "spyware", "correlation"):
                moved = [
                    name
                    for name in after
                    if sum(v for k, v in after[name].items() if f'rule="{rule}"' in k)
                    > sum(v for k, v in before[name].items() if f'rule="{rule}"' in k)
                ]
                assert moved == [holder_replica(reps, held[f"poll:{rule}"]).name]

            # Any replica answers /pan status (commands reach whichever Slack picks).
            for replica in reps[:2]:
                answer = signed_status(replica)
                assert answer.status_code == 200
                assert "spyware" in answer.text.lower()

            # SIGKILL whoever drains the outbox; new logs arrive meanwhile.
            victim = holder_replica(reps, held["notifier"])
            victim.kill()
            killed_at = time.monotonic()
            add_spyware_alert(w, "192.168.10.201")
            survivors = [r for r in reps if r is not victim]
            wait_until(
                lambda: (
                    lease_holders(db).get("notifier") not in (None, held["notifier"])
                    and all(
                        lease_holders(db).get(name) not in (None, held["notifier"])
                        for name in POLL_LEASES
                    )
                ),
                LEASE_SECONDS + 5,
                "another replica holding the leases",
            )
            takeover = time.monotonic() - killed_at
            print(f"\nleases taken over {takeover:.1f} s after SIGKILL (lease {LEASE_SECONDS} s)")
            wait_until(lambda: len(w.slack.parents(CHANNEL)) == 6, 30, "the new alert posted")
            new_holder = holder_replica(survivors, lease_holders(db)["notifier"])
            assert new_holder in survivors
            for replica in survivors:
                assert replica.healthy()
            assert takeover <= LEASE_SECONDS + 5

            # A second SIGKILL, of the new holder, leaves one replica doing everything.
            new_holder.kill()
            add_spyware_alert(w, "192.168.10.202")
            last = next(r for r in survivors if r is not new_holder)
            wait_until(lambda: len(w.slack.parents(CHANNEL)) == 7, 30, "the 7th alert posted")
            assert last.healthy()

            code, seconds = last.stop()
            print(f"last replica stopped in {seconds:.1f} s")
            assert code == 0
            assert seconds < 30
            assert lease_holders(db) == {
                name: holder
                for name, holder in lease_holders(db).items()
                if f":{last.pid}:" not in holder
            }, "a clean stop gives its leases up"

            assert assert_every_log_is_an_alert(db, w.simulator) == 7
            assert assert_one_parent_per_alert(db, w.slack) == 7
            top_level = [c for c in w.slack.calls_to("chat.postMessage") if "thread_ts" not in c]
            assert len(top_level) == 7, "no alert posted twice"
        finally:
            db.dispose()


# -- the mechanisms, in process: two bots on one database ----------------------------------


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_two_notifiers_draining_at_once_send_each_row_once(w: World, database: Database) -> None:
    """Claims, not only the lease: even two drains at once never send one row twice."""
    for i in range(1, 26):
        add_spyware_alert(w, f"192.168.40.{i}")
    first = make_bot(w, database, http=False)
    second = make_bot(w, database, http=False)
    try:
        first.poller.poll_all()
        start = threading.Barrier(2)

        def drain(bot: PanBot) -> int:
            start.wait()
            return bot.notifier.drain(budget=30)

        with ThreadPoolExecutor(2) as pool:
            sent = list(pool.map(drain, (first, second)))
    finally:
        first.stop()
        second.stop()
    # A row the other drain posted first counts as done for both, yet is posted once.
    assert sum(sent) >= 30
    assert min(sent) > 0, "both drained"
    assert assert_one_parent_per_alert(database, w.slack) == 30
    top_level = [c for c in w.slack.calls_to("chat.postMessage") if "thread_ts" not in c]
    assert len(top_level) == 30


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_a_poller_that_lost_its_lease_stores_nothing(
    w: World, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """The lease is renewed in each page's transaction: a stale holder's page is refused."""
    caplog.set_level(logging.INFO, logger="bot.poller")
    late, current = FakeClock(), FakeClock()
    stale = make_bot(w, database, clock=late, http=False, PANBOT_LEASE_SECONDS=2)
    holder = make_bot(w, database, clock=current, http=False, PANBOT_LEASE_SECONDS=2)
    spyware = next(rule for rule in stale.rules if rule.id == "spyware")
    try:
        w.simulator.delay_next(1, seconds=2.0, only="log:get")  # the stale poll is slow
        slow = threading.Thread(target=stale.poll_job, args=(spyware,))
        slow.start()
        wait_until(lambda: w.simulator.counts()["log:get"] >= 1, 10, "the slow poll under way")
        current.advance(timedelta(minutes=5))  # the first lease has run out meanwhile
        holder.poll_job(spyware)
        slow.join(30)
        with database.session() as s:
            owner = leases.holder_of(s, "poll:spyware", current())
        polls = stale.metrics.registry.get_sample_value(
            "panbot_polls_total", {"rule": "spyware", "outcome": "ok"}
        )
    finally:
        stale.stop()
        holder.stop()
    assert owner == holder.instance
    assert not polls, "the stale poll finished nothing"
    assert any("abandoned" in r.getMessage() for r in caplog.records)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(EventRow)) == 1
