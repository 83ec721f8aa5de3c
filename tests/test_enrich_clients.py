"""EnrichmentClients: which sources are on, one VirusTotal limit, and SourceResult helpers."""

from __future__ import annotations

from investigations.enrich import EnrichmentClients, Window
from investigations.enrich.errors import QuotaExceeded
from investigations.enrich.outcome import failed, not_found, off, ok, pending
from investigations.finding import SourceStatus


def build(
    tv: str | None, wf: str | None, vt: str | None, nvd: str | None, **limits: int | None
) -> EnrichmentClients:
    return EnrichmentClients.from_settings(
        threatvault_url="https://tv.test/service/v1",
        threatvault_api_key=tv,
        wildfire_url="https://wf.test/publicapi",
        wildfire_api_key=wf,
        virustotal_url="https://vt.test/api/v3",
        virustotal_api_key=vt,
        nvd_url="https://nvd.test/rest/json/cves/2.0",
        nvd_api_key=nvd,
        jvn_url="https://jvn.test/myjvn",
        virustotal_per_minute=limits.get("per_minute") or 4,
        virustotal_per_day=limits.get("per_day"),
    )


def test_missing_keys_turn_sources_off_except_nvd_and_jvn() -> None:
    clients = build(None, "", None, None)
    try:
        assert clients.threatvault is None
        assert clients.wildfire is None
        assert clients.virustotal is None
        assert clients.nvd is not None
        assert clients.nvd.base_url == "https://nvd.test/rest/json/cves/2.0"
        assert clients.nvd.limiter.windows == (Window(5, 30.0),)  # keyless NVD pace
        assert clients.jvn is not None and clients.jvn.base_url == "https://jvn.test/myjvn"
    finally:
        clients.close()


def test_every_keyed_source_is_on_and_virustotal_limits_are_configurable() -> None:
    with build("a", "b", "c", "d", per_minute=1000, per_day=None) as clients:
        assert clients.threatvault is not None
        assert clients.wildfire is not None
        assert clients.virustotal is not None
        assert clients.virustotal.limiter.windows == (Window(1000, 60.0),)
        assert clients.nvd is not None and clients.nvd.limiter.windows == (Window(50, 30.0),)
        assert clients.threatvault.base_url == "https://tv.test/service/v1"


def test_source_results() -> None:
    assert ok("nvd", "https://nvd.nist.gov/vuln/detail/CVE-2015-0036").status is SourceStatus.OK
    assert not_found("virustotal").status is SourceStatus.NOT_FOUND
    assert pending("wildfire").status is SourceStatus.PENDING
    assert off("threatvault").status is SourceStatus.OFF
    result = failed("virustotal", QuotaExceeded("virustotal", "over quota (HTTP 429)"))
    assert result.status is SourceStatus.FAILED
    assert result.detail == "over quota (HTTP 429)"
