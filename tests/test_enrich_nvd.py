"""NVD client: the reference CVE records, CVSS choice, KEV fields, throttling, the key header."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.fakeintel import FakeIntel
from bot.fakeintel import dataset as demo
from investigations.enrich.errors import InvalidQuery, QuotaExceeded
from investigations.enrich.nvd import ATTRIBUTION, Nvd, detail_link


@pytest.fixture
def intel() -> Iterator[FakeIntel]:
    with FakeIntel() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def nvd(intel: FakeIntel, sleeps: list[float]) -> Iterator[Nvd]:
    client = Nvd(intel.urls["nvd"], sleep=sleeps.append)
    yield client
    client.close()


def sample(reference: Path, cve: str) -> bytes:
    return (reference / "enrichment" / "nvd" / f"cves2.0_cveId-{cve}.json").read_bytes()


def test_proxylogon_record(reference: Path, intel: FakeIntel, nvd: Nvd) -> None:
    intel.respond_next("nvd", sample(reference, "CVE-2021-26855"))
    record = nvd.cve("cve-2021-26855")
    assert record is not None
    assert record.id == "CVE-2021-26855"
    assert record.description is not None
    assert record.description.startswith("Microsoft Exchange Server Remote Code Execution")
    assert record.cvss is not None
    assert (record.cvss.version, record.cvss.base_score, record.cvss.severity) == (
        "3.1",
        9.8,
        "CRITICAL",
    )
    assert record.cvss.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
    assert record.kev is not None
    assert str(record.kev.exploit_add) == "2021-11-03"
    assert str(record.kev.action_due) == "2021-04-16"
    assert record.kev.required_action == "Apply updates per vendor instructions."
    assert (
        record.kev.vulnerability_name == "Microsoft OWA Exchange Control Panel (ECP) Exploit Chain"
    )
    advisory = record.references[-1]
    assert advisory.url.endswith("/advisory/CVE-2021-26855")  # NVD's "\/" unescaped
    assert advisory.tags == ("Patch", "Vendor Advisory")
    assert record.published is not None and record.published.utcoffset() is not None
    assert record.weaknesses == ("CWE-918",)
    assert record.link == "https://nvd.nist.gov/vuln/detail/CVE-2021-26855"
    assert intel.requests[-1].query == {"cveId": ["CVE-2021-26855"]}


def test_smaller_record_without_kev(reference: Path, intel: FakeIntel, nvd: Nvd) -> None:
    intel.respond_next("nvd", sample(reference, "CVE-2021-45357"))
    record = nvd.cve("CVE-2021-45357")
    assert record is not None
    assert record.kev is None
    assert record.cvss is not None and record.cvss.base_score == 6.1
    assert record.description == (
        "Cross Site Scripting (XSS) vulnerability exists in Piwigo 12.x via the pwg_activity"
        " function in include/functions.inc.php."
    )


def test_cvss_v2_when_nothing_newer(nvd: Nvd) -> None:
    record = nvd.cve(demo.IE_CVE)
    assert record is not None
    assert record.cvss is not None
    # v2 keeps baseSeverity beside cvssData, not inside it.
    assert (record.cvss.version, record.cvss.base_score, record.cvss.severity) == (
        "2.0",
        9.3,
        "HIGH",
    )


def test_cvss_v30_when_no_v31(intel: FakeIntel, nvd: Nvd) -> None:
    intel.add_cve(
        "CVE-2019-0001",
        "A v3.0-scored flaw.",
        score=7.5,
        severity="HIGH",
        vector="CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        version="3.0",
    )
    record = nvd.cve("CVE-2019-0001")
    assert record is not None and record.cvss is not None
    assert (record.cvss.version, record.cvss.base_score) == ("3.0", 7.5)


def test_nvds_primary_score_wins_over_a_cnas(intel: FakeIntel, nvd: Nvd) -> None:
    def metric(kind: str, score: float) -> dict[str, object]:
        return {
            "source": "x",
            "type": kind,
            "cvssData": {"version": "3.1", "baseScore": score, "baseSeverity": "HIGH"},
        }

    body = {
        "totalResults": 1,
        "vulnerabilities": [
            {
                "cve": {
                    "id": "CVE-2024-0001",
                    "descriptions": [
                        {"lang": "es", "value": "uno"},
                        {"lang": "en", "value": "one"},
                    ],
                    "metrics": {
                        "cvssMetricV31": [metric("Secondary", 5.0), metric("Primary", 8.1)]
                    },
                }
            }
        ],
    }
    intel.respond_next("nvd", json.dumps(body).encode())
    record = nvd.cve("CVE-2024-0001")
    assert record is not None and record.cvss is not None
    assert record.cvss.base_score == 8.1
    assert record.description == "one"


def test_unknown_cve_is_none(nvd: Nvd) -> None:
    assert nvd.cve("CVE-1999-99999") is None


def test_403_throttle_is_retried_then_quota_exceeded(
    intel: FakeIntel, nvd: Nvd, sleeps: list[float]
) -> None:
    intel.fail_next("nvd", 1, 403)
    assert nvd.cve(demo.IE_CVE) is not None
    assert sleeps == [6.0]
    intel.fail_next("nvd", 2, 403)
    with pytest.raises(QuotaExceeded, match="403"):
        nvd.cve(demo.IE_CVE)
    assert intel.request_count("nvd") == 4


def test_malformed_cve_never_reaches_the_network(intel: FakeIntel, nvd: Nvd) -> None:
    with pytest.raises(InvalidQuery):
        nvd.cve("CVE-2015-0036&resultsPerPage=2000")
    assert intel.request_count("nvd") == 0


def test_the_key_travels_only_in_the_apikey_header(intel: FakeIntel) -> None:
    keyed = Nvd(intel.urls["nvd"], "nvd-secret-key")
    unkeyed = Nvd(intel.urls["nvd"], None)
    try:
        keyed.cve(demo.IE_CVE)
        unkeyed.cve(demo.IE_CVE)
    finally:
        keyed.close()
        unkeyed.close()
    with_key, without_key = intel.requests
    assert with_key.headers["apikey"] == "nvd-secret-key"
    assert "nvd-secret-key" not in with_key.target
    assert "apikey" not in without_key.headers
    assert "nvd-secret-key" not in repr(keyed)


def test_attribution_and_link() -> None:
    assert (
        ATTRIBUTION == "This product uses the NVD API but is not endorsed or certified by the NVD."
    )
    assert detail_link("CVE-2015-0036") == "https://nvd.nist.gov/vuln/detail/CVE-2015-0036"
