"""The fault suite: the firewall, Slack and PostgreSQL misbehave, the process is killed.

After each fault: every matching log is an alert, every alert has exactly one parent
message, and the bot (or its replacement) answers `/healthz` with 200.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from bot.app import PanBot
from bot.simulator.filters import parse_filter
from storage import Database
from storage.models import Base
from tests.harness import CHANNEL, World, bot_settings, make_bot, world
from tests.test_reliability_support import (
    ADMIN_DSN,
    LEASE_SECONDS,
    Replica,
    assert_every_log_is_an_alert,
    assert_one_parent_per_alert,
    scratch_postgres,
    terminate_backends,
    wait_until,
)

SPYWARE = "( severity eq critical ) and ( subtype eq spyware ) and ( action eq alert )"
FIREWALL_TIMEOUT = "1.5"


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


def add_spyware_alert(w: World, host: str) -> None:
    """A new matching log about a new host of ours: one more alert."""
    template = w.simulator.store.query("threat", parse_filter(SPYWARE), nlogs=1)[0]
    fields = {
        k: v
        for k, v in template.items()
        if k not in {"seqno", "receive_time", "time_generated", "high_res_timestamp", "logid"}
    }
    fields["src"] = host
    w.simulator.append("threat", **fields)


@contextmanager
def running(bot: PanBot) -> Iterator[PanBot]:
    bot.start(jobs=True)
    try:
        yield bot
    finally:
        bot.stop()


def healthz(bot: PanBot) -> httpx.Response:
    assert bot.web is not None
    return httpx.get(f"http://127.0.0.1:{bot.web.port}/healthz", timeout=5)


def poll_errors(bot: PanBot) -> float:
    return sum(
        bot.metrics.registry.get_sample_value(
            "panbot_polls_total", {"rule": rule.id, "outcome": "error"}
        )
        or 0.0
        for rule in bot.rules
    )


def parents(w: World) -> int:
    return len(w.slack.parents(CHANNEL))


def assert_whole(bot: PanBot, w: World, db: Database, alerts: int) -> None:
    """The invariants every fault test ends with."""
    wait_until(lambda: healthz(bot).status_code == 200, 15, "/healthz 200")
    assert assert_every_log_is_an_alert(db, w.simulator) == alerts
    assert assert_one_parent_per_alert(db, w.slack) == alerts


# -- the firewall --------------------------------------------------------------------------


def _never_finishing(w: World) -> Callable[[], None]:
    w.simulator.job_never_finishes(True)
    return lambda: w.simulator.job_never_finishes(False)


FIREWALL_FAULTS: dict[str, Callable[[World], Callable[[], None] | None]] = {
    "http-500": lambda w: w.simulator.fail_next(8, 500, only="log"),
    "timeouts": lambda w: w.simulator.delay_next(4, seconds=3.0, only="log"),
    "truncated-xml": lambda w: w.simulator.malformed_next(8, only="log"),
    "job-never-finishes": _never_finishing,
}


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
@pytest.mark.parametrize("fault", sorted(FIREWALL_FAULTS))
def test_firewall_fault_then_recovery_loses_nothing(
    w: World, database: Database, fault: str
) -> None:
    bot = make_bot(w, database, PANBOT_FIREWALL_TIMEOUT=FIREWALL_TIMEOUT)
    with running(bot):
        wait_until(lambda: parents(w) == 5, 30, "five parents")
        undo = FIREWALL_FAULTS[fault](w)
        add_spyware_alert(w, "192.168.10.150")  # arrives while the firewall misbehaves
        wait_until(lambda: poll_errors(bot) > 0, 20, "a failed poll")
        if undo is not None:
            undo()
        wait_until(lambda: parents(w) == 6, 30, "the alert of the fault window")
        assert_whole(bot, w, database, alerts=6)


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_firewall_403_shows_in_health_then_recovers(w: World, database: Database) -> None:
    bot = make_bot(w, database, PANBOT_FIREWALL_TIMEOUT=FIREWALL_TIMEOUT)
    with running(bot):
        wait_until(lambda: parents(w) == 5, 30, "five parents")
        w.simulator.forbid_next(15)
        add_spyware_alert(w, "192.168.10.151")
        wait_until(lambda: healthz(bot).status_code == 503, 15, "/healthz 503")
        assert "error" in healthz(bot).json()["firewall"] or poll_errors(bot) > 0
        wait_until(lambda: parents(w) == 6, 30, "the alert of the fault window")
        assert_whole(bot, w, database, alerts=6)


# -- Slack ---------------------------------------------------------------------------------


SLACK_FAULTS: dict[str, Callable[[World], None]] = {
    "429-burst": lambda w: w.slack.fail_next("chat.postMessage", 6, status=429, retry_after=1),
    "http-500": lambda w: w.slack.fail_next("chat.postMessage", 4, status=500),
    "dropped-connections": lambda w: w.slack.drop_next("chat.postMessage", 4),
}


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
@pytest.mark.parametrize("fault", sorted(SLACK_FAULTS))
def test_slack_fault_posts_each_alert_exactly_once(
    w: World, database: Database, fault: str
) -> None:
    SLACK_FAULTS[fault](w)
    bot = make_bot(w, database)
    with running(bot):
        wait_until(lambda: parents(w) == 5, 45, "five parents")
        assert_whole(bot, w, database, alerts=5)
        top_level = [c for c in w.slack.calls_to("chat.postMessage") if "thread_ts" not in c]
    assert len(top_level) > 5, "the fault was served"
    if fault == "429-burst":
        assert w.slack.ratelimited_count("chat.postMessage") == 6
        assert (bot.metrics.registry.get_sample_value("panbot_slack_ratelimited_total") or 0) > 0


# -- PostgreSQL ----------------------------------------------------------------------------


@contextmanager
def scratch_database(name: str) -> Iterator[tuple[Database, str]]:
    """A database of this test's own, with panbot's tables (so it may be made unreachable)."""
    with scratch_postgres(name) as url:
        db = Database(url)
        Base.metadata.create_all(db.engine)
        try:
            yield db, name
        finally:
            db.dispose()


def allow_connections(dbname: str, allowed: bool) -> None:
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{dbname}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')


def test_database_outage_is_logged_once_per_job_and_recovered(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    with scratch_database("panbot_faults_outage") as (db, name):
        bot = make_bot(w, db)
        with running(bot):
            wait_until(lambda: parents(w) == 5, 30, "five parents")
            caplog.set_level(logging.INFO, logger="bot.app")
            allow_connections(name, False)
            try:
                assert terminate_backends(name) > 0
                add_spyware_alert(w, "192.168.10.152")
                wait_until(lambda: healthz(bot).status_code == 503, 10, "/healthz 503")
                assert healthz(bot).json()["database"].startswith("error")
                time.sleep(3)  # several poll and drain ticks fail meanwhile
            finally:
                allow_connections(name, True)
            wait_until(lambda: parents(w) == 6, 30, "the alert of the outage")
            assert_whole(bot, w, db, alerts=6)
        failing = Counter(
            _job(r)
            for r in caplog.records
            if r.levelno == logging.ERROR and " failing: " in r.getMessage() and _job(r)
        )
        recovered = {_job(r) for r in caplog.records if " recovered " in r.getMessage()}
    assert "notifier" in failing
    assert any(job.startswith("poll:") for job in failing)
    assert set(failing.values()) == {1}, failing  # once per job, however many ticks failed
    assert "notifier" in recovered


def _job(record: logging.LogRecord) -> str:
    """The job a `JobFailures` line is about ("job poll:spyware failing: ...")."""
    message = record.getMessage()
    return message.split()[1] if message.startswith("job ") else ""


def test_connections_cut_again_and_again_during_polls_and_drains(w: World) -> None:
    hosts = [f"192.168.20.{i}" for i in range(1, 31)]
    for host in hosts:
        add_spyware_alert(w, host)
    with scratch_database("panbot_faults_cuts") as (db, name):
        bot = PanBot(
            bot_settings(w, db),
            migrate=False,
            slack_min_interval=0.1,  # the drain lasts seconds: the cuts land inside it
        )
        cuts: list[int] = []
        stop = threading.Event()

        def cut() -> None:
            while not stop.is_set():
                cuts.append(terminate_backends(name))
                stop.wait(0.15)

        chaos = threading.Thread(target=cut, daemon=True)
        with running(bot):
            chaos.start()
            try:
                wait_until(lambda: parents(w) >= 10 or len(cuts) > 20, 20, "a busy drain")
            finally:
                stop.set()
                chaos.join(5)
            wait_until(lambda: parents(w) == 35, 60, "every alert posted")
            assert_whole(bot, w, db, alerts=35)
    assert sum(cuts) > 0, "connections were cut"


# -- the process killed --------------------------------------------------------------------


def test_sigterm_while_the_firewall_hangs_and_sigkill_during_a_poll(
    w: World, tmp_path: Path
) -> None:
    slow = {"PANBOT_FIREWALL_TIMEOUT": "60"}  # a hung request would hold a poll for 60 s
    w.simulator.delay_next(100, seconds=40, only="log")
    # Two bots on databases of their own, both stuck in a poll: one is killed outright,
    # the other is asked to stop while its replacement takes over.
    stopped = Replica(w, f"sqlite:///{tmp_path / 'stopped.db'}", tmp_path, "stopped", **slow)
    url = f"sqlite:///{tmp_path / 'killed-poll.db'}"
    killed = Replica(w, url, tmp_path, "killed", **slow)
    replacement = Replica(w, url, tmp_path, "replacement")
    for replica in (stopped, killed):
        replica.start()
    try:
        wait_until(lambda: w.simulator.counts()["log"] >= 10, 30, "both bots' polls in flight")
        killed.kill()  # SIGKILL in the middle of a poll
        w.simulator.faults.clear()  # requests already held stay held
        assert parents(w) == 0
        replacement.start()
        code, seconds = stopped.stop()  # SIGTERM while firewall requests hang
        print(f"\nstopped in {seconds:.1f} s with a firewall request hanging")
        assert code == 0
        assert seconds < 30
        assert "panbot stopped" in stopped.log_text()
        wait_until(lambda: parents(w) == 5, 45, "five parents")
        replacement.wait_healthy()
        db = Database(url)
        try:
            assert assert_every_log_is_an_alert(db, w.simulator) == 5
            assert assert_one_parent_per_alert(db, w.slack) == 5
        finally:
            db.dispose()
    finally:
        for replica in (stopped, killed):
            if replica.process is not None and replica.process.poll() is None:
                replica.process.kill()
        replacement.stop()


def test_sigkill_during_a_drain_posts_each_alert_once(w: World, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'killed-drain.db'}"
    first = Replica(w, url, tmp_path, "first").start()
    try:
        wait_until(lambda: parents(w) >= 2, 45, "the drain under way")
        time.sleep(0.4)  # inside the 1 s pacing before the next post
        first.kill()
    finally:
        if first.process is not None and first.process.poll() is None:
            first.process.kill()
    assert parents(w) < 5, "killed in the middle of the drain"
    second = Replica(w, url, tmp_path, "second").start()
    try:
        wait_until(lambda: parents(w) == 5, LEASE_SECONDS + 45, "five parents")
        second.wait_healthy()
        db = Database(url)
        try:
            assert assert_every_log_is_an_alert(db, w.simulator) == 5
            assert assert_one_parent_per_alert(db, w.slack) == 5
        finally:
            db.dispose()
        top_level = [c for c in w.slack.calls_to("chat.postMessage") if "thread_ts" not in c]
        assert len(top_level) == 5
    finally:
        second.stop()
