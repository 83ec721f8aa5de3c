"""PanosClient over real HTTP on 127.0.0.1 (edge answers through httpx.MockTransport)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from lxml import etree

from investigations.panos.client import PanosClient
from investigations.panos.errors import (
    PanosApiError,
    PanosAuthError,
    PanosConnectionError,
    PanosJobError,
    PanosResponseError,
    PanosTimeout,
)
from investigations.panos.events import LogType
from investigations.panos.models import LogPage
from tests.panos_fakefw import KEY, FakeFirewall, serve
from tests.panos_samples import SERIAL, threat_entry

QUERY = "( severity eq critical ) and ( receive_time geq '2024/03/01 10:00:00' )"


@pytest.fixture
def firewall() -> FakeFirewall:
    return FakeFirewall()


@pytest.fixture
def client(firewall: FakeFirewall) -> Iterator[PanosClient]:
    with (
        serve(firewall) as url,
        PanosClient(url, api_key=KEY, job_poll_interval=0.01, job_deadline=2.0) as panos,
    ):
        yield panos


def _entries(first: int, n: int) -> list[str]:
    return [threat_entry(first + i, filler=False) for i in range(n)]


# -- log jobs ------------------------------------------------------------------------


def test_job_lifecycle_act_then_fin(firewall: FakeFirewall, client: PanosClient) -> None:
    firewall.pages = [_entries(1, 3)]
    firewall.act_polls = 2
    events = client.query_logs(LogType.THREAT, QUERY, page_size=10)
    assert [e.seqno for e in events] == [1, 2, 3]
    forms = [s.form for s in firewall.seen]
    assert forms[0] == {
        "type": "log",
        "log-type": "threat",
        "query": QUERY,
        "nlogs": "10",
        "skip": "0",
        "dir": "forward",
    }
    assert forms[1:] == [{"type": "log", "action": "get", "job-id": "1"}] * 3
    assert firewall.forms(action="finish") == []  # a finished job needs no finish


def test_key_travels_only_in_the_header(firewall: FakeFirewall, client: PanosClient) -> None:
    firewall.pages = [_entries(1, 1)]
    client.query_logs(LogType.THREAT, QUERY)
    assert firewall.seen
    for seen in firewall.seen:
        assert seen.path == "/api/"  # nothing in the URL: no key, no query
        assert seen.headers["x-pan-key"] == KEY
        assert KEY.encode() not in seen.body
        assert seen.form.get("key") is None


def test_pages_follow_while_full(firewall: FakeFirewall, client: PanosClient) -> None:
    firewall.pages = [_entries(1, 2), _entries(3, 2), _entries(5, 1)]
    pages = list(client.iter_log_pages(LogType.THREAT, QUERY, page_size=2))
    assert [[e.seqno for e in page] for page in pages] == [[1, 2], [3, 4], [5]]
    submits = firewall.forms(type="log", query=QUERY)
    assert [f["skip"] for f in submits] == ["0", "2", "4"]
    assert {f["nlogs"] for f in submits} == {"2"}


def test_max_pages_stops_early(firewall: FakeFirewall, client: PanosClient) -> None:
    firewall.pages = [_entries(1, 2), _entries(3, 2), _entries(5, 2)]
    pages = list(client.iter_log_pages(LogType.THREAT, QUERY, page_size=2, max_pages=2))
    assert len(pages) == 2
    assert len(firewall.forms(type="log", query=QUERY)) == 2


def test_empty_first_page_ends(firewall: FakeFirewall, client: PanosClient) -> None:
    assert list(client.iter_log_pages(LogType.CORR, "( severity eq critical )")) == [[]]
    assert firewall.forms(type="log")[0]["log-type"] == "corr"


def test_deadline_finishes_the_job(firewall: FakeFirewall) -> None:
    firewall.act_polls = 10**6
    with (
        serve(firewall) as url,
        PanosClient(url, api_key=KEY, job_deadline=0.1, job_poll_interval=0.02) as panos,
        pytest.raises(PanosTimeout, match=r"did not finish within 0\.1 s"),
    ):
        panos.query_logs(LogType.THREAT, QUERY)
    assert firewall.forms(type="log", action="finish") == [
        {"type": "log", "action": "finish", "job-id": "1"}
    ]


def test_abandoned_generator_leaves_no_job(firewall: FakeFirewall, client: PanosClient) -> None:
    firewall.pages = [_entries(1, 2), _entries(3, 2)]
    pages = client.iter_log_pages(LogType.THREAT, QUERY, page_size=2)
    assert len(next(pages)) == 2
    pages.close()  # between pages no job is open
    assert len(firewall.forms(type="log", query=QUERY)) == 1
    assert firewall.forms(action="finish") == []


def test_unknown_job_is_a_job_error() -> None:
    answers = iter(
        [
            b'<response status="success" code="19"><result><job>77</job></result></response>',
            b'<response status="error"><msg><line>Job 77 not found</line></msg></response>',
            b'<response status="success"><result/></response>',
        ]
    )
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(dict(httpx.QueryParams(request.content.decode())))
        return httpx.Response(200, content=next(answers))

    with (
        PanosClient(
            "https://fw.example", api_key=KEY, transport=httpx.MockTransport(handler)
        ) as panos,
        pytest.raises(PanosJobError, match="log job 77: Job 77 not found"),
    ):
        panos.query_logs(LogType.THREAT, QUERY)
    assert seen[-1] == {"type": "log", "action": "finish", "job-id": "77"}


def test_query_errors_are_api_errors(firewall: FakeFirewall) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=b'<response status="error" code="17"><msg><line>Invalid filter'
            b"</line></msg></response>",
        )

    with (
        PanosClient(
            "https://fw.example", api_key=KEY, transport=httpx.MockTransport(handler)
        ) as panos,
        pytest.raises(PanosApiError) as caught,
    ):
        panos.query_logs(LogType.THREAT, "( nonsense")
    assert (caught.value.code, caught.value.message) == (17, "Invalid filter")
    assert not isinstance(caught.value, PanosJobError)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": 5001}, "page_size"),
        ({"direction": "sideways"}, "direction"),
        ({"max_pages": 0}, "max_pages"),
    ],
)
def test_bad_paging_arguments(client: PanosClient, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        client.iter_log_pages(LogType.THREAT, QUERY, **kwargs)  # type: ignore[arg-type]


# -- keys ----------------------------------------------------------------------------


def test_keygen_with_credentials(firewall: FakeFirewall) -> None:
    firewall.op_answers["<system><info>"] = (
        b'<response status="success"><result><system><hostname>fw1</hostname>'
        b"<serial>007051000123456</serial><model>PA-220</model><sw-version>10.2.4</sw-version>"
        b"</system></result></response>"
    )
    with (
        serve(firewall) as url,
        PanosClient(url, username="admin", password="s3cret-pass") as panos,
    ):
        assert firewall.seen == []  # lazily
        assert panos.system_info().hostname == "fw1"
        assert panos.system_info().sw_version == "10.2.4"
        assert "s3cret-pass" not in repr(panos) and KEY not in repr(panos)
    keygen, first, second = firewall.seen
    assert keygen.form == {"type": "keygen", "user": "admin", "password": "s3cret-pass"}
    assert keygen.path == "/api/"
    assert "x-pan-key" not in keygen.headers
    assert first.headers["x-pan-key"] == KEY and second.headers["x-pan-key"] == KEY
    assert first.form == {"type": "op", "cmd": "<show><system><info></info></system></show>"}


def test_generated_key_is_renewed_once_when_refused(firewall: FakeFirewall) -> None:
    firewall.op_answers["<system><info>"] = (
        b'<response status="success"><result><system><hostname>fw1</hostname></system>'
        b"</result></response>"
    )
    with (
        serve(firewall) as url,
        PanosClient(url, username="admin", password="s3cret-pass") as panos,
    ):
        panos.system_info()
        firewall.keys = {"revoked"}  # the key expired; keygen still hands out KEY
        with pytest.raises(PanosAuthError):
            panos.system_info()
        assert [s.form["type"] for s in firewall.seen] == ["keygen", "op", "op", "keygen", "op"]
        firewall.keys = {KEY}
        assert panos.system_info().hostname == "fw1"


def test_wrong_password(firewall: FakeFirewall) -> None:
    with (
        serve(firewall) as url,
        PanosClient(url, username="admin", password="wrong") as panos,
        pytest.raises(PanosAuthError, match="Invalid Credential") as caught,
    ):
        panos.system_info()
    assert "wrong" not in str(caught.value)


def test_refused_key_names_no_key(firewall: FakeFirewall) -> None:
    secret = "LUFRPT1-this-is-not-accepted"
    with serve(firewall) as url, PanosClient(url, api_key=secret) as panos:
        with pytest.raises(PanosAuthError, match="HTTP 403: Invalid Credential") as caught:
            panos.system_info()
        assert secret not in repr(panos)
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"username": "admin"}, {"password": "x"}, {"api_key": ""}],
)
def test_credentials_are_required(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="API key"):
        PanosClient("https://fw.example", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url", ["ftp://fw.example", "https://admin:pw@fw.example", "https://fw.example/?key=x"]
)
def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="firewall URL"):
        PanosClient(url, api_key=KEY)


# -- IP tags -------------------------------------------------------------------------


def test_register_sends_a_uid_message(firewall: FakeFirewall, client: PanosClient) -> None:
    client.register_ip_tag("192.168.1.10", "panbot-quarantine", 3600)
    [form] = firewall.forms(type="user-id")
    message = etree.fromstring(form["cmd"])
    entry = message.find("payload/register/entry")
    assert entry is not None and entry.get("ip") == "192.168.1.10"
    assert entry.get("persistent") == "1"
    member = entry.find("tag/member")
    assert member is not None
    assert (member.text, member.get("timeout")) == ("panbot-quarantine", "3600")
    assert message.findtext("type") == "update"


def test_unregister_and_ipv6_canonical_form(firewall: FakeFirewall, client: PanosClient) -> None:
    client.unregister_ip_tag("2001:DB8:0:0::1", "panbot-quarantine")
    [form] = firewall.forms(type="user-id")
    entry = etree.fromstring(form["cmd"]).find("payload/unregister/entry")
    assert entry is not None and entry.get("ip") == "2001:db8::1"
    assert entry.findtext("tag/member") == "panbot-quarantine"


@pytest.mark.parametrize(
    ("ip", "tag"),
    [
        ("10.0.0.1/24", "quarantine"),
        ('10.0.0.1"/><entry ip="10.0.0.2', "quarantine"),
        ("not-an-ip", "quarantine"),
        ("10.0.0.1", "bad tag"),
        ("10.0.0.1", "</member><member>x"),
        ("10.0.0.1", ""),
        ("10.0.0.1", "-leading-dash"),
        ("10.0.0.1", "x" * 128),
    ],
)
def test_invalid_ip_or_tag_never_reaches_the_firewall(
    firewall: FakeFirewall, client: PanosClient, ip: str, tag: str
) -> None:
    with pytest.raises(ValueError, match=r"not an IP address|not a valid tag"):
        client.register_ip_tag(ip, tag, 0)
    with pytest.raises(ValueError, match=r"not an IP address|not a valid tag"):
        client.unregister_ip_tag(ip, tag)
    assert firewall.seen == []


@pytest.mark.parametrize("timeout", [-1, 30 * 24 * 3600 + 1, True, 1.5])
def test_invalid_timeout_never_reaches_the_firewall(
    firewall: FakeFirewall, client: PanosClient, timeout: int
) -> None:
    with pytest.raises(ValueError, match="timeout"):
        client.register_ip_tag("10.0.0.1", "quarantine", timeout)
    assert firewall.seen == []


@pytest.mark.parametrize(
    "message",
    ["tag panbot-quarantine already exists, ignore", "tag does not exist, ignore unreg"],
)
def test_repeated_updates_are_not_errors(
    firewall: FakeFirewall, client: PanosClient, message: str
) -> None:
    firewall.userid_answer = (
        '<response status="error"><msg><line><uid-response><version>2.0</version><payload>'
        f'<register><entry ip="10.0.0.1" message="{message}"/></register></payload>'
        "</uid-response></line></msg></response>"
    ).encode()
    client.register_ip_tag("10.0.0.1", "panbot-quarantine", 0)
    assert len(firewall.forms(type="user-id")) == 1


def test_other_uid_errors_raise(firewall: FakeFirewall, client: PanosClient) -> None:
    firewall.userid_answer = (
        b'<response status="error"><msg><line>vsys3 does not exist</line></msg></response>'
    )
    with pytest.raises(PanosApiError, match="vsys3 does not exist"):
        client.register_ip_tag("10.0.0.1", "panbot-quarantine", 0)


def test_registered_ips_of_a_tag(firewall: FakeFirewall, client: PanosClient) -> None:
    firewall.op_answers["<registered-ip>"] = (
        b'<response status="success"><result><entry ip="10.0.0.1" from_agent="0" '
        b'persistent="1"><tag><member>panbot-quarantine</member></tag></entry>'
        b"<count>1</count></result></response>"
    )
    assert client.registered_ips("panbot-quarantine") == {"10.0.0.1": ("panbot-quarantine",)}
    [form] = firewall.forms(type="op")
    show = etree.fromstring(form["cmd"])
    assert show.find("object/registered-ip/tag/entry").get("name") == "panbot-quarantine"  # type: ignore[union-attr]
    assert show.findtext("object/registered-ip/start-point") == "1"
    with pytest.raises(ValueError):
        client.registered_ips("a'b")
    assert len(firewall.forms(type="op")) == 1


def test_registered_ips_pages_until_short(firewall: FakeFirewall) -> None:
    def page(start: int, n: int) -> bytes:
        entries = "".join(
            f'<entry ip="10.1.{(start + i) // 256}.{(start + i) % 256}"><tag><member>t</member>'
            "</tag></entry>"
            for i in range(n)
        )
        return f'<response status="success"><result>{entries}</result></response>'.encode()

    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cmd = dict(httpx.QueryParams(request.content.decode()))["cmd"]
        start = int(etree.fromstring(cmd).findtext("object/registered-ip/start-point") or 0)
        calls.append(str(start))
        return httpx.Response(200, content=page(start, 500 if start < 1000 else 20))

    with PanosClient(
        "https://fw.example", api_key=KEY, transport=httpx.MockTransport(handler)
    ) as panos:
        found = panos.registered_ips()
    assert calls == ["1", "501", "1001"]
    assert len(found) == 1020


# -- threat signatures ---------------------------------------------------------------


def test_threat_signature(firewall: FakeFirewall, client: PanosClient) -> None:
    firewall.op_answers["<threat><id>37322</id>"] = (
        b'<response status="success"><result><entry name="37322"><threatname>IE Memory '
        b"Corruption</threatname><cve><member>CVE-2015-0036</member></cve><severity>critical"
        b"</severity><description>desc</description></entry></result></response>"
    )
    sig = client.threat_signature(37322)
    assert sig is not None
    assert (sig.id, sig.name, sig.cves, sig.severity) == (
        37322,
        "IE Memory Corruption",
        ("CVE-2015-0036",),
        "critical",
    )
    for bad in (0, -5, True, "37322</id><x>"):
        with pytest.raises(ValueError):
            client.threat_signature(bad)  # type: ignore[arg-type]
    assert len(firewall.forms(type="op")) == 1


# -- time ----------------------------------------------------------------------------


def test_format_time_prefers_the_configured_zone(firewall: FakeFirewall) -> None:
    instant = datetime(2024, 7, 1, 0, 0, 5, tzinfo=UTC)
    with serve(firewall) as url:
        with PanosClient(url, api_key=KEY, zone=ZoneInfo("America/New_York")) as panos:
            assert panos.format_time(instant) == "2024/06/30 20:00:05"
        with PanosClient(url, api_key=KEY, job_poll_interval=0.01) as panos:
            assert panos.format_time(instant) == "2024/07/01 00:00:05"  # UTC until learned
            firewall.pages = [_entries(1, 1)]  # high_res_timestamp ...+09:00
            panos.query_logs(LogType.THREAT, QUERY)
            assert panos.format_time(instant) == "2024/07/01 09:00:05"
            with pytest.raises(ValueError, match="timezone-aware"):
                panos.format_time(datetime(2024, 7, 1))


def test_format_time_with_fixed_offset() -> None:
    from investigations.panos.timeparse import format_panos_time

    instant = datetime(2024, 1, 1, 23, 30, tzinfo=UTC)
    assert format_panos_time(instant, timedelta(hours=9)) == "2024/01/02 08:30:00"
    assert format_panos_time(instant, timezone(timedelta(hours=-5))) == "2024/01/01 18:30:00"
    assert format_panos_time(instant, None) == "2024/01/01 23:30:00"


# -- transport failures --------------------------------------------------------------


def test_refused_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        PanosClient(f"http://127.0.0.1:{port}", api_key=KEY) as panos,
        pytest.raises(
            PanosConnectionError, match=r"cannot reach the firewall 127\.0\.0\.1"
        ) as caught,
    ):
        panos.system_info()
    assert KEY not in str(caught.value)


def test_silent_server_times_out() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]))
        thread.start()
        try:
            with (
                PanosClient(f"http://127.0.0.1:{port}", api_key=KEY, timeout=0.2) as panos,
                pytest.raises(PanosTimeout, match="did not answer in time"),
            ):
                panos.system_info()
        finally:
            thread.join()
            for conn in accepted:
                conn.close()


def _mock(status: int, body: bytes, headers: dict[str, str] | None = None) -> PanosClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers)

    return PanosClient(
        "https://fw.example",
        api_key=KEY,
        transport=httpx.MockTransport(handler),
        max_response_bytes=1024,
    )


@pytest.mark.parametrize(
    ("status", "body", "error", "match"),
    [
        (500, b"<html><body>Internal error</body></html>", PanosResponseError, "HTTP 500"),
        (502, b"", PanosResponseError, "HTTP 502"),
        (302, b"", PanosResponseError, "HTTP 302"),
        (403, b"Forbidden", PanosAuthError, "HTTP 403: no readable message"),
        (
            403,
            b"<response status = 'error' code = '403'><result><msg>Invalid credentials.</msg>"
            b"</result></response>",
            PanosAuthError,
            "Invalid credentials.",
        ),
        (
            400,
            b'<response status="error" code="18"><msg><line>Malformed command</line></msg>'
            b"</response>",
            PanosApiError,
            "Malformed command",
        ),
        (
            200,
            b"<response status='success'><result>" + b"x" * 2000 + b"</result></response>",
            PanosResponseError,
            "exceeds",
        ),
        (200, b"not xml", PanosResponseError, "not well-formed"),
    ],
)
def test_edge_answers(status: int, body: bytes, error: type[Exception], match: str) -> None:
    with _mock(status, body) as panos, pytest.raises(error, match=match) as caught:
        panos.system_info()
    assert KEY not in str(caught.value)


def test_declared_oversize_is_refused_before_reading() -> None:
    with (
        _mock(200, b"<response/>", {"content-length": "999999999"}) as panos,
        pytest.raises(PanosResponseError, match="exceeds the 0 MiB limit"),
    ):
        panos.system_info()


def test_repr_hides_the_key() -> None:
    with PanosClient("https://fw.example:8443", api_key=KEY) as panos:
        assert KEY not in repr(panos)
        assert repr(panos) == "PanosClient(url='https://fw.example:8443/api/', auth='api-key')"


# -- pages streamed over HTTP (investigations/panos/parse.py LogPageParser) -------------


def test_paging_counts_skipped_entries(firewall: FakeFirewall, client: PanosClient) -> None:
    firewall.pages = [_entries(1, 2), _entries(3, 2), _entries(5, 1)]
    known = {(SERIAL, 1), (SERIAL, 2), (SERIAL, 4)}
    pages = list(client.iter_log_pages(LogType.THREAT, QUERY, page_size=2, known=known))
    assert all(isinstance(page, LogPage) for page in pages)
    assert [[e.seqno for e in page] for page in pages] == [[], [3], [5]]
    assert [list(page.skipped) for page in pages] == [[(SERIAL, 1), (SERIAL, 2)], [(SERIAL, 4)], []]
    assert [f["skip"] for f in firewall.forms(type="log", query=QUERY)] == ["0", "2", "4"]


def test_a_malformed_page_over_http_is_refused_and_the_job_finished(
    firewall: FakeFirewall, client: PanosClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    firewall.pages = [_entries(1, 50)]
    answer = firewall.answer

    def truncated(headers: dict[str, str], form: dict[str, str]) -> tuple[int, bytes]:
        status, body = answer(headers, form)
        if form.get("action") == "get" and b"<entry" in body:
            return status, body[: len(body) * 2 // 3] + b"</response>"
        return status, body

    monkeypatch.setattr(firewall, "answer", truncated)
    with pytest.raises(PanosResponseError, match="not well-formed"):
        client.query_logs(LogType.THREAT, QUERY)
    assert firewall.forms(action="finish") == [{"type": "log", "action": "finish", "job-id": "1"}]


def test_a_big_streamed_page_is_still_bounded(firewall: FakeFirewall) -> None:
    firewall.pages = [_entries(1, 200)]
    with (
        serve(firewall) as url,
        PanosClient(url, api_key=KEY, job_poll_interval=0.01, max_response_bytes=20_000) as panos,
        pytest.raises(PanosResponseError, match="exceeds"),
    ):
        panos.query_logs(LogType.THREAT, QUERY)
