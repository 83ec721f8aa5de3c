"""PanosClient against the built-in PAN-OS simulator: the five rules end to end."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.fakeintel import dataset as intel
from bot.simulator import SimulatorServer, scenarios
from investigations.network import Direction, direction_words, our_host_and_other
from investigations.panos.client import PanosClient
from investigations.panos.errors import PanosAuthError
from investigations.panos.events import Event
from investigations.rules import DEFAULT_RULES

INTERNAL = [ipaddress.ip_network("192.168.0.0/16")]
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(act_polls=1, timezone=TOKYO) as server:
        yield server


@pytest.fixture
def panos(sim: SimulatorServer) -> Iterator[PanosClient]:
    with PanosClient(
        sim.url, username="admin", password="admin", job_poll_interval=0.01, job_deadline=5
    ) as client:
        yield client


def _alerts(panos: PanosClient) -> dict[str, list[Event]]:
    return {rule.id: panos.query_logs(rule.log_type, rule.query) for rule in DEFAULT_RULES}


def test_the_five_rules_find_the_guides_alerts(sim: SimulatorServer, panos: PanosClient) -> None:
    alerts = _alerts(panos)
    assert all(alerts.values()), {k: len(v) for k, v in alerts.items()}

    vuln = next(e for e in alerts["vulnerability"] if e.threat_id == intel.IE_SIGNATURE_ID)
    assert vuln.threat_name == intel.IE_SIGNATURE_NAME
    assert direction_words(vuln, INTERNAL) is Direction.OUTSIDE_TO_INSIDE
    assert our_host_and_other(vuln, INTERNAL) == (scenarios.VULN_VICTIM, scenarios.VULN_ATTACKER)

    virus = next(e for e in alerts["antivirus"] if e.file_digest == scenarios.AV_SHA256)
    assert virus.file_name == scenarios.AV_FILE
    assert our_host_and_other(virus, INTERNAL)[0] == scenarios.AV_HOST

    wildfire = next(e for e in alerts["wildfire"] if e.file_digest == scenarios.WILDFIRE_SHA256)
    assert (wildfire.verdict, wildfire.file_name) == ("malicious", scenarios.WILDFIRE_FILE)
    assert our_host_and_other(wildfire, INTERNAL)[0] == scenarios.WILDFIRE_HOST

    spyware = next(e for e in alerts["spyware"] if e.threat_id == intel.WIRELURKER_SIGNATURE_ID)
    assert direction_words(spyware, INTERNAL) is Direction.INSIDE_TO_OUTSIDE
    assert our_host_and_other(spyware, INTERNAL)[0] == scenarios.SPYWARE_HOST

    corr = next(e for e in alerts["correlation"] if e.object_id == scenarios.CORR_OBJECT_ID)
    assert corr.evidence_count == scenarios.CORR_EVIDENCE_COUNT
    assert our_host_and_other(corr, INTERNAL)[0] == scenarios.CORR_HOST

    for events in alerts.values():
        for event in events:
            assert event.receive_time.tzinfo is UTC
            assert event.receive_time <= datetime.now(UTC) + timedelta(minutes=1)
    # Learned from high_res_timestamp: Tokyo is nine hours ahead.
    assert panos.format_time(datetime(2026, 1, 1, tzinfo=UTC)) == "2026/01/01 09:00:00"
    assert {r.key_source for r in sim.requests() if r.kind != "keygen"} == {"header"}
    assert sim.counts()["keygen"] == 1


def test_tagging_round_trip(sim: SimulatorServer, panos: PanosClient) -> None:
    host = scenarios.SPYWARE_HOST
    panos.register_ip_tag(host, "panbot-quarantine", 3600)
    panos.register_ip_tag(host, "panbot-quarantine", 3600)  # twice is fine
    assert panos.registered_ips("panbot-quarantine") == {host: ("panbot-quarantine",)}
    panos.unregister_ip_tag(host, "panbot-quarantine")
    assert panos.registered_ips("panbot-quarantine") == {}


def test_system_info_and_signature(sim: SimulatorServer, panos: PanosClient) -> None:
    info = panos.system_info()
    assert info.serial == sim.store.serial
    signature = panos.threat_signature(int(intel.IE_SIGNATURE_ID))
    assert signature is not None
    assert intel.IE_CVE in signature.cves


def test_a_refused_key_is_an_auth_error(sim: SimulatorServer) -> None:
    with PanosClient(sim.url, api_key="not-the-key") as client, pytest.raises(PanosAuthError):
        client.system_info()
