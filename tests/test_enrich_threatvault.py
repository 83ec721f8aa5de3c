"""Threat Vault client: the reference samples over real HTTP, the fake's dataset, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.fakeintel import FakeIntel
from bot.fakeintel import dataset as demo
from investigations.enrich.errors import AuthFailed, InvalidQuery, QuotaExceeded
from investigations.enrich.threatvault import ThreatVault


@pytest.fixture
def intel() -> Iterator[FakeIntel]:
    with FakeIntel() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def tv(intel: FakeIntel, sleeps: list[float]) -> Iterator[ThreatVault]:
    client = ThreatVault(intel.urls["threatvault"], intel.api_key, sleep=sleeps.append)
    yield client
    client.close()


def sample(reference: Path, name: str) -> bytes:
    return (reference / "enrichment" / "threatvault" / name).read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "threats_id-30001_vulnerability.json",
        "threats_id-30001_vulnerability_cdss-api-call-page.json",
    ],
)
def test_vulnerability_signature_with_string_or_integer_ids(
    reference: Path, intel: FakeIntel, tv: ThreatVault, name: str
) -> None:
    intel.respond_next("threatvault", sample(reference, name))
    sig = tv.by_signature_id(30001)
    assert sig is not None
    assert sig.id == "30001"
    assert sig.kind == "vulnerability"
    assert sig.name.startswith("Novell GroupWise iCal RRULE")
    assert sig.cves == ("CVE-2011-2663",)
    assert sig.severity == "high"
    assert sig.category == "overflow"
    assert sig.default_action == "reset-server"
    assert (sig.first_release_version, sig.latest_release_version) == ("650", "8337")
    assert sig.latest_release_time is not None and sig.latest_release_time.year == 2020
    assert intel.requests[-1].query == {"id": ["30001"]}


def test_spyware_signature(reference: Path, intel: FakeIntel, tv: ThreatVault) -> None:
    intel.respond_next(
        "threatvault", sample(reference, "threats_id-13200_spyware_tvapi-cli-output.json")
    )
    sig = tv.by_signature_id("13200")
    assert sig is not None
    assert (sig.kind, sig.name, sig.severity) == (
        "spyware",
        "Gh0st.Gen Command and Control Traffic",
        "critical",
    )
    assert sig.cves == ()
    assert sig.link == "https://threatvault.paloaltonetworks.com/?query=13200"


def test_antivirus_signature_has_its_own_shape(
    reference: Path, intel: FakeIntel, tv: ThreatVault
) -> None:
    intel.respond_next("threatvault", sample(reference, "threats_id-280392504_antivirus.json"))
    sig = tv.by_signature_id("280392504")
    assert sig is not None
    assert (sig.kind, sig.subtype, sig.severity) == ("antivirus", "virus", "medium")
    assert sig.default_action is None  # "action": "" means none
    assert (sig.first_release_version, sig.latest_release_version) == ("3017", "4179")
    assert len(sig.related_sha256) == 10


def test_cve_lookup_returns_every_covering_signature(
    reference: Path, intel: FakeIntel, tv: ThreatVault
) -> None:
    intel.respond_next("threatvault", sample(reference, "threats_cve-CVE-2020-2040.json"))
    found = tv.by_cve("cve-2020-2040")
    assert [s.id for s in found] == ["59255", "59259", "59267", "59270"]
    assert all(s.cves == ("CVE-2020-2040",) for s in found)
    assert intel.requests[-1].query == {"cve": ["CVE-2020-2040"]}


def test_hash_lookup_returns_file_info(reference: Path, intel: FakeIntel, tv: ThreatVault) -> None:
    intel.respond_next("threatvault", sample(reference, "threats_sha256_fileinfo.json"))
    digest = "380082fbf9e57bcd524648efce14c92a4cb58cb745c30ef29730959d79164549"
    info = tv.by_hash(digest.upper())
    assert info is not None
    assert (info.md5, info.size, info.family, info.wildfire_verdict) == (
        "ca066f965dfbc5392871d3fa281236cf",
        176128,
        "WGeneric",
        "malicious",
    )
    assert [s.id for s in info.signatures] == ["280392504"]
    assert intel.requests[-1].query == {"sha256": [digest]}


def test_demo_dataset_vulnerability_signature_names_the_guides_cve(tv: ThreatVault) -> None:
    sig = tv.by_signature_id(int(demo.IE_SIGNATURE_ID))
    assert sig is not None
    assert sig.cves == (demo.IE_CVE,)
    assert sig.vendor_ids == ("MS15-009",)
    assert [s.id for s in tv.by_cve(demo.IE_CVE)] == [demo.IE_SIGNATURE_ID]


def test_demo_dataset_wirelurker_and_antivirus(tv: ThreatVault, intel: FakeIntel) -> None:
    spy = tv.by_signature_id(demo.WIRELURKER_SIGNATURE_ID)
    assert spy is not None and spy.kind == "spyware" and "WireLurker" in spy.name
    info = tv.by_hash(demo.ANTIVIRUS_FILE_MD5)
    assert info is not None and info.sha256 == demo.ANTIVIRUS_FILE_SHA256
    assert [s.id for s in info.signatures] == [demo.ANTIVIRUS_SIGNATURE_ID]
    assert intel.requests[-1].query == {"md5": [demo.ANTIVIRUS_FILE_MD5]}


def test_not_found_is_none(tv: ThreatVault, intel: FakeIntel) -> None:
    assert tv.by_signature_id("99999") is None
    assert tv.by_hash("0" * 64) is None
    assert tv.by_cve("CVE-1999-0001") == []
    assert intel.request_count("threatvault") == 3


def test_a_wrong_key_is_auth_failed(intel: FakeIntel) -> None:
    client = ThreatVault(intel.urls["threatvault"], "wrong-key")
    try:
        with pytest.raises(AuthFailed, match="HTTP 401"):
            client.by_signature_id(demo.IE_SIGNATURE_ID)
    finally:
        client.close()


@pytest.mark.parametrize("bad", ["30001; DROP", "", "0", "x" * 5])
def test_malformed_ids_never_reach_the_network(tv: ThreatVault, intel: FakeIntel, bad: str) -> None:
    with pytest.raises(InvalidQuery):
        tv.by_signature_id(bad)
    with pytest.raises(InvalidQuery):
        tv.by_hash(bad)
    with pytest.raises(InvalidQuery):
        tv.by_cve(bad)
    assert intel.request_count("threatvault") == 0


def test_a_400_is_invalid_query(tv: ThreatVault, intel: FakeIntel) -> None:
    intel.respond_next(
        "threatvault", b'{"success": false, "message": "id: Value is invalid."}', status=400
    )
    with pytest.raises(InvalidQuery, match="HTTP 400"):
        tv.by_signature_id("30001")


def test_a_429_is_retried_once_after_retry_after(
    tv: ThreatVault, intel: FakeIntel, sleeps: list[float]
) -> None:
    intel.fail_next("threatvault", 1, 429, retry_after=3)
    sig = tv.by_signature_id(demo.IE_SIGNATURE_ID)
    assert sig is not None
    assert sleeps == [3.0]
    assert intel.request_count("threatvault") == 2


def test_a_second_429_is_quota_exceeded(
    tv: ThreatVault, intel: FakeIntel, sleeps: list[float]
) -> None:
    intel.fail_next("threatvault", 2, 429, retry_after=1)
    with pytest.raises(QuotaExceeded) as caught:
        tv.by_signature_id(demo.IE_SIGNATURE_ID)
    assert caught.value.retry_after == 1.0
    assert sleeps == [1.0]
    assert intel.request_count("threatvault") == 2


def test_the_key_travels_only_in_the_header(tv: ThreatVault, intel: FakeIntel) -> None:
    tv.by_signature_id(demo.IE_SIGNATURE_ID)
    (request,) = intel.requests
    assert request.headers["x-api-key"] == intel.api_key
    assert intel.api_key not in request.target
    assert intel.api_key not in repr(tv)
