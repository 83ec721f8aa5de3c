"""The simulator's XML API over real HTTP on 127.0.0.1: auth, ops, log jobs, User-ID, faults."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.fakeintel import dataset as intel
from bot.simulator import DEFAULT_API_KEY, SimulatorServer
from bot.simulator import scenarios as sc
from investigations.rules import DEFAULT_RULES

NOW = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)
SYSTEM_INFO = "<show><system><info></info></system></show>"
REGISTERED_ALL = "<show><object><registered-ip><all/></registered-ip></object></show>"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.moment = NOW

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(clock: Clock) -> Iterator[SimulatorServer]:
    with SimulatorServer(now=clock) as server:
        yield server


@pytest.fixture
def client(sim: SimulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, headers={"X-PAN-KEY": DEFAULT_API_KEY}, timeout=10) as c:
        yield c


def call(client: httpx.Client, **params: str) -> ET.Element:
    """POST one API request and return the parsed response."""
    response = client.post("/api/", data=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.text)


def submit(client: httpx.Client, log_type: str, query: str = "", **extra: str) -> str:
    root = call(client, type="log", **{"log-type": log_type}, query=query, **extra)
    assert (root.get("status"), root.get("code")) == ("success", "19"), ET.tostring(root)
    job = root.findtext("result/job")
    assert job is not None
    return job


def query_logs(
    client: httpx.Client, log_type: str, query: str = "", **extra: str
) -> list[ET.Element]:
    """Run a log job to FIN and finish it; return its entries."""
    job = submit(client, log_type, query, **extra)
    for _ in range(10):
        root = call(client, type="log", action="get", **{"job-id": job})
        if root.findtext("result/job/status") == "FIN":
            break
    else:
        pytest.fail("log job never finished")
    logs = root.find("result/log/logs")
    assert logs is not None and logs.get("progress") == "100"
    entries = logs.findall("entry")
    assert logs.get("count") == str(len(entries))
    assert call(client, type="log", action="finish", **{"job-id": job}).get("status") == "success"
    return entries


def error_line(root: ET.Element) -> str:
    assert root.get("status") == "error", ET.tostring(root)
    return root.findtext("msg/line") or ""


# ---------------------------------------------------------------- auth


def test_keygen_returns_the_key(sim: SimulatorServer) -> None:
    response = httpx.get(
        sim.api_url, params={"type": "keygen", "user": "admin", "password": "admin"}
    )
    assert response.status_code == 200
    assert ET.fromstring(response.text).findtext("result/key") == DEFAULT_API_KEY
    (recorded,) = sim.requests()
    assert dict(recorded.params) == {"type": "keygen", "user": "admin"}  # no password


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"type": "keygen", "user": "admin", "password": "wrong"}, {}),
        ({"type": "keygen", "user": "root", "password": "admin"}, {}),
        ({"type": "op", "cmd": SYSTEM_INFO}, {}),
        ({"type": "op", "cmd": SYSTEM_INFO}, {"X-PAN-KEY": "wrong"}),
        ({"type": "op", "cmd": SYSTEM_INFO, "key": "wrong"}, {}),
        ({"type": "op", "cmd": SYSTEM_INFO, "key": DEFAULT_API_KEY}, {"X-PAN-KEY": "wrong"}),
    ],
)
def test_bad_credentials_are_403_invalid_credential(
    sim: SimulatorServer, params: dict[str, str], headers: dict[str, str]
) -> None:
    response = httpx.get(sim.api_url, params=params, headers=headers)
    assert response.status_code == 403
    root = ET.fromstring(response.text)
    assert root.get("status") == "error"
    assert root.findtext("result/msg") == "Invalid Credential"


def test_key_is_accepted_anywhere_and_recorded_nowhere(sim: SimulatorServer) -> None:
    with httpx.Client(base_url=sim.url) as c:
        header = c.get(
            "/api/",
            params={"type": "op", "cmd": SYSTEM_INFO},
            headers={"X-PAN-KEY": DEFAULT_API_KEY},
        )
        query = c.get("/api/", params={"type": "op", "cmd": SYSTEM_INFO, "key": DEFAULT_API_KEY})
        body = c.post("/api/", data={"type": "op", "cmd": SYSTEM_INFO, "key": DEFAULT_API_KEY})
    assert [r.status_code for r in (header, query, body)] == [200, 200, 200]
    recorded = sim.requests()
    assert [r.key_source for r in recorded] == ["header", "query", "body"]
    assert [r.method for r in recorded] == ["GET", "GET", "POST"]
    assert DEFAULT_API_KEY not in repr(recorded)
    assert sim.counts()["op"] == 3


# ---------------------------------------------------------------- op


def test_system_info(client: httpx.Client, sim: SimulatorServer) -> None:
    system = call(client, type="op", cmd=SYSTEM_INFO).find("result/system")
    assert system is not None
    assert system.findtext("model") == "PA-VM"
    assert system.findtext("serial") == sim.store.serial
    assert system.findtext("hostname") == sim.store.device_name
    assert (system.findtext("sw-version") or "").startswith("11.")


def test_threat_info_names_the_cves(client: httpx.Client) -> None:
    tid = intel.IE_SIGNATURE_ID
    root = call(client, type="op", cmd=f"<show><threat><id>{tid}</id></threat></show>")
    entry = root.find("result/entry")
    assert entry is not None and entry.get("name") == tid
    assert "Internet Explorer" in (entry.findtext("threatname") or "")
    assert [m.text for m in entry.findall("vulnerability/cve/member")] == ["CVE-2015-0036"]
    missing = call(client, type="op", cmd="<show><threat><id>1</id></threat></show>")
    assert "not a known signature" in error_line(missing)


@pytest.mark.parametrize(
    ("cmd", "code", "message"),
    [
        ("<show><jobs><all/></jobs></show>", "17", "show -> jobs -> all is unexpected"),
        ("<request><restart><system/></restart></request>", "17", "is unexpected"),
        ("<show><system>", "18", "Malformed command"),
        ("", "18", "Missing cmd"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><show>&a;</show>', "18", "Malformed command"),
    ],
)
def test_bad_op_commands_get_pan_os_errors(
    client: httpx.Client, cmd: str, code: str, message: str
) -> None:
    root = call(client, type="op", cmd=cmd)
    assert root.get("code") == code
    assert message in error_line(root)


def test_unknown_request_type_and_path(sim: SimulatorServer, client: httpx.Client) -> None:
    assert client.post("/api/", data={"type": "commit"}).status_code == 400
    assert client.post("/api/", data={}).status_code == 400
    assert client.get("/restapi/v10.1/Objects/Addresses").status_code == 404


# ---------------------------------------------------------------- log jobs


def test_log_job_goes_act_then_fin_then_finishes(client: httpx.Client) -> None:
    job = submit(client, "threat", "( severity eq critical )")
    act = call(client, type="log", action="get", **{"job-id": job})
    assert act.findtext("result/job/status") == "ACT"
    assert act.findtext("result/job/id") == job
    logs = act.find("result/log/logs")
    assert logs is not None and (logs.get("count"), logs.get("progress")) == ("0", "20")

    fin = call(client, type="log", action="get", **{"job-id": job})
    assert fin.findtext("result/job/status") == "FIN"
    entries = fin.findall("result/log/logs/entry")
    assert entries and all(e.findtext("severity") == "critical" for e in entries)
    assert all(int(e.get("logid", "")) > 0 for e in entries)
    assert all(e.find("logid") is None for e in entries)  # an attribute, not an element

    done = call(client, type="log", action="finish", **{"job-id": job})
    assert done.get("status") == "success"
    gone = call(client, type="log", action="get", **{"job-id": job})
    assert gone.get("code") == "7" and "not found" in error_line(gone)


def test_act_polls_and_never_finishing_jobs(sim: SimulatorServer, client: httpx.Client) -> None:
    sim.act_polls = 3
    job = submit(client, "threat")
    statuses = [
        call(client, type="log", action="get", **{"job-id": job}).findtext("result/job/status")
        for _ in range(4)
    ]
    assert statuses == ["ACT", "ACT", "ACT", "FIN"]

    sim.job_never_finishes(True)
    stuck = submit(client, "threat")
    for _ in range(6):
        root = call(client, type="log", action="get", **{"job-id": stuck})
        assert root.findtext("result/job/status") == "ACT"
    sim.job_never_finishes(False)
    root = call(client, type="log", action="get", **{"job-id": stuck})
    assert root.findtext("result/job/status") == "FIN"
    assert sim.counts()["log:get"] == 11


def test_responses_have_the_reference_shapes(
    reference: Path, sim: SimulatorServer, client: httpx.Client
) -> None:
    panos = reference / "panos"
    enqueued = ET.fromstring(client.post("/api/", data={"type": "log", "log-type": "traffic"}).text)
    ref_enqueued = ET.parse(panos / "demisto_log_query_enqueued.xml").getroot()
    assert _shape(enqueued) == _shape(ref_enqueued)
    job = enqueued.findtext("result/job") or ""
    assert enqueued.findtext("result/msg/line") == f"query job enqueued with jobid {job}"

    act = ET.fromstring(
        client.post("/api/", data={"type": "log", "action": "get", "job-id": job}).text
    )
    assert _shape(act) == _shape(ET.parse(panos / "demisto_log_get_act.xml").getroot())

    fin = ET.fromstring(
        client.post("/api/", data={"type": "log", "action": "get", "job-id": job}).text
    )
    ref_fin = ET.parse(panos / "demisto_log_get_fin_traffic_1entry.xml").getroot()
    ours, theirs = fin.find("result/log/logs/entry"), ref_fin.find("result/log/logs/entry")
    assert ours is not None and theirs is not None
    core = {
        "receive_time", "serial", "seqno", "type", "subtype", "time_generated",
        "high_res_timestamp", "src", "dst", "natsrc", "natdst", "rule", "app", "vsys", "from",
        "to", "sessionid", "repeatcnt", "sport", "dport", "proto", "action", "device_name",
    }  # fmt: skip
    assert core <= {child.tag for child in theirs}
    assert core <= {child.tag for child in ours}
    assert ours.findtext("type") == theirs.findtext("type") == "TRAFFIC"
    for path in ("result/job/tenq", "result/job/tdeq", "result/job/tlast", "result/job/id"):
        assert fin.find(path) is not None and ref_fin.find(path) is not None


def _shape(element: ET.Element) -> list[tuple[str, tuple[str, ...]]]:
    """The element paths and attribute names of a document, ignoring values."""
    return [(e.tag, tuple(sorted(e.attrib))) for e in element.iter()]


@pytest.mark.parametrize("rule", DEFAULT_RULES, ids=lambda r: r.id)
def test_each_default_rule_matches_one_guide_entry(client: httpx.Client, rule: object) -> None:
    assert rule in DEFAULT_RULES
    expected = {
        "vulnerability": ("tid", intel.IE_SIGNATURE_ID),
        "antivirus": ("filedigest", sc.AV_SHA256),
        "wildfire": ("filedigest", sc.WILDFIRE_SHA256),
        "spyware": ("src", sc.SPYWARE_HOST),
        "correlation": ("object_name", sc.CORR_OBJECT_NAME),
    }
    r = next(r for r in DEFAULT_RULES if r is rule)
    entries = query_logs(client, r.log_type.value, r.query, nlogs="5000")
    field, value = expected[r.id]
    assert [e.findtext(field) for e in entries] == [value]


def test_noise_scenario_matches_no_rule(clock: Clock) -> None:
    with (
        SimulatorServer(now=clock, scenario="noise") as sim,
        httpx.Client(base_url=sim.url, headers={"X-PAN-KEY": DEFAULT_API_KEY}) as client,
    ):
        assert query_logs(client, "threat", nlogs="5000")  # the noise is there...
        for rule in DEFAULT_RULES:  # ...and no rule sees it
            assert query_logs(client, rule.log_type.value, rule.query, nlogs="5000") == []


def test_paging_with_nlogs_skip_and_dir(clock: Clock) -> None:
    with (
        SimulatorServer(now=clock, scenario="empty") as sim,
        httpx.Client(base_url=sim.url, headers={"X-PAN-KEY": DEFAULT_API_KEY}) as client,
    ):
        for minute in range(30):
            sim.append("traffic", receive_time=NOW - timedelta(minutes=30 - minute), app="ssl")
        seqnos = [e.findtext("seqno") for e in query_logs(client, "traffic")]
        every = [e["seqno"] for e in sim.store.entries("traffic")]
        assert seqnos == every[::-1][:20]  # default: 20, newest first
        forward = [
            e.findtext("seqno") for e in query_logs(client, "traffic", dir="forward", nlogs="7")
        ]
        assert forward == every[:7]
        skipped = query_logs(client, "traffic", nlogs="10", skip="25")
        assert [e.findtext("seqno") for e in skipped] == every[::-1][25:]
        assert len(query_logs(client, "traffic", nlogs="5000")) == 30
        window = (
            f"( receive_time geq '{(NOW - timedelta(minutes=5)).strftime('%Y/%m/%d %H:%M:%S')}' )"
        )
        assert len(query_logs(client, "traffic", window)) == 5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"nlogs": "5001"}, "nlogs must be between 1 and 5000"),
        ({"nlogs": "0"}, "nlogs must be between 1 and 5000"),
        ({"nlogs": "many"}, "nlogs must be a number"),
        ({"skip": "-1"}, "skip must not be negative"),
        ({"dir": "sideways"}, "dir must be backward or forward"),
        ({"query": "( severity eq urgent )"}, "Invalid query: 'urgent' is not a severity"),
        ({"query": "( app eq pop3"}, "Invalid query: expected ')'"),
        ({"log-type": "system"}, "unsupported log type 'system'"),
        ({"action": "cancel"}, "Illegal value"),
    ],
)
def test_bad_log_requests_get_error_responses(
    sim: SimulatorServer, client: httpx.Client, params: dict[str, str], message: str
) -> None:
    root = call(client, type="log", **{"log-type": "threat", **params})
    assert message in error_line(root)
    assert sim.api.open_jobs() == 0


def test_log_queries_are_recorded(sim: SimulatorServer, client: httpx.Client) -> None:
    query_logs(client, "corr", "( severity eq critical )")
    assert sim.log_queries() == [("corr", "( severity eq critical )")]
    assert sim.counts() == {"log": 1, "log:get": 2, "log:finish": 1}


def test_appended_entries_are_found_and_escaped(sim: SimulatorServer, client: httpx.Client) -> None:
    tricky = "a<b>&\"c\"'d' \x01 ]]> end"
    sim.append(
        "threat",
        subtype="spyware",
        severity="critical",
        action="alert",
        misc=tricky,
        **{"from": "trust", "flag-pcap": "no"},
    )
    entries = query_logs(client, "threat", DEFAULT_RULES[3].query)
    assert len(entries) == 2
    newest = entries[0]
    assert newest.findtext("misc") == tricky.replace("\x01", "\ufffd")
    assert (newest.findtext("from"), newest.findtext("flag-pcap")) == ("trust", "no")


def test_times_are_device_local(clock: Clock) -> None:
    with (
        SimulatorServer(now=clock, timezone=ZoneInfo("Asia/Tokyo")) as sim,
        httpx.Client(base_url=sim.url, headers={"X-PAN-KEY": DEFAULT_API_KEY}) as client,
    ):
        (entry,) = query_logs(client, "threat", DEFAULT_RULES[0].query)
    assert entry.findtext("receive_time") == "2026/11/25 18:51:00"  # 09:51 UTC, nine minutes ago
    assert entry.findtext("high_res_timestamp") == "2026-11-25T18:51:00.000+09:00"


# ---------------------------------------------------------------- User-ID

REGISTER = """<uid-message><type>update</type><payload><register>
  <entry ip="10.0.0.1" persistent="1"><tag><member timeout="0">malicious</member></tag></entry>
  <entry ip="192.168.10.88" persistent="0"><tag>
    <member timeout="3600">panbot-quarantine</member></tag></entry>
</register></payload></uid-message>"""
UNREGISTER = """<uid-message><type>update</type><payload><unregister>
  <entry ip="10.0.0.1"><tag><member>malicious</member></tag></entry>
</unregister></payload></uid-message>"""


def registered(client: httpx.Client, cmd: str = REGISTERED_ALL) -> dict[str, list[str]]:
    root = call(client, type="op", cmd=cmd)
    entries = root.findall("result/entry")
    assert root.findtext("result/count") == str(len(entries))
    return {e.get("ip", ""): [m.text or "" for m in e.findall("tag/member")] for e in entries}


def test_register_and_unregister_with_timeout(
    sim: SimulatorServer, client: httpx.Client, clock: Clock
) -> None:
    root = call(client, type="user-id", cmd=REGISTER)
    assert root.get("status") == "success"
    assert root.find("result/uid-response/payload/register") is not None
    assert registered(client) == {"10.0.0.1": ["malicious"], "192.168.10.88": ["panbot-quarantine"]}
    by_tag = (
        "<show><object><registered-ip><tag>"
        '<entry name="panbot-quarantine"/>'
        "</tag></registered-ip></object></show>"
    )
    assert registered(client, by_tag) == {"192.168.10.88": ["panbot-quarantine"]}

    clock.moment += timedelta(seconds=3599)
    assert "192.168.10.88" in registered(client)
    clock.moment += timedelta(seconds=1)
    assert registered(client) == {"10.0.0.1": ["malicious"]}

    root = call(client, type="user-id", cmd=UNREGISTER)
    assert root.find("result/uid-response/payload/unregister") is not None
    assert registered(client) == {}
    assert sim.counts()["user-id"] == 2


@pytest.mark.parametrize(
    ("cmd", "message"),
    [
        (REGISTER.replace("192.168.10.88", "192.168.10.888"), "not an IP address"),
        (REGISTER.replace('timeout="3600"', 'timeout="9999999"'), "outside"),
        (REGISTER.replace('timeout="3600"', 'timeout="soon"'), "timeout must be a number"),
        ("<uid-message><payload><login/></payload></uid-message>", "'login' is not supported"),
        ("<uid-message><type>update</type></uid-message>", "with a payload"),
    ],
)
def test_bad_user_id_messages_change_nothing(client: httpx.Client, cmd: str, message: str) -> None:
    assert message in error_line(call(client, type="user-id", cmd=cmd))
    assert registered(client) == {}


def test_reference_user_id_messages(reference: Path, client: httpx.Client) -> None:
    panos = reference / "panos"
    request = (panos / "pandev_userid_register_request.xml").read_text()
    response = call(client, type="user-id", cmd=request)
    expected = ET.parse(panos / "pandev_userid_register_response.xml").getroot()
    assert _shape(response) == _shape(expected)
    listing = call(client, type="op", cmd=REGISTERED_ALL)
    ref_listing = ET.parse(panos / "pandev_op_show_registered_ip_all_response.xml").getroot()
    assert _shape(listing) == _shape(ref_listing)
    assert [(e.get("ip"), e.get("persistent")) for e in listing.findall("result/entry")] == [
        (e.get("ip"), e.get("persistent")) for e in ref_listing.findall("result/entry")
    ]
    unregister = (panos / "pandev_userid_unregister_request.xml").read_text()
    assert call(client, type="user-id", cmd=unregister).get("status") == "success"
    assert registered(client) == {}


# ---------------------------------------------------------------- faults


def test_fail_and_forbid_next(sim: SimulatorServer, client: httpx.Client) -> None:
    sim.fail_next(2, status=503)
    sim.forbid_next(1)
    first = client.post("/api/", data={"type": "op", "cmd": SYSTEM_INFO})
    second = client.post("/api/", data={"type": "op", "cmd": SYSTEM_INFO})
    third = client.post("/api/", data={"type": "op", "cmd": SYSTEM_INFO})
    fourth = client.post("/api/", data={"type": "op", "cmd": SYSTEM_INFO})
    assert [r.status_code for r in (first, second, third, fourth)] == [503, 503, 403, 200]
    assert first.headers["content-type"].startswith("text/html")
    assert ET.fromstring(third.text).findtext("result/msg") == "Invalid Credential"
    assert sim.counts()["op"] == 4


def test_malformed_next_cuts_the_xml(sim: SimulatorServer, client: httpx.Client) -> None:
    sim.malformed_next(1)
    broken = client.post("/api/", data={"type": "op", "cmd": SYSTEM_INFO})
    assert broken.status_code == 200
    with pytest.raises(ET.ParseError):
        ET.fromstring(broken.text)
    assert call(client, type="op", cmd=SYSTEM_INFO).find("result/system") is not None


def test_faults_can_target_one_request_kind(sim: SimulatorServer, client: httpx.Client) -> None:
    sim.fail_next(1, status=500, only="log:get")
    job = submit(client, "threat")  # not a get: unaffected
    assert (
        client.post("/api/", data={"type": "log", "action": "get", "job-id": job}).status_code
        == 500
    )
    assert call(client, type="log", action="get", **{"job-id": job}).get("status") == "success"


def test_delay_next(sim: SimulatorServer, client: httpx.Client) -> None:
    sim.delay_next(1, seconds=0.3)
    started = time.monotonic()
    call(client, type="op", cmd=SYSTEM_INFO)
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    call(client, type="op", cmd=SYSTEM_INFO)
    assert time.monotonic() - started < 0.3


def test_stop_interrupts_a_delayed_request(clock: Clock) -> None:
    sim = SimulatorServer(now=clock, scenario="empty").start()
    sim.delay_next(1, seconds=30)
    statuses: list[int | str] = []

    def slow_request() -> None:
        try:
            with httpx.Client(base_url=sim.url, headers={"X-PAN-KEY": DEFAULT_API_KEY}) as c:
                statuses.append(
                    c.post("/api/", data={"type": "op", "cmd": SYSTEM_INFO}).status_code
                )
        except httpx.TransportError as exc:
            statuses.append(type(exc).__name__)

    worker = threading.Thread(target=slow_request)
    worker.start()
    while not sim.requests():
        time.sleep(0.01)
    started = time.monotonic()
    sim.stop()
    worker.join(timeout=10)
    assert time.monotonic() - started < 5
    assert statuses and statuses[0] in (503, "RemoteProtocolError", "ReadError")
    sim.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.url


def test_stopped_server_refuses_connections(clock: Clock) -> None:
    with SimulatorServer(now=clock, scenario="empty") as sim:
        url = sim.api_url
        assert httpx.get(url, params={"type": "op"}).status_code == 403
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, params={"type": "op"})
