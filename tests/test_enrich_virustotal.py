"""VirusTotal client: the reference file reports, detection ratio, engines, errors, retries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.fakeintel import FakeIntel
from bot.fakeintel import dataset as demo
from investigations.enrich.errors import AuthFailed, InvalidQuery, QuotaExceeded
from investigations.enrich.limits import RateLimiter, Window
from investigations.enrich.virustotal import VirusTotal, gui_link


@pytest.fixture
def intel() -> Iterator[FakeIntel]:
    with FakeIntel() as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def vt(intel: FakeIntel, sleeps: list[float]) -> Iterator[VirusTotal]:
    # The public 4-a-minute limit would make the tests wait; the limiter has its own tests.
    roomy = RateLimiter("virustotal", [Window(1000, 60.0)])
    client = VirusTotal(intel.urls["virustotal"], intel.api_key, limiter=roomy, sleep=sleeps.append)
    yield client
    client.close()


def sample(reference: Path, name: str) -> bytes:
    return (reference / "enrichment" / "virustotal" / name).read_bytes()


@pytest.mark.parametrize(
    ("digest", "ratio", "label"),
    [
        (
            "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c",
            (53, 62),
            "virus.hill/w97m",
        ),
        ("417c06700c3e899f0554654102fa064385bf1d3ecec32471ac488096d81bf38c", (7, 72), "trojan."),
        ("ddecc35aa198f401948c73a0d53fd93c4ecb770198ad7db308de026745c56b71", (0, 70), None),
    ],
)
def test_reference_file_reports(
    reference: Path,
    intel: FakeIntel,
    vt: VirusTotal,
    digest: str,
    ratio: tuple[int, int],
    label: str | None,
) -> None:
    intel.respond_next("virustotal", sample(reference, f"files_{digest}.json"))
    report = vt.file(digest)
    assert report is not None
    assert report.sha256 == digest
    # Engines that could not handle the type (or failed) are not in the denominator.
    assert report.ratio == ratio
    assert report.threat_label == label
    assert report.last_analysis_date is not None
    assert report.link == f"https://www.virustotal.com/gui/file/{digest}"
    assert intel.requests[-1].target == f"/virustotal/api/v3/files/{digest}"


def test_stats_and_engine_results(reference: Path, intel: FakeIntel, vt: VirusTotal) -> None:
    digest = "417c06700c3e899f0554654102fa064385bf1d3ecec32471ac488096d81bf38c"
    intel.respond_next("virustotal", sample(reference, f"files_{digest}.json"))
    report = vt.file(digest)
    assert report is not None
    assert (report.stats.malicious, report.stats.undetected, report.stats.type_unsupported) == (
        7,
        65,
        4,
    )
    assert len(report.results) == 76
    bkav = next(r for r in report.results if r.engine_name == "Bkav")
    assert (bkav.category, bkav.result) == ("malicious", "W32.AIDetectMalware.CS")
    assert report.detected_by(["BKAV", "lionic", "Nonexistent AV"]) == ["Bkav"]


def test_detected_by_matches_case_insensitively_in_the_given_order(
    reference: Path, intel: FakeIntel, vt: VirusTotal
) -> None:
    digest = "001015aafcae8a6942366cbb0e7d39c0738752a7800c41ea1c655d47b0a4d04c"
    intel.respond_next("virustotal", sample(reference, f"files_{digest}.json"))
    report = vt.file(digest)
    assert report is not None
    assert report.detected_by(["microsoft", " KASPERSKY ", "Microsoft"]) == [
        "Microsoft",
        "Kaspersky",
    ]
    assert report.detected_by([]) == []


def test_not_found_is_none(reference: Path, intel: FakeIntel, vt: VirusTotal) -> None:
    intel.respond_next("virustotal", sample(reference, "error_404_NotFoundError.json"), status=404)
    assert vt.file("f" * 64) is None


def test_wrong_key_is_auth_failed(reference: Path, intel: FakeIntel, vt: VirusTotal) -> None:
    intel.respond_next(
        "virustotal", sample(reference, "error_401_WrongCredentialsError.json"), status=401
    )
    with pytest.raises(AuthFailed, match="401"):
        vt.file("f" * 64)


def test_a_429_waits_for_retry_after_then_succeeds(
    intel: FakeIntel, vt: VirusTotal, sleeps: list[float]
) -> None:
    intel.fail_next("virustotal", 1, 429, retry_after=2)
    report = vt.file(demo.ANTIVIRUS_FILE_SHA256)
    assert report is not None and report.ratio == (20, 59)
    assert sleeps == [2.0]
    assert intel.request_count("virustotal") == 2


def test_a_429_without_retry_after_waits_the_default(
    intel: FakeIntel, vt: VirusTotal, sleeps: list[float]
) -> None:
    intel.fail_next("virustotal", 1, 429)
    assert vt.file(demo.ANTIVIRUS_FILE_SHA256) is not None
    assert sleeps == [15.0]


def test_two_429s_are_quota_exceeded(intel: FakeIntel, vt: VirusTotal, sleeps: list[float]) -> None:
    intel.fail_next("virustotal", 2, 429, retry_after=1)
    with pytest.raises(QuotaExceeded):
        vt.file(demo.ANTIVIRUS_FILE_SHA256)
    assert intel.request_count("virustotal") == 2


def test_a_retry_after_beyond_the_bound_is_not_waited_for(
    intel: FakeIntel, vt: VirusTotal, sleeps: list[float]
) -> None:
    intel.fail_next("virustotal", 1, 429, retry_after=3600)
    with pytest.raises(QuotaExceeded) as caught:
        vt.file(demo.ANTIVIRUS_FILE_SHA256)
    assert caught.value.retry_after == 3600.0
    assert sleeps == []
    assert intel.request_count("virustotal") == 1


def test_demo_files(vt: VirusTotal) -> None:
    mail = vt.file(demo.ANTIVIRUS_FILE_SHA256)
    assert mail is not None and mail.ratio == (20, 59)
    assert mail.detected_by(["trendmicro", "Symantec"]) == ["TrendMicro"]
    script = vt.file(demo.WILDFIRE_FILE_MD5)
    assert script is not None and script.ratio == (42, 59)
    assert script.sha256 == demo.WILDFIRE_FILE_SHA256
    assert script.meaningful_name == demo.WILDFIRE_FILE_NAME
    assert vt.file(demo.ZERO_DAY_SHA256) is None  # nobody has seen it: possibly a zero-day


def test_malformed_hashes_never_reach_the_network(intel: FakeIntel, vt: VirusTotal) -> None:
    for bad in ("../files", "g" * 64, ""):
        with pytest.raises(InvalidQuery):
            vt.file(bad)
    assert intel.request_count("virustotal") == 0


def test_the_key_travels_only_in_the_header(intel: FakeIntel, vt: VirusTotal) -> None:
    vt.file(demo.ANTIVIRUS_FILE_SHA256)
    (request,) = intel.requests
    assert request.headers["x-apikey"] == intel.api_key
    assert intel.api_key not in request.target
    assert intel.api_key not in repr(vt)


def test_gui_link() -> None:
    assert gui_link("ab" * 32) == "https://www.virustotal.com/gui/file/" + "ab" * 32
