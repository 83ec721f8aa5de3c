"""FakeIntel: the demo dataset, the services' routes, fault injection and the request log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.fakeintel import FakeIntel
from bot.fakeintel import dataset as demo
from investigations.enrich import EnrichmentClients, VerdictCode


@pytest.fixture
def intel() -> Iterator[FakeIntel]:
    with FakeIntel() as fake:
        yield fake


@pytest.fixture
def clients(intel: FakeIntel) -> Iterator[EnrichmentClients]:
    with EnrichmentClients.from_settings(
        **intel.client_settings(), virustotal_per_minute=1000
    ) as built:
        yield built


def test_urls_follow_the_real_services_paths(intel: FakeIntel) -> None:
    base = intel.base_url
    assert base.startswith("http://127.0.0.1:")
    assert intel.urls == {
        "threatvault": f"{base}/threatvault/service/v1",
        "wildfire": f"{base}/wildfire/publicapi",
        "virustotal": f"{base}/virustotal/api/v3",
        "nvd": f"{base}/nvd/rest/json/cves/2.0",
        "jvn": f"{base}/jvn/myjvn",
    }


def test_the_guides_scenarios_are_in_the_dataset(clients: EnrichmentClients) -> None:
    tv, wf, vt = clients.threatvault, clients.wildfire, clients.virustotal
    nvd, jvn = clients.nvd, clients.jvn
    assert tv and wf and vt and nvd and jvn
    # 1. vulnerability: IE memory corruption -> CVE-2015-0036 -> JVN and NVD
    ie = tv.by_signature_id(demo.IE_SIGNATURE_ID)
    assert ie is not None and ie.cves == ("CVE-2015-0036",) and "Internet Explorer" in ie.name
    assert [e.vuln_id for e in jvn.by_cve(demo.IE_CVE)] == [demo.IE_JVN_ID]
    record = nvd.cve(demo.IE_CVE)
    assert record is not None and record.references[0].tags == ("Patch", "Vendor Advisory")
    # 2. virus in mail: the signature and its file, 20 of 59
    av = tv.by_signature_id(demo.ANTIVIRUS_SIGNATURE_ID)
    assert av is not None and av.kind == "antivirus"
    mail = vt.file(demo.ANTIVIRUS_FILE_SHA256)
    assert mail is not None and mail.ratio == (demo.ANTIVIRUS_DETECTED, demo.ENGINES_TOTAL) == (
        20,
        59,
    )
    # 3. WildFire: a malicious script, 42 of 59, with a DNS query, a URL and 198.51.100.23:443
    assert wf.verdict(demo.WILDFIRE_FILE_SHA256).code is VerdictCode.MALWARE
    script = vt.file(demo.WILDFIRE_FILE_SHA256)
    assert script is not None and script.ratio == (42, 59)
    report = wf.report(demo.WILDFIRE_FILE_SHA256)
    assert report is not None
    assert [(c.ip, c.port) for c in report.connections] == [("198.51.100.23", 443)]
    assert [d.query for d in report.dns] == [demo.WILDFIRE_DNS_QUERY]
    assert [f"http://{h.url}" for h in report.http] == [demo.WILDFIRE_URL]
    # 4. spyware: WireLurker C2
    spy = tv.by_signature_id(demo.WIRELURKER_SIGNATURE_ID)
    assert spy is not None and spy.kind == "spyware" and "WireLurker" in (spy.description or "")
    # the zero-day: WildFire says malware, VirusTotal never saw it
    assert wf.verdict(demo.ZERO_DAY_SHA256).code is VerdictCode.MALWARE
    assert vt.file(demo.ZERO_DAY_SHA256) is None


def test_fail_next_counts_down_per_service(intel: FakeIntel) -> None:
    intel.fail_next("nvd", 2, 503)
    url = intel.urls["nvd"]
    statuses = [httpx.get(url, params={"cveId": demo.IE_CVE}).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert httpx.get(intel.urls["jvn"], params={"method": "x"}).status_code == 200
    assert intel.request_count("nvd") == 3
    assert intel.request_count("jvn") == 1


def test_a_429_carries_retry_after(intel: FakeIntel) -> None:
    intel.fail_next("virustotal", 1, 429, retry_after=7)
    response = httpx.get(f"{intel.urls['virustotal']}/files/{demo.ANTIVIRUS_FILE_SHA256}")
    assert (response.status_code, response.headers["retry-after"]) == (429, "7")


def test_unknown_services_and_paths(intel: FakeIntel) -> None:
    with pytest.raises(ValueError, match="unknown service"):
        intel.fail_next("shodan")
    assert httpx.get(f"{intel.base_url}/nothing").status_code == 404
    assert intel.requests == []  # only known services are recorded


def test_services_check_their_keys_where_the_real_ones_do(intel: FakeIntel) -> None:
    tv = httpx.get(f"{intel.urls['threatvault']}/threats", params={"id": demo.IE_SIGNATURE_ID})
    assert tv.status_code == 401
    vt = httpx.get(
        f"{intel.urls['virustotal']}/files/{demo.ANTIVIRUS_FILE_SHA256}",
        headers={"x-apikey": "nope"},
    )
    assert (vt.status_code, vt.json()["error"]["code"]) == (401, "WrongCredentialsError")
    wf = httpx.post(
        f"{intel.urls['wildfire']}/get/verdict",
        data={"apikey": intel.api_key, "hash": "zz"},
    )
    assert wf.status_code == 421


def test_add_file_checks_its_counts(intel: FakeIntel) -> None:
    with pytest.raises(ValueError):
        intel.add_file("ab" * 32, 1, 59, engines={"A": "x", "B": "y"})
    with pytest.raises(ValueError):
        intel.add_file("ab" * 32, 60, 59)


def test_close_releases_stalled_requests() -> None:
    intel = FakeIntel(seed=False)
    intel.slow_next("nvd", delay=30.0)
    url = intel.urls["nvd"]
    outcome: list[int] = []
    waiter = threading.Thread(target=lambda: outcome.append(httpx.get(url, timeout=10).status_code))
    waiter.start()
    while intel.request_count("nvd") == 0:
        time.sleep(0.01)
    started = time.monotonic()
    intel.close()
    waiter.join()
    assert time.monotonic() - started < 2.0
    assert outcome == [503]
