"""The simulator's log store, tag store and scenarios, without HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.fakeintel import dataset as intel
from bot.simulator import scenarios as sc
from bot.simulator.filters import parse_filter
from bot.simulator.store import LogStore, StoreError, TagStore
from investigations.rules import DEFAULT_RULES

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = NOW) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment


def test_append_fills_identity_and_times_in_the_firewall_zone() -> None:
    store = LogStore(timezone=ZoneInfo("Asia/Tokyo"), now=Clock())
    first = store.append("threat", {"subtype": "spyware", "severity": "critical"})
    second = store.append("threat", {"subtype": "virus"})
    other = store.append("url", {})

    assert first["receive_time"] == "2026/11/25 19:00:00"  # 10:00 UTC is 19:00 in Tokyo
    assert first["time_generated"] == first["receive_time"]
    assert first["high_res_timestamp"] == "2026-11-25T19:00:00.000+09:00"
    assert (first["type"], first["subtype"]) == ("THREAT", "spyware")
    assert (other["type"], other["subtype"]) == ("THREAT", "url")
    assert int(second["seqno"]) == int(first["seqno"]) + 1
    assert other["seqno"] == first["seqno"]  # each log type counts on its own
    assert len({first["logid"], second["logid"], other["logid"]}) == 3
    assert first["serial"] == store.serial and first["device_name"] == store.device_name
    assert list(first)[:4] == ["logid", "domain", "receive_time", "serial"]


def test_append_converts_aware_times_and_keeps_explicit_values() -> None:
    store = LogStore(timezone=ZoneInfo("Europe/London"), now=Clock())
    entry = store.append(
        "traffic",
        {"receive_time": datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "seqno": 5000, "sport": 80},
    )
    assert entry["receive_time"] == "2026/07/01 13:00:00"  # BST
    assert entry["high_res_timestamp"].endswith("+01:00")
    assert (entry["seqno"], entry["sport"]) == ("5000", "80")
    assert (
        store.append("traffic", {})["seqno"] == "5001"
    )  # the counter moves past an explicit seqno


@pytest.mark.parametrize(
    ("log_type", "fields", "message"),
    [
        ("system", {}, "unsupported log type"),
        ("threat", {"bad name": "x"}, "not a PAN-OS field name"),
        ("threat", {"<script>": "x"}, "not a PAN-OS field name"),
        ("threat", {"receive_time": "yesterday"}, "receive_time"),
        ("threat", {"time_generated": "2026-11-25T10:00:00"}, "time_generated"),
        ("threat", {"seqno": "abc"}, "seqno"),
    ],
)
def test_append_rejects_what_a_firewall_could_not_log(
    log_type: str, fields: dict[str, str], message: str
) -> None:
    with pytest.raises(StoreError, match=message):
        LogStore().append(log_type, fields)


def test_query_sorts_by_receive_time_then_seqno_and_pages() -> None:
    store = LogStore(now=Clock())
    for minute in (3, 1, 2, 1):
        store.append("threat", {"receive_time": NOW - timedelta(minutes=minute)})
    newest = store.query("threat", nlogs=10)
    keys = [(e["receive_time"], int(e["seqno"])) for e in newest]
    assert keys == sorted(keys, reverse=True)
    oldest = store.query("threat", nlogs=10, newest_first=False)
    assert [e["seqno"] for e in oldest] == [e["seqno"] for e in reversed(newest)]
    assert store.query("threat", nlogs=2, skip=1) == newest[1:3]
    assert store.query("threat", parse_filter("( seqno eq 1002 )")) == [
        e for e in newest if e["seqno"] == "1002"
    ]


def test_concurrent_appends_get_distinct_seqnos() -> None:
    store = LogStore()
    threads = [
        threading.Thread(target=lambda: [store.append("threat", {}) for _ in range(200)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seqnos = [e["seqno"] for e in store.entries("threat")]
    assert len(seqnos) == 800 == len(set(seqnos))


def test_tags_expire_with_their_timeout() -> None:
    clock = Clock()
    tags = TagStore(now=clock)
    tags.register("10.0.0.1", "malicious", persistent=True)
    tags.register("10.0.0.2", "malicious", timeout=3600)
    tags.register("10.0.0.2", "panbot-quarantine")
    assert [(r.ip, r.tags) for r in tags.registered()] == [
        ("10.0.0.1", ("malicious",)),
        ("10.0.0.2", ("malicious", "panbot-quarantine")),
    ]
    assert [r.ip for r in tags.registered(tag="panbot-quarantine")] == ["10.0.0.2"]
    assert tags.registered(ip="10.0.0.1")[0].persistent is True

    clock.moment += timedelta(seconds=3600)
    assert [(r.ip, r.tags) for r in tags.registered()] == [
        ("10.0.0.1", ("malicious",)),
        ("10.0.0.2", ("panbot-quarantine",)),
    ]
    tags.unregister("10.0.0.2", "panbot-quarantine")
    tags.unregister("10.0.0.1")
    assert tags.registered() == []


@pytest.mark.parametrize(
    ("ip", "tag", "timeout", "message"),
    [
        ("10.0.0.300", "t", 0, "not an IP address"),
        ("10.0.0.1", "", 0, "must not be empty"),
        ("10.0.0.1", "t", -1, "outside"),
        ("10.0.0.1", "t", 30 * 24 * 3600 + 1, "outside"),
    ],
)
def test_register_rejects_bad_values(ip: str, tag: str, timeout: int, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        TagStore().register(ip, tag, timeout=timeout)


def test_guide_scenario_matches_each_default_rule_exactly_once() -> None:
    store = LogStore(now=Clock())
    sc.load_scenario(store, "guide")
    expected = {
        "vulnerability": ("src", sc.VULN_VICTIM),
        "antivirus": ("filedigest", sc.AV_SHA256),
        "wildfire": ("filedigest", sc.WILDFIRE_SHA256),
        "spyware": ("src", sc.SPYWARE_HOST),
        "correlation": ("object_id", sc.CORR_OBJECT_ID),
    }
    for rule in DEFAULT_RULES:
        found = store.query(rule.log_type.value, parse_filter(rule.query), nlogs=5000)
        field, value = expected[rule.id]
        assert [e[field] for e in found] == [value], rule.id


def test_noise_scenario_matches_no_default_rule() -> None:
    store = LogStore(now=Clock())
    loaded = sc.load_scenario(store, "noise")
    assert len(loaded) >= 5
    for rule in DEFAULT_RULES:
        assert store.query(rule.log_type.value, parse_filter(rule.query), nlogs=5000) == []


def test_guide_scenario_times_and_follow_up_logs() -> None:
    store = LogStore(now=Clock())
    entries = sc.load_scenario(store)
    lookback = (NOW - timedelta(minutes=60)).strftime("%Y/%m/%d %H:%M:%S")
    now_text = NOW.strftime("%Y/%m/%d %H:%M:%S")
    assert all(lookback <= e["receive_time"] < now_text for e in entries)

    (wildfire,) = store.query("wildfire", parse_filter("( severity eq high )"))
    after = (
        f"( addr.src in {sc.WILDFIRE_HOST} ) and ( receive_time geq '{wildfire['receive_time']}' )"
    )
    contacts = {t: store.query(t, parse_filter(after), nlogs=5000) for t in ("url", "traffic")}
    assert {e["dst"] for e in contacts["url"] + contacts["traffic"]} == {sc.WILDFIRE_C2_IP}
    dns = store.query("threat", parse_filter(after + " and ( subtype eq spyware )"))
    assert [e["misc"] for e in dns] == [sc.WILDFIRE_C2_DOMAIN]

    evidence = store.query("url", parse_filter(f"( src eq {sc.CORR_HOST} )"), nlogs=5000)
    assert len(evidence) == sc.CORR_EVIDENCE_COUNT
    assert {e["category"] for e in evidence} == {"malware"}
    (corr,) = store.query("corr", parse_filter("( severity eq critical )"))
    assert corr["evidence"] == "Host visited known malware URL (100 times)."
    assert corr["type"] == "CORRELATION" and corr["src"] == sc.CORR_HOST

    # Seqnos follow receive time within each log type, as on a firewall.
    for log_type in ("threat", "url"):
        ordered = store.query(log_type, nlogs=5000, newest_first=False)
        assert [int(e["seqno"]) for e in ordered] == sorted(int(e["seqno"]) for e in ordered)


def test_scenario_names() -> None:
    assert sc.load_scenario(LogStore(), "empty") == []
    with pytest.raises(sc.UnknownScenarioError, match="known: guide, noise, empty"):
        sc.load_scenario(LogStore(), "nope")


def test_scenario_artefacts_are_the_fake_intel_datasets() -> None:
    store = LogStore(now=Clock())
    sc.load_scenario(store)
    threats = {e["tid"]: e for e in store.entries("threat")}
    assert threats[intel.IE_SIGNATURE_ID]["threatid"].startswith(intel.IE_SIGNATURE_NAME)
    assert threats[intel.ANTIVIRUS_SIGNATURE_ID]["filedigest"] == intel.ANTIVIRUS_FILE_SHA256
    assert threats[intel.ANTIVIRUS_SIGNATURE_ID]["misc"] == intel.ANTIVIRUS_FILE_NAME
    assert intel.WIRELURKER_SIGNATURE_ID in threats
    (wildfire,) = store.query("wildfire", parse_filter(DEFAULT_RULES[2].query))
    assert (wildfire["filedigest"], wildfire["misc"]) == (
        intel.WILDFIRE_FILE_SHA256,
        intel.WILDFIRE_FILE_NAME,
    )
    contacted = store.query("traffic", parse_filter(f"( src eq {sc.WILDFIRE_HOST} )"))
    assert [(e["dst"], e["dport"]) for e in contacted] == [
        (intel.WILDFIRE_C2_IP, str(intel.WILDFIRE_C2_PORT))
    ]
    urls = store.query("url", parse_filter(f"( src eq {sc.WILDFIRE_HOST} )"))
    assert ["http://" + e["misc"] for e in urls] == [intel.WILDFIRE_URL]
