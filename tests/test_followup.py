"""Follow-up queries: validated values only, what counts as contact, and the real thing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.simulator import scenarios as sc
from bot.simulator.api import DEFAULT_API_KEY
from bot.simulator.server import SimulatorServer
from investigations.enrich.wildfire import Connection, DnsQuery, HttpRequest, Report
from investigations.followup import (
    Destinations,
    checked_domain,
    checked_ip,
    classify,
    contacts_in,
    correlation_evidence,
    destinations_of,
    follow_up,
    host_query,
    summarise_evidence,
    url_host,
)
from investigations.panos.client import PanosClient
from investigations.panos.events import Event, LogType

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def _event(log_type: LogType, **fields: Any) -> Event:
    base: dict[str, Any] = {"serial": "1", "seqno": 1, "receive_time": T0, "src": "10.0.0.5"}
    return Event(log_type=log_type, **(base | fields))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("198.51.100.23", "198.51.100.23"),
        (" 2001:db8::0001 ", "2001:db8::1"),
        ("198.51.100.23 or 1", None),
        ("198.51.100.300", None),
        ("", None),
        (None, None),
    ],
)
def test_checked_ip(value: str | None, expected: str | None) -> None:
    assert checked_ip(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Update.Shipping-Notice.example.", "update.shipping-notice.example"),
        ("localhost", None),  # one label: not a destination worth matching
        ("bad_name.example", None),
        ("x' ) or ( addr in 0.0.0.0/0", None),
        ("-lead.example", None),
        ("a" * 64 + ".example", None),
        ("198.51.100.23", None),  # an address, not a name
    ],
)
def test_checked_domain(value: str, expected: str | None) -> None:
    assert checked_domain(value) == expected


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://update.shipping-notice.example/gate.php", "update.shipping-notice.example"),
        ("update.shipping-notice.example/gate.php", "update.shipping-notice.example"),
        ("203.0.113.99/beacon", "203.0.113.99"),
        ("user@evil.example:8080/x?y", "evil.example"),
        ("[2001:db8::1]:443/x", "2001:db8::1"),
        ("not a url", None),
        (None, None),
    ],
)
def test_url_host(url: str | None, host: str | None) -> None:
    assert url_host(url) == host


def test_destinations_of_a_report_keep_only_valid_values() -> None:
    report = Report(
        connections=(
            Connection(protocol="tcp", ip="198.51.100.23", port=443),
            Connection(protocol="udp", ip="not-an-ip", port=53),
        ),
        dns=(DnsQuery(query="update.shipping-notice.example", response="198.51.100.23"),),
        http=(
            HttpRequest(host="update.shipping-notice.example", uri="/gate.php"),
            HttpRequest(host="x') or (1", uri="/"),
        ),
    )
    found = destinations_of(report)
    assert found == Destinations(("198.51.100.23",), ("update.shipping-notice.example",))
    assert destinations_of(None) == Destinations()
    assert not Destinations()


WANTED = Destinations(("198.51.100.23",), ("update.shipping-notice.example",))


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_event(LogType.TRAFFIC, dst="198.51.100.23", app="ssl"), "report_destination"),
        (_event(LogType.TRAFFIC, dst="198.51.100.99", app="ssl"), None),
        (
            _event(LogType.URL, dst="203.0.113.5", misc="update.shipping-notice.example/a"),
            "report_destination",
        ),
        (
            _event(LogType.URL, dst="203.0.113.5", misc="other.example/", category="malware"),
            "url_category",
        ),
        (_event(LogType.URL, dst="203.0.113.5", misc="news.example/", category="news"), None),
        (
            _event(
                LogType.THREAT,
                dst="198.51.100.53",
                subtype="spyware",
                threat_name="Suspicious DNS Query (generic:evil.example)",
                threat_category="dns-c2",
                misc="evil.example",
            ),
            "dns_signature",
        ),
        (
            _event(
                LogType.THREAT,
                dst="203.0.113.9",
                subtype="vulnerability",
                threat_name="ISC BIND DNS Denial of Service",
                threat_category="dos",
            ),
            None,
        ),
    ],
)
def test_what_counts_as_contact(event: Event, reason: str | None) -> None:
    contact = classify(event, WANTED)
    assert (contact.reason if contact else None) == reason


def test_contacts_in_are_ordered_and_unique() -> None:
    later = [
        _event(
            LogType.TRAFFIC,
            dst="198.51.100.23",
            app="ssl",
            proto="tcp",
            dport=443,
            receive_time=T0 + timedelta(minutes=2),
        ),
        _event(
            LogType.TRAFFIC,
            dst="198.51.100.23",
            app="ssl",
            proto="tcp",
            dport=443,
            receive_time=T0 + timedelta(minutes=3),
        ),
        _event(
            LogType.URL,
            dst="203.0.113.5",
            misc="update.shipping-notice.example/a",
            receive_time=T0 + timedelta(minutes=1),
        ),
    ]
    found = contacts_in(later, WANTED)
    assert [c.log_type for c in found] == ["url", "traffic"]
    assert found[1].detail == "ssl tcp/443"


@pytest.mark.parametrize(
    "host", ["10.0.0.5 ) or ( addr.src in 0.0.0.0/0", "evil.example", "", "10.0.0.5'"]
)
def test_host_query_refuses_anything_but_an_address(host: str) -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        host_query(host, "2026/11/01 10:00:00")


def test_host_query_shape() -> None:
    query = host_query(
        "10.0.0.5",
        "2026/11/01 10:00:00",
        until="2026/11/01 11:00:00",
        destinations=["198.51.100.23", "2001:db8::1", "junk"],
    )
    assert query == (
        "( addr.src in 10.0.0.5 ) and ( receive_time geq '2026/11/01 10:00:00' ) and "
        "( receive_time leq '2026/11/01 11:00:00' ) and "
        "( ( addr.dst in 198.51.100.23 ) or ( addr.dst in 2001:db8::1 ) )"
    )


def test_summarise_evidence_counts() -> None:
    events = [
        _event(LogType.URL, misc="a.example/x", direction="client-to-server"),
        _event(LogType.URL, misc="a.example/x", direction="client-to-server"),
        _event(LogType.THREAT, dst="203.0.113.9"),
    ]
    evidence = summarise_evidence(events)
    assert evidence.count == 3
    assert evidence.by_type == (("url", 2), ("threat", 1))
    assert evidence.destinations[0] == ("a.example/x", 2)
    assert evidence.directions == (("client-to-server", 3),)


# -- against the PAN-OS simulator, over HTTP on 127.0.0.1 ---------------------------------


@pytest.fixture(scope="module")
def firewall() -> Iterator[tuple[SimulatorServer, PanosClient]]:
    simulator = SimulatorServer(scenario="guide").start()
    simulator.act_polls = 0  # log jobs finish at once: no polling sleeps
    client = PanosClient(simulator.url, api_key=DEFAULT_API_KEY, job_poll_interval=0.05)
    try:
        yield simulator, client
    finally:
        client.close()
        simulator.stop()


def _wildfire_event(client: PanosClient) -> Event:
    events = client.query_logs(LogType.WILDFIRE, "( severity eq high )")
    return next(e for e in events if e.file_digest == sc.WILDFIRE_SHA256)


def test_the_wildfire_host_contacted_the_report_destinations(
    firewall: tuple[SimulatorServer, PanosClient],
) -> None:
    simulator, client = firewall
    event = _wildfire_event(client)
    found = follow_up(client, sc.WILDFIRE_HOST, event.receive_time, WANTED)
    assert {c.log_type for c in found} == {"threat", "url", "traffic"}
    assert {c.destination for c in found} == {sc.WILDFIRE_C2_DOMAIN, sc.WILDFIRE_C2_IP}
    queries = [q for _, q in simulator.log_queries()]
    assert any(f"addr.dst in {sc.WILDFIRE_C2_IP}" in q for q in queries)
    assert not any(sc.WILDFIRE_C2_DOMAIN in q for q in queries)  # names are matched here


def test_no_contact_before_the_event_or_from_another_host(
    firewall: tuple[SimulatorServer, PanosClient],
) -> None:
    _, client = firewall
    event = _wildfire_event(client)
    assert follow_up(client, sc.SPYWARE_HOST, event.receive_time, WANTED) == []
    later = event.receive_time + timedelta(hours=1)
    assert follow_up(client, sc.WILDFIRE_HOST, later, WANTED) == []


def test_correlation_evidence_from_the_firewall(
    firewall: tuple[SimulatorServer, PanosClient],
) -> None:
    _, client = firewall
    corr = client.query_logs(LogType.CORR, "( severity eq critical )")[0]
    evidence = correlation_evidence(client, sc.CORR_HOST, corr.receive_time)
    assert evidence.count == sc.CORR_EVIDENCE_COUNT
    assert evidence.by_type == (("url", sc.CORR_EVIDENCE_COUNT),)
    assert len(evidence.destinations) == 4
    assert evidence.directions == (("client-to-server", sc.CORR_EVIDENCE_COUNT),)
