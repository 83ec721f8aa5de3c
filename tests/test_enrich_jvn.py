"""JVN client: exact CVE matching, zero hits, both namespace schemes, HTML stripping."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.fakeintel import FakeIntel
from bot.fakeintel import dataset as demo
from bot.fakeintel.records import JvnNote
from bot.fakeintel.render import jvn_overview, jvn_result
from investigations.enrich.errors import InvalidQuery, SourceUnavailable
from investigations.enrich.jvn import MAX_DETAILS, Jvn, search_link
from investigations.enrich.limits import RateLimiter, Window


@pytest.fixture
def intel() -> Iterator[FakeIntel]:
    with FakeIntel() as fake:
        yield fake


@pytest.fixture
def jvn(intel: FakeIntel) -> Iterator[Jvn]:
    # MyJVN's own pace (3 a second) would slow the tests; the limiter has its own tests.
    client = Jvn(intel.urls["jvn"], limiter=RateLimiter("jvn", [Window(1000, 1.0)]))
    yield client
    client.close()


def sample(reference: Path, name: str) -> bytes:
    return (reference / "enrichment" / "jvn" / name).read_bytes()


def test_reference_overview_keeps_only_the_exact_cve(
    reference: Path, intel: FakeIntel, jvn: Jvn
) -> None:
    # The sample lists two notes; only JVNDB-2025-002953 references CVE-2025-31084.
    intel.respond_next("jvn", sample(reference, "getVulnOverviewList_hnd.xml"))
    intel.respond_next("jvn", sample(reference, "getVulnDetailInfo_hnd_JVNDB-2018-009328.xml"))
    (entry,) = jvn.by_cve("CVE-2025-31084")
    assert entry.vuln_id == "JVNDB-2025-002953"
    # The detail answer was about another note, so the overview's own text stands.
    assert entry.title.startswith("WordPress 用 Sunshine Photo Cart")
    assert entry.overview is not None and entry.overview.endswith("脆弱性が存在します。")
    assert entry.link == "https://jvndb.jvn.jp/ja/contents/2025/JVNDB-2025-002953.html"
    assert entry.published is not None and entry.published.utcoffset() is not None
    detail = intel.requests[-1].query
    assert detail["method"] == ["getVulnDetailInfo"]
    assert detail["vulnId"] == ["JVNDB-2025-002953"]


def test_reference_detail_is_parsed_and_its_html_stripped(
    reference: Path, intel: FakeIntel, jvn: Jvn
) -> None:
    note = JvnNote(
        vuln_id="JVNDB-2022-000097",
        cves=("CVE-2022-41993", "CVE-2022-46287", "CVE-2022-46288"),
        title="電子入札コアシステムにおける複数の脆弱性",
        overview="overview",
        impact="",
        solution="",
        score=6.1,
        severity="Medium",
        vector="CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
    )
    intel.respond_next("jvn", jvn_overview([note], 1))
    intel.respond_next("jvn", sample(reference, "getVulnDetailInfo_hnd_JVNDB-2022-000097.xml"))
    (entry,) = jvn.by_cve("CVE-2022-46287")
    assert entry.title == "電子入札コアシステムにおける複数の脆弱性"
    assert entry.overview is not None and entry.impact is not None
    assert "<" not in entry.overview + entry.impact
    assert (
        entry.overview.splitlines()[1] == "- クロスサイトスクリプティング (CWE-79) - CVE-2022-41993"
    )
    assert entry.impact.count("\n- ") == 3
    assert (
        entry.solution
        == "[パッチを適用する] 開発者が提供する情報をもとにパッチを適用してください。"
    )
    assert [(c.version, c.score) for c in entry.cvss] == [("3.0", 6.1), ("2.0", 4.3)]
    assert entry.published is not None and entry.published.isoformat().startswith("2022-12-15")


def test_keyword_search_is_partial_so_matches_are_filtered(intel: FakeIntel, jvn: Jvn) -> None:
    intel.add_jvn("JVNDB-2021-019999", ["CVE-2021-44287"], "別の脆弱性", "CVE-2021-44287 の概要")
    intel.add_jvn("JVNDB-2021-020000", ["CVE-2021-4428"], "探している脆弱性", "概要")
    # MyJVN itself (the fake, like the real one) returns both for the keyword ...
    params = {
        "method": "getVulnOverviewList",
        "feed": "hnd",
        "keyword": "CVE-2021-4428",
        "rangeDatePublic": "n",
        "rangeDatePublished": "n",
        "rangeDateFirstPublished": "n",
    }
    raw = httpx.get(intel.urls["jvn"], params=params).text
    assert "JVNDB-2021-019999" in raw and "JVNDB-2021-020000" in raw
    # ... and the client keeps only the exact CVE, fetching one detail.
    assert [e.vuln_id for e in jvn.by_cve("CVE-2021-4428")] == ["JVNDB-2021-020000"]
    assert [e.vuln_id for e in jvn.by_cve("CVE-2021-44287")] == ["JVNDB-2021-019999"]
    details = [r for r in intel.requests if r.query.get("method") == ["getVulnDetailInfo"]]
    assert len(details) == 2


def test_searches_all_dates_since_the_default_is_one_week(intel: FakeIntel, jvn: Jvn) -> None:
    params = {"method": "getVulnOverviewList", "feed": "hnd", "keyword": demo.IE_CVE}
    assert b"<Result" in httpx.get(intel.urls["jvn"], params=params).content
    (entry,) = jvn.by_cve(demo.IE_CVE)
    assert entry.vuln_id == demo.IE_JVN_ID
    overview = [r for r in intel.requests if r.query.get("keyword")][-1]  # the client's
    for key in ("rangeDatePublic", "rangeDatePublished", "rangeDateFirstPublished"):
        assert overview.query[key] == ["n"]
    assert overview.query["keyword"] == [demo.IE_CVE]


def test_demo_note_over_both_namespace_schemes(intel: FakeIntel, jvn: Jvn) -> None:
    # The fake's overview uses http:// namespaces and its detail https://, as MyJVN's do.
    (entry,) = jvn.by_cve(demo.IE_CVE.lower())
    assert entry.cve == demo.IE_CVE
    assert entry.impact is not None and "任意のコードを実行" in entry.impact
    assert entry.solution is not None and "MS15-009" in entry.solution
    assert entry.overview == (
        "Microsoft Internet Explorer には、メモリ破損の脆弱性が存在します。\n"
        "- 細工されたウェブサイトを閲覧することで、任意のコードを実行される可能性があります。"
    )
    assert entry.cvss[0].version == "2.0"


def test_zero_hits_change_the_root_element(intel: FakeIntel, jvn: Jvn) -> None:
    assert jvn.by_cve("CVE-1999-0001") == []
    assert intel.request_count("jvn") == 1  # no detail request


def test_an_error_status_is_source_unavailable(intel: FakeIntel, jvn: Jvn) -> None:
    intel.respond_next("jvn", jvn_result("getVulnOverviewList", error="invalid parameter"))
    with pytest.raises(SourceUnavailable, match="MyJVN error"):
        jvn.by_cve(demo.IE_CVE)


def test_details_are_capped(intel: FakeIntel, jvn: Jvn) -> None:
    for n in range(MAX_DETAILS + 2):
        intel.add_jvn(f"JVNDB-2020-0000{n:02d}", ["CVE-2020-1234"], f"note {n}", "概要")
    assert len(jvn.by_cve("CVE-2020-1234")) == MAX_DETAILS
    assert intel.request_count("jvn") == 1 + MAX_DETAILS


def test_malformed_cve_never_reaches_the_network(intel: FakeIntel, jvn: Jvn) -> None:
    with pytest.raises(InvalidQuery):
        jvn.by_cve("CVE-2021-4428&method=getVendorList")
    assert intel.request_count("jvn") == 0


def test_search_link() -> None:
    assert search_link("CVE-2015-0036") == (
        "https://jvndb.jvn.jp/search/index.php?mode=_vulnerability_search_IA_VulnSearch"
        "&lang=ja&keyword=CVE-2015-0036"
    )
