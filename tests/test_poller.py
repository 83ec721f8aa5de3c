"""The poller against the simulator over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import system_clock
from bot.metrics import Metrics
from bot.poller import Poller
from bot.simulator.api import DEFAULT_API_KEY
from bot.simulator.server import SimulatorServer
from investigations.panos.client import PanosClient
from investigations.rules import DEFAULT_RULES, Rule
from storage import Database, alerts, events, hosts, outbox
from storage.models import AlertRow, EventRow

NETWORKS = [
    __import__("ipaddress").ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
]
RULE = {rule.id: rule for rule in DEFAULT_RULES}


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(scenario="guide") as sim:
        yield sim


def _poller(
    sim: SimulatorServer,
    db: Database,
    *,
    page_size: int = 5000,
    timeout: float = 5.0,
    rules: tuple[Rule, ...] = DEFAULT_RULES,
) -> tuple[Poller, PanosClient]:
    client = PanosClient(sim.url, api_key=DEFAULT_API_KEY, timeout=timeout, job_deadline=5)
    poller = Poller(
        db=db,
        client=client,
        firewall=sim.url,
        rules=rules,
        networks=NETWORKS,
        channel="C0ALERTS",
        lookback=timedelta(minutes=60),
        clock=system_clock,
        metrics=Metrics(),
        page_size=page_size,
    )
    return poller, client


def _alerts(db: Database) -> list[AlertRow]:
    with db.session() as s:
        return list(s.query(AlertRow).order_by(AlertRow.id))


def _event_count(db: Database) -> int:
    with db.session() as s:
        return events.count(s)


def test_exactly_five_alerts_for_the_five_scenarios_none_for_noise(
    simulator: SimulatorServer, database: Database
) -> None:
    poller, client = _poller(simulator, database)
    with client:
        outcomes = poller.poll_all()
    assert [o.error for o in outcomes] == [None] * 5
    rows = _alerts(database)
    assert sorted(a.rule for a in rows) == sorted(RULE)
    by_rule = {a.rule: a for a in rows}
    assert by_rule["vulnerability"].facts["direction_words"] == "outside_to_inside"
    assert by_rule["spyware"].facts["direction_words"] == "inside_to_outside"
    # our host is the internal side in each case
    assert all(a.host and a.host.startswith(("10.", "192.168.", "172.")) for a in rows)
    with database.session() as s:
        assert outbox.counts(s) == {"pending": 5}
        # what the host is: the user the log names is remembered for /pan host
        spy = by_rule["spyware"]
        assert spy.host is not None
        assert spy.facts["srcuser"] in hosts.names(s, spy.host).users


def test_noise_scenario_gives_no_alert(database: Database) -> None:
    with SimulatorServer(scenario="noise") as sim:
        poller, client = _poller(sim, database)
        with client:
            outcomes = poller.poll_all()
    assert all(o.error is None for o in outcomes)
    assert sum(o.read for o in outcomes) == 0
    assert _alerts(database) == []


def test_restart_rereads_without_duplicates(simulator: SimulatorServer, database: Database) -> None:
    poller, client = _poller(simulator, database)
    with client:
        poller.poll_all()
    stored = _event_count(database)
    again, client2 = _poller(simulator, database)  # a new process: nothing in memory
    with client2:
        outcomes = again.poll_all()
    assert sum(o.read for o in outcomes) >= 5  # the overlap re-reads...
    assert sum(o.stored for o in outcomes) == 0  # ...and the unique key drops the repeats
    assert _event_count(database) == stored
    assert len(_alerts(database)) == 5


def test_log_added_later_is_picked_up_once_and_groups(
    simulator: SimulatorServer, database: Database
) -> None:
    poller, client = _poller(simulator, database, rules=(RULE["spyware"],))
    with client:
        poller.poll_all()
        template = next(
            e
            for e in simulator.store.entries("threat")
            if e.get("subtype") == "spyware"
            and e.get("action") == "alert"
            and e.get("severity") == "critical"
        )
        same = {
            k: v
            for k, v in template.items()
            if k
            in {
                "subtype",
                "severity",
                "action",
                "direction",
                "src",
                "dst",
                "threatid",
                "tid",
                "app",
                "srcuser",
                "sport",
                "dport",
                "proto",
                "type",
            }
        }
        simulator.append("threat", **same)  # same threat, same host → joins
        simulator.append("threat", **{**same, "src": "192.168.10.99"})  # another host → new
        first = poller.poll(RULE["spyware"])
        second = poller.poll(RULE["spyware"])
    assert (first.stored, len(first.alerts_joined), len(first.alerts_opened)) == (2, 1, 1)
    assert second.stored == 0
    rows = _alerts(database)
    assert sorted(a.count for a in rows) == [1, 2]


def test_same_second_logs_across_several_pages(
    simulator: SimulatorServer, database: Database
) -> None:
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    for i in range(23):
        simulator.append(
            "threat",
            subtype="spyware",
            severity="critical",
            action="alert",
            direction="client-to-server",
            src=f"10.9.0.{i + 1}",
            dst="203.0.113.77",
            threatid=f"Test C2(99{i:03d})",
            tid=str(99000 + i),
            receive_time=at,
        )
    poller, client = _poller(simulator, database, page_size=5, rules=(RULE["spyware"],))
    with client:
        outcome = poller.poll(RULE["spyware"])
    assert outcome.error is None
    assert outcome.stored == 24  # the guide's spyware log + 23 in one second
    assert len(outcome.alerts_opened) == 24
    assert simulator.counts()["log"] >= 5  # five pages at least


@pytest.mark.parametrize("fault", ["500", "malformed", "403", "slow"])
def test_faults_lose_nothing(
    simulator: SimulatorServer, database: Database, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    poller, client = _poller(simulator, database, timeout=0.5, rules=(RULE["vulnerability"],))
    inject = {
        "500": lambda: simulator.fail_next(1, 500),
        "malformed": lambda: simulator.malformed_next(1),
        "403": lambda: simulator.forbid_next(1),
        "slow": lambda: simulator.delay_next(1, 2.0),
    }[fault]
    with client, caplog.at_level(logging.INFO, logger="bot.poller"):
        inject()
        failed = poller.poll(RULE["vulnerability"])
        inject()
        failed_again = poller.poll(RULE["vulnerability"])
        recovered = poller.poll(RULE["vulnerability"])
    assert failed.error is not None and failed_again.error is not None
    assert DEFAULT_API_KEY not in failed.error
    assert recovered.error is None
    assert len(recovered.alerts_opened) == 1
    assert len(_alerts(database)) == 1
    # logged once when it started failing, once when it recovered: not once per poll
    warnings = [r for r in caplog.records if "failing" in r.getMessage()]
    recoveries = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert (len(warnings), len(recoveries)) == (1, 1)
    assert poller.failing_rules() == {}


def test_failure_of_one_rule_does_not_stop_the_others(
    simulator: SimulatorServer, database: Database
) -> None:
    poller, client = _poller(simulator, database)
    with client:
        simulator.fail_next(1, 500)  # the first rule's submit fails
        outcomes = poller.poll_all()
    assert outcomes[0].error is not None
    assert all(o.error is None for o in outcomes[1:])
    assert len(_alerts(database)) == 4


def test_first_poll_reads_only_the_lookback_window(database: Database) -> None:
    with SimulatorServer(scenario="empty") as sim:
        sim.append(
            "threat",
            subtype="spyware",
            severity="critical",
            action="alert",
            src="10.1.1.1",
            dst="203.0.113.1",
            threatid="Old(1)",
            tid="1",
            receive_time=datetime.now(UTC) - timedelta(hours=3),
        )
        sim.append(
            "threat",
            subtype="spyware",
            severity="critical",
            action="alert",
            src="10.1.1.2",
            dst="203.0.113.1",
            threatid="New(2)",
            tid="2",
            receive_time=datetime.now(UTC) - timedelta(minutes=5),
        )
        poller, client = _poller(sim, database, rules=(RULE["spyware"],))
        with client:
            outcome = poller.poll(RULE["spyware"])
    assert outcome.stored == 1
    assert [a.threat_id for a in _alerts(database)] == ["2"]


def test_events_keep_every_field_and_utc(simulator: SimulatorServer, database: Database) -> None:
    poller, client = _poller(simulator, database, rules=(RULE["antivirus"],))
    with client:
        poller.poll_all()
    with database.session() as s:
        row = s.query(EventRow).one()
        alert = alerts.get(s, row.alert_id or 0)
    assert row.receive_time.tzinfo is not None
    assert row.data["sender"] and row.data["subject"] and row.data["file_digest"]
    assert alert is not None and alert.facts["app"] in {"pop3", "imap"}
