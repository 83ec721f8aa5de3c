"""The playbooks against the PAN-OS simulator and the fake intel services, over real HTTP."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from bot.config import RFC1918
from bot.fakeintel import dataset
from bot.fakeintel.server import FakeIntel
from bot.ingest import alert_facts
from bot.simulator import scenarios as sc
from bot.simulator.api import DEFAULT_API_KEY
from bot.simulator.server import SimulatorServer
from investigations.enrich.clients import EnrichmentClients
from investigations.finding import Finding, Message, SourceStatus
from investigations.network import our_host_and_other
from investigations.panos.client import PanosClient
from investigations.panos.events import Event
from investigations.playbooks import AlertFacts, HostContext, Tools, run_playbook
from investigations.playbooks import indicator as bare
from investigations.rules import DEFAULT_RULES

NETWORKS = [ipaddress.ip_network(n) for n in RFC1918]


class Lab:
    """The simulator, fake intel and clients for one test module."""

    def __init__(self) -> None:
        self.simulator = SimulatorServer(scenario="guide").start()
        self.simulator.act_polls = 0  # log jobs finish at once: no polling sleeps
        self.intel = FakeIntel()
        self.panos = PanosClient(
            self.simulator.url, api_key=DEFAULT_API_KEY, job_poll_interval=0.05
        )
        self.clients = self.make_clients()

    def make_clients(self, **changes: Any) -> EnrichmentClients:
        settings: dict[str, Any] = {**self.intel.client_settings(), **changes}
        return EnrichmentClients.from_settings(**settings, virustotal_per_minute=600)

    def close(self) -> None:
        self.clients.close()
        self.panos.close()
        self.intel.close()
        self.simulator.stop()

    def alert(self, rule_id: str, pick: Any = None, **context: Any) -> AlertFacts:
        rule = next(r for r in DEFAULT_RULES if r.id == rule_id)
        events = self.panos.query_logs(rule.log_type, rule.query)
        event: Event = next(e for e in events if pick is None or pick(e))
        host, other = our_host_and_other(event, NETWORKS)
        return AlertFacts.from_stored(
            alert_id=1,
            rule=rule.id,
            facts=alert_facts(event, NETWORKS),
            host=host,
            other=other,
            first_seen=event.receive_time,
            host_context=HostContext(**context),
        )

    def run(self, rule_id: str, clients: EnrichmentClients | None = None, **kwargs: Any) -> Finding:
        pick = kwargs.pop("pick", None)
        engines = kwargs.pop("av_engines", ())
        alert = self.alert(rule_id, pick, **kwargs)
        return run_playbook(rule_id, alert, clients or self.clients, self.panos, av_engines=engines)

    def tools(self) -> Tools:
        return Tools(clients=self.clients, panos=self.panos, networks=NETWORKS)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    started = Lab()
    try:
        yield started
    finally:
        started.close()


def fact(finding: Finding, label: str) -> str:
    return "\n".join(f.value for f in finding.facts if f.label == label)


def status(finding: Finding, name: str) -> SourceStatus | None:
    return next((s.status for s in finding.sources if s.name == name), None)


def test_vulnerability_finds_the_guide_cve_and_asks_for_the_patch(lab: Lab) -> None:
    finding = lab.run("vulnerability")
    assert fact(finding, "fact.cves") == dataset.IE_CVE
    assert fact(finding, "fact.cvss").startswith("9.3")
    assert dataset.IE_JVN_ID in fact(finding, "fact.jvn_title")
    assert "メモリ破損" in fact(finding, "fact.jvn_overview")
    assert "MS15-009" in fact(finding, "fact.vendor_advisories")
    assert {s.name: s.status for s in finding.sources} == {
        "threatvault": SourceStatus.OK,
        "nvd": SourceStatus.OK,
        "jvn": SourceStatus.OK,
    }
    assert finding.recommendation == Message(
        key="recommend.check_patch", params={"host": sc.VULN_VICTIM, "cves": dataset.IE_CVE}
    )
    assert finding.actions == ("mark_patched", "mark_monitored", "close_alert")
    assert fact(finding, "fact.host_users") == "corp\\tanaka"


def test_vulnerability_on_a_patched_host_means_no_impact(lab: Lab) -> None:
    finding = lab.run("vulnerability", patched_for=(dataset.IE_CVE,))
    assert finding.recommendation is not None
    assert finding.recommendation.key == "recommend.close_no_impact"
    assert finding.warnings[0].key == "warning.patched_already"
    assert fact(finding, "fact.patched_for") == dataset.IE_CVE


def test_vulnerability_without_threat_vault_asks_the_firewall(lab: Lab) -> None:
    clients = lab.make_clients(threatvault_api_key=None)
    try:
        finding = lab.run("vulnerability", clients)
    finally:
        clients.close()
    assert status(finding, "threatvault") is SourceStatus.OFF
    assert status(finding, "firewall") is SourceStatus.OK
    assert fact(finding, "fact.cves") == dataset.IE_CVE
    assert status(finding, "nvd") is SourceStatus.OK


def test_antivirus_ratio_and_our_engine(lab: Lab) -> None:
    finding = lab.run("antivirus", av_engines=("kaspersky",))
    assert fact(finding, "fact.vt_detections") == "20 / 59"
    assert fact(finding, "fact.sender") == "billing@example.org"
    assert fact(finding, "fact.subject") == "Invoice for November 2026"
    assert fact(finding, "fact.recipient") == "suzuki@corp.example.com"
    assert fact(finding, "fact.av_engines").startswith("Kaspersky: HEUR:")
    assert finding.recommendation is not None
    assert finding.recommendation.key == "recommend.av_prevented"
    assert finding.recommendation.params["engines"] == "Kaspersky"


def test_antivirus_our_engine_silent_means_scan(lab: Lab) -> None:
    finding = lab.run("antivirus", av_engines=("Webroot",))
    assert finding.recommendation is not None
    assert finding.recommendation.key == "recommend.av_scan"
    assert Message(key="warning.not_detected_by_our_av") in finding.warnings
    assert fact(finding, "fact.av_engines") == "Webroot: -"


def test_one_failing_source_never_blocks_the_others(lab: Lab) -> None:
    lab.intel.fail_next("virustotal", 1, status=503)
    finding = lab.run("antivirus", av_engines=("Kaspersky",))
    vt = next(s for s in finding.sources if s.name == "virustotal")
    assert vt.status is SourceStatus.FAILED
    assert vt.detail is not None and "503" in vt.detail
    assert status(finding, "threatvault") is SourceStatus.OK
    assert "Virus/Win32" in fact(finding, "fact.description")
    assert Message(key="warning.sources_missing") in finding.warnings
    assert finding.recommendation is not None  # still a conclusion


def test_missing_keys_are_named_off(lab: Lab) -> None:
    clients = lab.make_clients(
        threatvault_api_key=None, wildfire_api_key=None, virustotal_api_key=None
    )
    try:
        finding = lab.run("wildfire", clients)
    finally:
        clients.close()
    assert status(finding, "wildfire") is SourceStatus.OFF
    assert status(finding, "virustotal") is SourceStatus.OFF
    # Without the report, DNS and URL-filtering hits still count as contact.
    assert status(finding, "firewall") is SourceStatus.OK
    assert Message(key="warning.zero_day") not in finding.warnings


def test_wildfire_contact_found_means_isolation(lab: Lab) -> None:
    finding = lab.run("wildfire")
    assert fact(finding, "fact.vt_detections") == "42 / 59"
    assert sc.WILDFIRE_C2_DOMAIN in fact(finding, "fact.network_activity")
    contacted = fact(finding, "fact.contacted")
    assert sc.WILDFIRE_C2_IP in contacted and sc.WILDFIRE_C2_DOMAIN in contacted
    assert finding.warnings[0] == Message(key="warning.host_contacted", params={"count": 2})
    assert finding.actions[0] == "request_isolation"
    assert not finding.pending


def _wildfire_log(lab: Lab, digest: str, host: str) -> None:
    template = next(
        e for e in lab.simulator.store.entries("wildfire") if e["filedigest"] == sc.WILDFIRE_SHA256
    )
    skip = {"seqno", "receive_time", "time_generated", "high_res_timestamp", "logid"}
    fields = {k: v for k, v in template.items() if k not in skip}
    lab.simulator.append("wildfire", **(fields | {"filedigest": digest, "src": host}))


def test_zero_day_warning_and_no_contact_means_watch(lab: Lab) -> None:
    _wildfire_log(lab, dataset.ZERO_DAY_SHA256, "192.168.10.58")
    finding = lab.run("wildfire", pick=lambda e: e.file_digest == dataset.ZERO_DAY_SHA256)
    assert finding.warnings[0] == Message(key="warning.zero_day")
    assert status(finding, "virustotal") is SourceStatus.NOT_FOUND
    assert dataset.ZERO_DAY_C2_IP in fact(finding, "fact.network_activity")
    assert finding.recommendation == Message(
        key="recommend.monitor", params={"host": "192.168.10.58"}
    )
    assert fact(finding, "fact.contacted") == ""


def test_wildfire_still_analysing_is_pending(lab: Lab) -> None:
    digest = "ab" * 32
    lab.intel.add_file(digest, 3, 59, wildfire_verdict=-100)
    _wildfire_log(lab, digest, "192.168.10.59")
    finding = lab.run("wildfire", pick=lambda e: e.file_digest == digest)
    assert finding.pending
    assert status(finding, "wildfire") is SourceStatus.PENDING


def test_spyware_wirelurker(lab: Lab) -> None:
    finding = lab.run("spyware")
    assert "WireLurker" in fact(finding, "fact.description")
    assert finding.warnings == (Message(key="warning.c2"),)
    assert finding.recommendation == Message(
        key="recommend.isolate_c2", params={"host": sc.SPYWARE_HOST}
    )


def test_correlation_evidence(lab: Lab) -> None:
    finding = lab.run("correlation")
    assert fact(finding, "fact.corr_object").startswith(sc.CORR_OBJECT_NAME)
    assert fact(finding, "fact.corr_summary") == f"{sc.CORR_OBJECT_NAME} (100 times)."
    assert fact(finding, "fact.evidence_count").startswith("100")
    assert "dl.malware.example.com/load/a.bin ×25" in fact(finding, "fact.evidence")
    assert finding.actions[0] == "request_isolation"


def test_firewall_failure_is_listed_and_the_advice_is_to_review(lab: Lab) -> None:
    alert = lab.alert("wildfire")
    lab.simulator.fail_next(1, status=500)
    finding = run_playbook("wildfire", alert, lab.clients, lab.panos)
    assert status(finding, "firewall") is SourceStatus.FAILED
    assert finding.recommendation == Message(key="recommend.review")
    assert fact(finding, "fact.vt_detections") == "42 / 59"


def test_bare_file_blocked_by_av_and_forwarded(lab: Lab) -> None:
    finding = bare.file(sc.NOISE_WILDFIRE_SHA256, lab.tools())
    assert finding.playbook == "indicator"
    assert finding.warnings[0] == Message(key="warning.wildfire_informational")
    assert finding.recommendation == Message(
        key="recommend.not_urgent", params={"host": "192.168.10.66"}
    )
    assert "informational" in fact(finding, "fact.recent_logs")


def test_bare_file_known_everywhere(lab: Lab) -> None:
    finding = bare.file(dataset.ANTIVIRUS_FILE_MD5.upper(), lab.tools())
    assert fact(finding, "fact.vt_detections") == "20 / 59"
    assert dataset.ANTIVIRUS_SIGNATURE_NAME in fact(finding, "fact.signatures")
    assert status(finding, "firewall") is None  # an MD5 is not in firewall logs
    assert Message(key="warning.zero_day") not in finding.warnings


def test_bare_cve_and_threat_id(lab: Lab) -> None:
    finding = bare.cve(dataset.IE_CVE, lab.tools())
    assert dataset.IE_SIGNATURE_NAME in fact(finding, "fact.signatures")
    assert fact(finding, "fact.cvss").startswith("9.3")
    threat = bare.threat(dataset.WIRELURKER_SIGNATURE_ID, lab.tools())
    assert "WireLurker" in fact(threat, "fact.description")
    assert "WireLurker" in fact(threat, "fact.threat")


def test_bare_ip(lab: Lab) -> None:
    finding = bare.ip(sc.SPYWARE_HOST, lab.tools(), HostContext(users=("corp\\kato",)))
    assert "WireLurker" in fact(finding, "fact.threat")
    assert fact(finding, "fact.host_users") == "corp\\kato"
    with pytest.raises(ValueError, match="not an IP"):
        bare.ip("10.0.0.1 ) or ( addr in 0.0.0.0/0", lab.tools())
