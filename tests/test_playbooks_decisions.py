"""The playbooks' decisions as tables: pure functions, no network."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from investigations.enrich.errors import SourceUnavailable
from investigations.enrich.outcome import failed, not_found, off, ok, pending
from investigations.finding import Fact, Finding, Message, SourceStatus
from investigations.playbooks import (
    AlertFacts,
    HostContext,
    antivirus,
    correlation,
    finding_cves,
    spyware,
    vulnerability,
    wildfire,
)
from investigations.playbooks.common import Draft, lines, shorten

HOST = "192.168.10.21"


@pytest.mark.parametrize(
    ("subjects", "patched", "key", "first_action", "warned"),
    [
        (["CVE-2015-0036"], [], "recommend.check_patch", "mark_patched", False),
        (["CVE-2015-0036"], ["CVE-2015-0036"], "recommend.close_no_impact", "close_alert", True),
        (
            ["CVE-2015-0036", "CVE-2015-0037"],
            ["CVE-2015-0036"],
            "recommend.check_patch",
            "mark_patched",
            False,
        ),
        (
            ["CVE-2015-0036", "CVE-2015-0037"],
            ["CVE-2015-0037", "CVE-2015-0036", "x"],
            "recommend.close_no_impact",
            "close_alert",
            True,
        ),
        (["threat:37183"], ["threat:37183"], "recommend.close_no_impact", "close_alert", True),
        ([], ["CVE-2015-0036"], "recommend.check_patch", "mark_patched", False),
    ],
)
def test_vulnerability_patched_or_not(
    subjects: list[str], patched: list[str], key: str, first_action: str, warned: bool
) -> None:
    decision = vulnerability.decide(HOST, subjects, patched)
    assert decision.recommendation.key == key
    assert decision.recommendation.params["host"] == HOST
    assert decision.actions[0] == first_action
    assert bool(decision.warnings) is warned
    if warned:
        assert decision.warnings[0].key == "warning.patched_already"


@pytest.mark.parametrize(
    ("cves", "threat_id", "expected"),
    [
        (["CVE-1999-0001"], "1", ("CVE-1999-0001",)),
        (["CVE-1999-0001", "CVE-1999-0001"], "1", ("CVE-1999-0001",)),
        ([], "37183", ("threat:37183",)),
        ([], None, ()),
    ],
)
def test_patch_subjects(cves: list[str], threat_id: str | None, expected: tuple[str, ...]) -> None:
    assert vulnerability.patch_subjects(cves, threat_id) == expected


@pytest.mark.parametrize(
    ("ours", "detected", "vt_known", "key", "warning"),
    [
        (["Kaspersky"], ["Kaspersky"], True, "recommend.av_prevented", None),
        (["Kaspersky", "Sophos"], [], True, "recommend.av_scan", "warning.not_detected_by_our_av"),
        ([], [], True, "recommend.av_scan", None),  # no engines configured: nothing to compare
        (["Kaspersky"], [], False, "recommend.av_scan", None),  # VirusTotal could not say
    ],
)
def test_antivirus_our_engine_decides(
    ours: list[str], detected: list[str], vt_known: bool, key: str, warning: str | None
) -> None:
    decision = antivirus.decide(HOST, ours, detected, vt_known)
    assert decision.recommendation.key == key
    assert [w.key for w in decision.warnings] == ([warning] if warning else [])
    if detected:
        assert decision.recommendation.params["engines"] == ", ".join(detected)
        assert "request_isolation" not in decision.actions
    else:
        assert "mark_monitored" in decision.actions


@pytest.mark.parametrize(
    ("contacts", "blocked", "key", "actions", "warning"),
    [
        (
            3,
            False,
            "recommend.isolate_and_restore",
            ("request_isolation", "mark_monitored", "close_alert"),
            "warning.host_contacted",
        ),
        (0, False, "recommend.monitor", ("mark_monitored", "close_alert"), None),
        (
            None,
            False,
            "recommend.review",
            ("request_isolation", "mark_monitored", "close_alert"),
            None,
        ),
        (
            2,
            True,
            "recommend.not_urgent",
            ("close_alert", "mark_monitored"),
            "warning.wildfire_informational",
        ),
    ],
)
def test_wildfire_contact_decides(
    contacts: int | None, blocked: bool, key: str, actions: tuple[str, ...], warning: str | None
) -> None:
    decision = wildfire.decide(HOST, contacts, blocked_forward=blocked)
    assert decision.recommendation.key == key
    assert decision.actions == actions
    assert [w.key for w in decision.warnings] == ([warning] if warning else [])
    if warning == "warning.host_contacted":
        assert decision.warnings[0].params == {"count": contacts}


@pytest.mark.parametrize(
    ("never_seen", "malicious", "warned"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_zero_day_only_for_a_malicious_file_nobody_knows(
    never_seen: bool, malicious: bool, warned: bool
) -> None:
    warning = wildfire.zero_day_warning(never_seen, malicious)
    assert (warning == Message(key="warning.zero_day")) is warned
    assert (warning is None) is not warned


@pytest.mark.parametrize(
    ("severity", "verdict", "blocked"),
    [
        ("informational", "malicious", True),
        ("Informational", None, True),
        ("high", "malicious", False),
        ("informational", "benign", False),
        (None, "malicious", False),
    ],
)
def test_blocked_file_forwarded_to_wildfire(
    severity: str | None, verdict: str | None, blocked: bool
) -> None:
    assert wildfire.is_blocked_forward(severity, verdict) is blocked


@pytest.mark.parametrize(
    ("direction", "warning"),
    [
        ("inside_to_outside", "warning.c2"),
        ("outside_to_inside", "warning.likely_infected"),
        ("unknown", "warning.likely_infected"),
    ],
)
def test_spyware_always_isolates(direction: str, warning: str) -> None:
    decision = spyware.decide(HOST, direction)
    assert decision.recommendation.key == "recommend.isolate_c2"
    assert decision.actions[0] == "request_isolation"
    assert [w.key for w in decision.warnings] == [warning]


def test_correlation_isolates_and_knows_the_guide_object() -> None:
    decision = correlation.decide(HOST)
    assert decision.recommendation == Message(
        key="recommend.isolate_investigate", params={"host": HOST}
    )
    assert decision.actions[0] == "request_isolation"
    assert "beacon" in (correlation.object_description("Host visited known malware URL") or "")
    assert correlation.object_description("Something else") is None
    assert correlation.object_description(None) is None


@pytest.mark.parametrize(
    ("statuses", "shown"),
    [
        ([ok("nvd"), failed("nvd", SourceUnavailable("nvd", "timed out"))], SourceStatus.FAILED),
        ([failed("nvd", SourceUnavailable("nvd", "x")), ok("nvd")], SourceStatus.FAILED),
        ([not_found("wildfire"), ok("wildfire")], SourceStatus.OK),
        ([ok("wildfire"), pending("wildfire")], SourceStatus.PENDING),
        ([off("virustotal")], SourceStatus.OFF),
    ],
)
def test_a_source_asked_twice_shows_its_most_telling_outcome(
    statuses: list[object], shown: SourceStatus
) -> None:
    draft = Draft("vulnerability", "#1")
    for status in statuses:
        draft.source(status)  # type: ignore[arg-type]
    assert len(draft.sources) == 1
    assert next(iter(draft.sources.values())).status is shown


def test_draft_joins_repeated_labels_and_flags_failures() -> None:
    draft = Draft("vulnerability", "#1")
    draft.fact("fact.vendor_advisories", "MS15-009")
    draft.fact("fact.vendor_advisories", "https://example.com/advisory")
    draft.fact("fact.vendor_advisories", "MS15-009")
    draft.fact("fact.cvss", "")
    draft.fact("fact.cvss", None)
    draft.source(failed("nvd", SourceUnavailable("nvd", "timed out")))
    finding = draft.finding(vulnerability.decide(HOST, ["CVE-2015-0036"], []))
    assert finding.facts == (
        Fact(label="fact.vendor_advisories", value="MS15-009\nhttps://example.com/advisory"),
    )
    assert Message(key="warning.sources_missing") in finding.warnings
    assert finding.sources[0].detail == "timed out"


def test_lines_and_shorten_bound_the_text() -> None:
    assert lines(["a", "b", "a", ""]) == "a\nb"
    assert lines([str(i) for i in range(20)], 3) == "0\n1\n2\n… (+17)"
    assert shorten("x" * 50, 10) == "x" * 9 + "…"
    assert shorten(None) == ""


def test_finding_cves_reads_only_valid_ids() -> None:
    finding = Finding(
        playbook="vulnerability",
        subject="#1",
        facts=(
            Fact(label="fact.cves", value="CVE-2015-0036, cve-2014-6271\nnot-a-cve"),
            Fact(label="fact.description", value="CVE-2099-0001"),
        ),
    )
    assert finding_cves(finding) == ("CVE-2015-0036", "CVE-2014-6271")


def test_alert_facts_from_stored_dict() -> None:
    seen = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    facts = {
        "log_type": "threat",
        "serial": "0079",
        "seqno": 7,
        "receive_time": seen.isoformat(),
        "threat_id": "37183",
        "direction_words": "outside_to_inside",
        "cves": ["cve-2015-0036", "junk"],
    }
    alert = AlertFacts.from_stored(
        alert_id=9,
        rule="vulnerability",
        facts=facts,
        host=HOST,
        other="203.0.113.80",
        first_seen=seen,
        count=0,
        host_context=HostContext(patched_for=("CVE-2015-0036",)),
    )
    assert alert.event.threat_id == "37183"
    assert alert.direction_words == "outside_to_inside"
    assert alert.cves == ("CVE-2015-0036",)
    assert alert.count == 1
    assert alert.subject == f"#9 · {HOST}"
    assert alert.host_context.patched_for == ("CVE-2015-0036",)
