"""Parsing PAN-OS XML API answers: reference samples, panbot's own entries, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from investigations.panos import commands
from investigations.panos.errors import (
    PanosApiError,
    PanosAuthError,
    PanosError,
    PanosJobError,
    PanosResponseError,
)
from investigations.panos.events import LogType
from investigations.panos.parse import (
    last_utc_offset,
    parse_job_id,
    parse_job_status,
    parse_key,
    parse_log_entries,
    parse_registered_ips,
    parse_response,
    parse_system_info,
    parse_threat_signature,
    parse_userid_response,
)
from tests.panos_samples import (
    SERIAL,
    big_threat_page,
    corr_entry,
    log_get_response,
    threat_entry,
    wildfire_entry,
)


def _panos(reference: Path, name: str) -> bytes:
    return (reference / "panos" / name).read_bytes()


# -- reference samples ---------------------------------------------------------------


def test_reference_enqueued_gives_job_id(reference: Path) -> None:
    root = parse_response(_panos(reference, "demisto_log_query_enqueued.xml"))
    assert root.get("code") == "19"
    assert parse_job_id(root) == 1


def test_reference_act_job_is_running(reference: Path) -> None:
    status = parse_job_status(parse_response(_panos(reference, "demisto_log_get_act.xml")))
    assert (status.status, status.progress, status.count, status.finished) == (
        "ACT",
        20,
        0,
        False,
    )


def test_reference_fin_empty_has_no_entries(reference: Path) -> None:
    root = parse_response(_panos(reference, "demisto_log_get_fin_empty.xml"))
    assert parse_job_status(root).finished
    assert parse_log_entries(root, LogType.THREAT) == []
    assert last_utc_offset(root) is None


def test_reference_traffic_entry_maps_every_field(reference: Path) -> None:
    root = parse_response(_panos(reference, "demisto_log_get_fin_traffic_1entry.xml"))
    status = parse_job_status(root)
    assert (status.status, status.count, status.progress) == ("FIN", 1, 100)
    [event] = parse_log_entries(root, LogType.TRAFFIC, ZoneInfo("Asia/Tokyo"))
    # high_res_timestamp says +01:00, which wins over the configured zone.
    assert event.receive_time == datetime(2022, 7, 28, 14, 9, 22, tzinfo=UTC)
    assert event.time_generated == datetime(2022, 7, 28, 14, 9, 22, tzinfo=UTC)
    assert event.key == ("1234", "traffic", 1234)
    assert event.type == "TRAFFIC"
    assert event.subtype == "end"
    assert (event.src, event.dst, event.natsrc, event.natdst) == ("1.1.1.1",) * 4
    assert (event.sport, event.dport) == (80, 80)
    assert event.policy_rule == "LAN to Internet - Default Applications"
    assert (event.from_zone, event.to_zone) == ("L3-trust", "L3-untrust")
    assert event.dstloc == "Singapore"
    assert (event.app, event.proto, event.action) == ("insufficient-data", "udp", "allow")
    assert (event.vsys, event.device_name) == ("vsys1", "Firewall")
    assert (event.sessionid, event.repeatcnt) == (422121, 1)
    assert event.category == "any"
    assert event.threat_id is None and event.file_name is None
    assert last_utc_offset(root) == timezone(timedelta(hours=1))


def test_reference_registered_ips(reference: Path) -> None:
    root = parse_response(_panos(reference, "pandev_op_show_registered_ip_all_response.xml"))
    assert parse_registered_ips(root) == {"10.0.0.1": ("malicious",), "10.0.0.2": ("malicious",)}


@pytest.mark.parametrize(
    "name", ["pandev_userid_register_response.xml", "pandev_userid_unregister_response.xml"]
)
def test_reference_userid_responses_are_success(reference: Path, name: str) -> None:
    root = parse_response(_panos(reference, name))
    parse_userid_response(root)
    assert root.find("result/uid-response/payload") is not None


def _paths(element: etree._Element) -> set[tuple[str, ...]]:
    """Return every element path with its attribute names, to compare shapes."""
    found: set[tuple[str, ...]] = set()

    def walk(node: etree._Element, prefix: tuple[str, ...]) -> None:
        here = (*prefix, f"{node.tag}{sorted(node.attrib)}")
        found.add(here)
        for child in node:
            walk(child, here)

    walk(element, ())
    return found


def test_register_command_has_the_documented_shape(reference: Path) -> None:
    documented = etree.fromstring(_panos(reference, "pandev_userid_register_request.xml"))
    ours = etree.fromstring(commands.register_cmd("10.0.0.1", "malicious", 3600))
    assert _paths(ours) == _paths(documented)
    member = ours.find("payload/register/entry/tag/member")
    assert member is not None
    assert (member.text, member.get("timeout")) == ("malicious", "3600")
    assert ours.find("payload/register/entry").get("ip") == "10.0.0.1"  # type: ignore[union-attr]


def test_unregister_command_has_the_documented_shape(reference: Path) -> None:
    documented = etree.fromstring(_panos(reference, "pandev_userid_unregister_request.xml"))
    ours = etree.fromstring(commands.unregister_cmd("10.0.0.2", "malicious"))
    assert _paths(ours) == _paths(documented)


# -- panbot's own entries ------------------------------------------------------------


def _events(entries: list[str], log_type: LogType, zone: ZoneInfo | None = None) -> list:  # type: ignore[type-arg]
    return parse_log_entries(parse_response(log_get_response(entries)), log_type, zone)


def test_vulnerability_entry() -> None:
    [event] = _events([threat_entry(5)], LogType.THREAT)
    assert event.key == (SERIAL, "threat", 5)
    assert event.threat_name == "Microsoft Internet Explorer Memory Corruption Vulnerability"
    assert event.threat_id == "37322"
    assert event.threat_category == "code-execution"
    assert (event.severity, event.action, event.subtype) == ("critical", "alert", "vulnerability")
    assert event.direction == "server-to-client"
    assert event.srcuser == "corp\\tanaka"
    assert event.dstuser is None  # <dstuser/>
    assert event.misc == "www.example.com/exploit.html"
    assert event.file_name is None  # a URL, not a file
    assert event.receive_time == datetime(2024, 3, 1, 1, 15, 30, tzinfo=UTC)  # +09:00


def test_tid_is_preferred_over_threatid_suffix() -> None:
    [event] = _events([threat_entry(1, threatid="Odd Name(111)", tid="99999")], LogType.THREAT)
    assert (event.threat_name, event.threat_id) == ("Odd Name", "99999")


@pytest.mark.parametrize(
    ("threatid", "name", "tid"),
    [
        (
            "WireLurker Command and Control Traffic(14978)",
            "WireLurker Command and Control Traffic",
            "14978",
        ),
        ("Windows Executable (EXE)(52020)", "Windows Executable (EXE)", "52020"),
        ("No id here", "No id here", None),
        ("Trailing (paren)", "Trailing (paren)", None),
        ("(9999)", None, "9999"),
    ],
)
def test_threatid_split_without_tid(threatid: str, name: str | None, tid: str | None) -> None:
    [event] = _events([threat_entry(1, threatid=threatid, tid=None)], LogType.THREAT)
    assert (event.threat_name, event.threat_id) == (name, tid)


def test_spyware_entry() -> None:
    entry = threat_entry(
        2,
        subtype="spyware",
        threatid="WireLurker Command and Control Traffic(14978)",
        tid="14978",
        direction="client-to-server",
        misc="c2.example.org/beacon",
    )
    [event] = _events([entry], LogType.THREAT)
    assert (event.subtype, event.threat_id, event.direction) == (
        "spyware",
        "14978",
        "client-to-server",
    )
    assert event.file_name is None


def test_virus_entry_has_file_and_mail_fields() -> None:
    extra = (
        "<filedigest>44d88612fea8a8f36de82e1278abb02f44d88612fea8a8f36de82e1278abb02f</filedigest>"
        "<filetype>zip</filetype><sender>attacker@example.com</sender>"
        "<subject>Your invoice &amp; receipt</subject><recipient>tanaka@example.co.jp</recipient>"
    )
    entry = threat_entry(
        3,
        subtype="virus",
        app="pop3",
        threatid="Virus/Win32.WGeneric.abc(234567)",
        tid="234567",
        misc="invoice.zip",
        extra=extra,
        filler=False,
    )
    [event] = _events([entry], LogType.THREAT)
    assert event.file_name == "invoice.zip"
    assert event.file_digest is not None and event.file_digest.startswith("44d88612")
    assert (event.filetype, event.sender, event.recipient) == (
        "zip",
        "attacker@example.com",
        "tanaka@example.co.jp",
    )
    assert event.subject == "Your invoice & receipt"


@pytest.mark.parametrize("in_verdict_element", [False, True])
def test_wildfire_entry(in_verdict_element: bool) -> None:
    [event] = _events([wildfire_entry(9, verdict=in_verdict_element)], LogType.WILDFIRE)
    assert event.log_type is LogType.WILDFIRE
    assert event.verdict == "malicious"
    assert event.file_name == "invoice.js"
    assert event.file_digest == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert (event.filetype, event.report_id, event.cloud) == (
        "script",
        "37112233",
        "wildfire.paloaltonetworks.com",
    )
    assert event.threat_id == "52020"
    # No high_res_timestamp and no zone: read as UTC.
    assert event.receive_time == datetime(2024, 3, 1, 11, 0, 5, tzinfo=UTC)


def test_corr_entry_uses_logid_for_identity() -> None:
    [event] = _events([corr_entry(6543210987654321)], LogType.CORR)
    assert event.key == (SERIAL, "corr", 6543210987654321)
    assert (event.object_name, event.object_id) == ("beacon-detection", "6005")
    assert event.match_oid == "73"
    assert event.evidence == "Host visited known malware URL (100 times)."
    assert event.evidence_count == 100
    assert event.src == "192.168.1.30"


def test_integers_are_lenient() -> None:
    entry = threat_entry(4, filler=False).replace("<sport>51234</sport>", "<sport>n/a</sport>")
    entry = entry.replace("<dport>80</dport>", "<dport></dport>")
    [event] = _events([entry], LogType.THREAT)
    assert (event.sport, event.dport, event.seqno) == (None, None, 4)


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (f"<serial>{SERIAL}</serial>", "", "no serial"),
        ("<receive_time>2024/03/01 10:15:30</receive_time>", "", None),
        (
            "<receive_time>2024/03/01 10:15:30</receive_time>",
            "<receive_time>yesterday</receive_time>",
            "not a PAN-OS time",
        ),
    ],
)
def test_unusable_entry_is_refused(old: str, new: str, reason: str | None) -> None:
    entry = threat_entry(4, filler=False).replace(old, new)
    if reason is None:  # without receive_time, time_generated stands in
        [event] = _events([entry], LogType.THREAT)
        assert event.receive_time == datetime(2024, 3, 1, 1, 15, 30, tzinfo=UTC)
        return
    with pytest.raises(PanosResponseError, match=reason):
        _events([entry], LogType.THREAT)


def test_missing_seqno_and_logid_is_refused() -> None:
    entry = threat_entry(4, filler=False).replace("<seqno>4</seqno>", "")
    entry = entry.replace('logid="7000000000000000004"', "")
    with pytest.raises(PanosResponseError, match="no seqno or logid"):
        _events([entry], LogType.THREAT)


def test_large_page_parses_every_entry() -> None:
    root = parse_response(big_threat_page(1500))
    events = parse_log_entries(root, LogType.THREAT)
    assert len(events) == 1500
    assert len({e.key for e in events}) == 1500
    assert events[-1].receive_time == datetime(2024, 3, 1, 1, 24, 59, tzinfo=UTC)


def test_fin_answer_without_logs_is_refused() -> None:
    root = parse_response(
        b'<response status="success"><result><job><status>FIN</status></job></result></response>'
    )
    with pytest.raises(PanosResponseError, match="result/log/logs"):
        parse_log_entries(root, LogType.THREAT)


# -- times ---------------------------------------------------------------------------


def test_configured_zone_when_no_high_res_timestamp() -> None:
    entry = threat_entry(1, high_res_timestamp=None, filler=False)
    [event] = _events([entry], LogType.THREAT, ZoneInfo("Asia/Tokyo"))
    assert event.receive_time == datetime(2024, 3, 1, 1, 15, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("local", "utc_hour"),
    [("2024/01/15 12:00:00", 12), ("2024/07/15 12:00:00", 11)],  # GMT, then BST
)
def test_configured_zone_follows_dst(local: str, utc_hour: int) -> None:
    entry = threat_entry(1, receive_time=local, high_res_timestamp=None, filler=False)
    [event] = _events([entry], LogType.THREAT, ZoneInfo("Europe/London"))
    assert event.receive_time.hour == utc_hour
    assert event.receive_time.tzinfo is UTC


def test_ambiguous_hour_reads_first_occurrence() -> None:
    # 01:30 happens twice in London on 2024-10-27: first at BST (00:30 UTC).
    entry = threat_entry(
        1, receive_time="2024/10/27 01:30:00", high_res_timestamp=None, filler=False
    )
    [event] = _events([entry], LogType.THREAT, ZoneInfo("Europe/London"))
    assert event.receive_time == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def test_high_res_offset_beats_configured_zone() -> None:
    entry = threat_entry(1, high_res_timestamp="2024-03-01T10:15:29.512-05:00", filler=False)
    [event] = _events([entry], LogType.THREAT, ZoneInfo("Asia/Tokyo"))
    assert event.receive_time == datetime(2024, 3, 1, 15, 15, 30, tzinfo=UTC)


def test_entries_with_different_offsets_in_one_page() -> None:
    entries = [
        threat_entry(1, high_res_timestamp="2024-03-01T10:15:29.000+01:00", filler=False),
        threat_entry(2, high_res_timestamp="2024-03-01T10:15:29.000+02:00", filler=False),
        threat_entry(3, high_res_timestamp="2024-03-01T10:15:29.000Z", filler=False),
    ]
    hours = [e.receive_time.hour for e in _events(entries, LogType.THREAT)]
    assert hours == [9, 8, 10]


# -- refusals and errors -------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"<response status = 'error' code = '403'><result><msg>Invalid credentials.</msg>"
        b"</result></response>",
        b'<response status="error" code="403"><result><msg>Invalid Credential</msg></result>'
        b"</response>",
        b'<response status="error"><msg><line>Invalid Credential</line></msg></response>',
    ],
)
def test_credential_errors(body: bytes) -> None:
    with pytest.raises(PanosAuthError, match=r"(?i)invalid credential"):
        parse_response(body)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            b'<response status="error" code="17"><msg><line><![CDATA[ show -> foo is '
            b"unexpected]]></line></msg></response>",
            17,
            "show -> foo is unexpected",
        ),
        (
            b'<response status="error" code="7"><result><msg>Object not present</msg>'
            b"</result></response>",
            7,
            "Object not present",
        ),
        (
            b'<response status="error"><msg><line><line>Query error:</line><line>bad '
            b"filter</line></line></msg></response>",
            None,
            "Query error: bad filter",
        ),
        (b'<response status="error"/>', None, "no message given"),
        (
            b'<response status="error"><msg><line><uid-response><version>2.0</version>'
            b'<payload><register><entry ip="10.0.0.1" message="tag malicious already exists,'
            b' ignore"/></register></payload></uid-response></line></msg></response>',
            None,
            "2.0 tag malicious already exists, ignore",
        ),
    ],
)
def test_error_bodies_carry_code_and_message(body: bytes, code: int | None, message: str) -> None:
    with pytest.raises(PanosApiError) as caught:
        parse_response(body)
    assert (caught.value.code, caught.value.message) == (code, message)
    assert not isinstance(caught.value, PanosAuthError)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE response [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<response status="success"><result><key>&d;</key></result></response>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE response [<!ENTITY x SYSTEM "file:///etc/hostname">]>
<response status="success"><result><key>&x;</key></result></response>"""


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<html><body>502 Bad Gateway</body></html>", "root element <html>"),
        (b"Internal Server Error", "not well-formed"),
        (b'<response status="success"><result><job>1', "not well-formed"),
        (BILLION_LAUGHS, "DTD"),
        (EXTERNAL_ENTITY, "DTD"),
        (b'<response status="success">&undeclared;</response>', "not well-formed"),
        (b'<response status="maybe"/>', "unexpected response status"),
    ],
)
def test_unusable_answers_are_refused(body: bytes, match: str) -> None:
    with pytest.raises(PanosResponseError, match=match):
        parse_response(body)


def test_external_dtd_file_is_never_read(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text("this is not a DTD at all")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE response SYSTEM "{dtd}">'
        '<response status="success"><result/></response>'
    ).encode()
    # Had the file been read, libxml2 would complain about its content instead.
    with pytest.raises(PanosResponseError, match="carries a DTD; refused"):
        parse_response(body)


def test_error_message_is_bounded() -> None:
    body = b'<response status="error"><msg>' + b"x" * 5000 + b"</msg></response>"
    with pytest.raises(PanosApiError) as caught:
        parse_response(body)
    assert len(caught.value.message) <= 500


def test_missing_job_id_is_refused() -> None:
    root = parse_response(
        b'<response status="success" code="19"><result><msg>'
        b"<line>query job enqueued</line></msg></result></response>"
    )
    with pytest.raises(PanosResponseError, match="no job id"):
        parse_job_id(root)


def test_failed_job_raises_job_error() -> None:
    root = parse_response(
        b'<response status="success"><result><job><id>4</id><status>FIN</status>'
        b"<result>FAIL</result><details><line>query timed out</line></details></job>"
        b"</result></response>"
    )
    with pytest.raises(PanosJobError, match="query timed out"):
        parse_job_status(root)


def test_every_error_is_a_panos_error() -> None:
    for cls in (PanosApiError, PanosAuthError, PanosJobError, PanosResponseError):
        assert issubclass(cls, PanosError)


# -- other answers -------------------------------------------------------------------


def test_keygen_answer() -> None:
    root = parse_response(
        b'<response status="success"><result><key>LUFRPT1abc==</key></result></response>'
    )
    assert parse_key(root) == "LUFRPT1abc=="
    with pytest.raises(PanosResponseError, match="no key"):
        parse_key(parse_response(b'<response status="success"><result/></response>'))


def test_system_info() -> None:
    root = parse_response(
        b'<response status="success"><result><system><hostname>PA-220-tokyo</hostname>'
        b"<ip-address>192.0.2.1</ip-address><model>PA-220</model>"
        b"<serial>007051000123456</serial><sw-version>10.2.4</sw-version>"
        b"</system></result></response>"
    )
    info = parse_system_info(root)
    assert (info.hostname, info.model, info.serial, info.sw_version) == (
        "PA-220-tokyo",
        "PA-220",
        "007051000123456",
        "10.2.4",
    )


def test_threat_signature() -> None:
    root = parse_response(
        b'<response status="success"><result><entry name="37322">'
        b"<threatname>Microsoft Internet Explorer Memory Corruption Vulnerability</threatname>"
        b"<vendor><member>MS15-009</member></vendor>"
        b"<cve><member>CVE-2015-0036</member><member>CVE-2015-0036</member>"
        b"<member>CVE-2015-0037</member></cve><category>code-execution</category>"
        b"<severity>critical</severity><description>\n  A memory corruption\n  vulnerability"
        b"</description></entry></result></response>"
    )
    sig = parse_threat_signature(root, 37322)
    assert sig is not None
    assert sig.name == "Microsoft Internet Explorer Memory Corruption Vulnerability"
    assert sig.cves == ("CVE-2015-0036", "CVE-2015-0037")
    assert (sig.severity, sig.description) == ("critical", "A memory corruption vulnerability")
    empty = parse_response(b'<response status="success"><result/></response>')
    assert parse_threat_signature(empty, 1) is None


def test_registered_ips_of_old_panos_are_refused() -> None:
    root = parse_response(
        b'<response status="success"><result><msg><line><outfile>'
        b"/tmp/x</outfile></line></msg></result></response>"
    )
    with pytest.raises(PanosResponseError, match=r"PAN-OS < 8\.0"):
        parse_registered_ips(root)
