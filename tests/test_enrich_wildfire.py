"""WildFire client: verdict codes, reports and their network activity, errors, unsafe XML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.fakeintel import FakeIntel
from bot.fakeintel import dataset as demo
from investigations.enrich.errors import (
    AuthFailed,
    InvalidQuery,
    MalformedResponse,
    QuotaExceeded,
)
from investigations.enrich.wildfire import (
    REPORT_MAX_BYTES,
    Connection,
    DnsQuery,
    VerdictCode,
    WildFire,
)

SHA = "ab" * 32


@pytest.fixture
def intel() -> Iterator[FakeIntel]:
    with FakeIntel() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def wf(intel: FakeIntel, sleeps: list[float]) -> Iterator[WildFire]:
    client = WildFire(intel.urls["wildfire"], intel.api_key, sleep=sleeps.append)
    yield client
    client.close()


@pytest.mark.parametrize(
    ("code", "final", "malicious"),
    [
        (0, True, False),
        (1, True, True),
        (2, True, False),
        (4, True, True),
        (5, True, True),
        (-100, False, False),
        (-101, False, False),
        (-102, False, False),
    ],
)
def test_verdict_code_table(
    intel: FakeIntel, wf: WildFire, code: int, final: bool, malicious: bool
) -> None:
    intel.add_file(SHA, None, 0, wildfire_verdict=code)
    verdict = wf.verdict(SHA)
    assert verdict.code == code
    assert verdict.code.is_final is final
    assert verdict.code.is_malicious is malicious
    assert verdict.sha256 == SHA


def test_verdict_names() -> None:
    assert VerdictCode(1) is VerdictCode.MALWARE
    assert VerdictCode(5) is VerdictCode.C2
    assert VerdictCode(-102) is VerdictCode.UNKNOWN


def test_a_never_seen_sample_is_unknown(wf: WildFire) -> None:
    assert wf.verdict("cd" * 32).code is VerdictCode.UNKNOWN


def test_verdict_minus_103_is_invalid_query(intel: FakeIntel, wf: WildFire) -> None:
    intel.add_file(SHA, None, 0, wildfire_verdict=-103)
    with pytest.raises(InvalidQuery):
        wf.verdict(SHA)


def test_an_unrecognised_verdict_code_is_malformed(intel: FakeIntel, wf: WildFire) -> None:
    intel.respond_next(
        "wildfire",
        b"<wildfire><get-verdict-info><sha256>x</sha256><verdict>3</verdict>"
        b"</get-verdict-info></wildfire>",
        content_type="application/xml",
    )
    with pytest.raises(MalformedResponse, match="verdict code"):
        wf.verdict(SHA)


def test_demo_sample_verdicts(wf: WildFire) -> None:
    assert wf.verdict(demo.WILDFIRE_FILE_SHA256).code is VerdictCode.MALWARE
    assert wf.verdict(demo.ZERO_DAY_MD5).code is VerdictCode.MALWARE


def test_419_is_quota_exceeded_without_retry(
    intel: FakeIntel, wf: WildFire, sleeps: list[float]
) -> None:
    intel.fail_next("wildfire", 1, 419)
    with pytest.raises(QuotaExceeded, match="419"):
        wf.verdict(demo.WILDFIRE_FILE_SHA256)
    assert intel.request_count("wildfire") == 1
    assert sleeps == []


def test_421_is_invalid_query(intel: FakeIntel, wf: WildFire) -> None:
    intel.fail_next("wildfire", 1, 421)
    with pytest.raises(InvalidQuery, match="421"):
        wf.report(demo.WILDFIRE_FILE_SHA256)


def test_a_wrong_key_is_auth_failed(intel: FakeIntel) -> None:
    client = WildFire(intel.urls["wildfire"], "not-the-key")
    try:
        with pytest.raises(AuthFailed):
            client.verdict(demo.WILDFIRE_FILE_SHA256)
    finally:
        client.close()


def test_a_malformed_hash_never_reaches_the_network(intel: FakeIntel, wf: WildFire) -> None:
    with pytest.raises(InvalidQuery):
        wf.verdict("not-a-hash")
    with pytest.raises(InvalidQuery):
        wf.report("a" * 40)  # SHA-1 is not accepted by WildFire
    assert intel.request_count("wildfire") == 0


def test_static_report_sample(reference: Path, intel: FakeIntel, wf: WildFire) -> None:
    body = (
        reference / "enrichment" / "wildfire" / "get-report_format-xml_pdf-static-analyzer.xml"
    ).read_bytes()
    intel.respond_next("wildfire", body, content_type="application/xml")
    report = wf.report("ba39310abfd8d1155c85f690c34b141f9ed5927a80faa74c51be002cf6edc1f8")
    assert report is not None
    assert not report.pending
    assert (report.filetype, report.size, report.malware) == ("PDF", 102085, False)
    assert report.md5 == "ed4785aa72ae5fd25960c932c2c766a8"
    assert report.environments == ("PDF Static Analyzer",)
    assert not report.has_network_activity  # a static-only report has no <network>
    assert len(report.extracted_urls) == 12
    assert report.extracted_urls[0].startswith("accounts.google.com/servicelogin?hl=en&passive")


def test_demo_report_lists_the_network_activity_once(intel: FakeIntel, wf: WildFire) -> None:
    report = wf.report(demo.WILDFIRE_FILE_SHA256)
    assert report is not None
    assert report.malware is True
    assert len(report.environments) == 2
    # Both environments saw the same activity: listed once.
    assert report.connections == (
        Connection(
            protocol="tcp", ip=demo.WILDFIRE_C2_IP, port=demo.WILDFIRE_C2_PORT, country="US"
        ),
    )
    assert report.dns == (
        DnsQuery(query=demo.WILDFIRE_DNS_QUERY, type="A", response=demo.WILDFIRE_C2_IP),
    )
    assert [h.url for h in report.http] == ["update.shipping-notice.example/gate.php"]
    (request,) = [r for r in intel.requests if r.target.endswith("/get/report")]
    assert request.form["format"] == ["xml"]


def test_udp_destinations_are_read(intel: FakeIntel, wf: WildFire) -> None:
    intel.add_file(SHA, None, 0, wildfire_verdict=5, network={"udp": ["203.0.113.53:53"]})
    report = wf.report(SHA)
    assert report is not None
    assert report.connections == (
        Connection(protocol="udp", ip="203.0.113.53", port=53, country="US"),
    )


def test_a_report_without_analysis_is_pending(intel: FakeIntel, wf: WildFire) -> None:
    intel.add_file(SHA, None, 0, wildfire_verdict=-100)
    report = wf.report(SHA)
    assert report is not None
    assert report.pending
    assert not report.has_network_activity


def test_no_report_is_none(wf: WildFire) -> None:
    assert wf.report(demo.ANTIVIRUS_FILE_SHA256) is None  # never submitted to WildFire


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<wildfire><get-verdict-info><sha256>&lol3;</sha256><verdict>1</verdict></get-verdict-info></wildfire>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE wildfire [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<wildfire><version>&xxe;</version><task_info><report/></task_info></wildfire>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_documents_with_a_dtd_are_refused(intel: FakeIntel, wf: WildFire, body: bytes) -> None:
    intel.respond_next("wildfire", body, content_type="application/xml", n=2)
    with pytest.raises(MalformedResponse, match="DTD"):
        wf.verdict(SHA)
    with pytest.raises(MalformedResponse, match="DTD"):
        wf.report(SHA)


def test_non_xml_is_malformed(intel: FakeIntel, wf: WildFire) -> None:
    intel.respond_next("wildfire", b"<html><body>Forbidden. (403)", content_type="text/html")
    with pytest.raises(MalformedResponse):
        wf.report(SHA)


def test_an_oversized_report_is_refused(intel: FakeIntel, wf: WildFire) -> None:
    intel.respond_next("wildfire", b"<wildfire>" + b" " * REPORT_MAX_BYTES + b"</wildfire>")
    with pytest.raises(MalformedResponse, match="larger than"):
        wf.report(SHA)


def test_the_key_travels_only_in_the_form(intel: FakeIntel, wf: WildFire) -> None:
    wf.verdict(demo.WILDFIRE_FILE_SHA256)
    (request,) = intel.requests
    assert request.method == "POST"
    assert request.form["apikey"] == [intel.api_key]
    assert request.form["hash"] == [demo.WILDFIRE_FILE_SHA256]
    assert intel.api_key not in request.target
    assert all(intel.api_key not in value for value in request.headers.values())
    assert intel.api_key not in repr(wf)
