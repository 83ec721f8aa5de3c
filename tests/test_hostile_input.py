"""Hostile input: what users, firewalls, intel services and strangers send cannot steer panbot.

Property tests over every path by which outside text reaches a firewall query, a
Slack message or a log line; XML bombs and oversized answers; forged, stale and
replayed Slack requests.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import PanBot
from bot.fakeslack.payloads import block_actions_body, slash_command_body
from bot.fakeslack.signing import signed_request_headers
from bot.logs import JsonFormatter
from bot.slack.parse import CommandError, Subject, parse_command, parse_indicator
from bot.views.escape import escape, truncate
from investigations.enrich.errors import EnrichmentError
from investigations.enrich.wildfire import WildFire
from investigations.followup import host_query
from investigations.panos import commands
from investigations.panos.client import PanosClient
from investigations.panos.errors import PanosResponseError
from investigations.panos.events import LogType
from investigations.panos.timeparse import format_panos_time
from storage import Database
from storage.models import AlertRow, AuditRow, OutboxRow
from tests.harness import CHANNEL, SIGNING_SECRET, SlackRequests, World, make_bot, world

PANOS_TIME = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
# What each accepted indicator may consist of: nothing else reaches a query or a URL.
GRAMMAR = {
    Subject.SHA256: re.compile(r"[0-9a-f]{64}"),
    Subject.MD5: re.compile(r"[0-9a-f]{32}"),
    Subject.CVE: re.compile(r"CVE-[0-9]{4}-[0-9]{4,7}"),
    Subject.ALERT: re.compile(r"[0-9]{1,12}"),
    Subject.THREAT: re.compile(r"[0-9]{1,12}"),
    Subject.IP: re.compile(r"[0-9a-f:.]{2,45}"),
}
HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "<https://evil.example/|click me>",
    "<@U0ALICE>",
    "&lt;!channel&gt;",
    "a\nb\r\nc",
    "' or 1=1 --",
    ") or ( addr.src in 0.0.0.0/0",
    "fe80::1%eth0",
    "fe80::1%x ) or ( severity eq low",
    "\u2028\u2029\x85\x00",
    "CVE-\u0662\u0660\u0662\u0661-\u0661\u0662\u0663\u0664",
]
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
words = st.sampled_from(["investigate", "host", "status", "help", "INVESTIGATE", "x"])
texts = st.one_of(
    st.text(max_size=220),
    st.sampled_from(HOSTILE),
    st.builds(
        lambda w, a: f"{w} {a}", words, st.one_of(st.text(max_size=80), st.sampled_from(HOSTILE))
    ),
)


def assert_in_grammar(kind: Subject, value: str) -> None:
    assert GRAMMAR[kind].fullmatch(value), (kind, value)
    if kind == Subject.IP:
        assert str(ipaddress.ip_address(value)) == value


# -- /pan ----------------------------------------------------------------------------------


@QUICK
@given(texts)
@example("investigate fe80::1%)or(1")
@example("host fe80::1%<!channel>")
@example("investigate CVE-\u0662\u0660\u0662\u0661-\u0661\u0662\u0663\u0664")
@example("investigate \uff11\uff12\uff13")
def test_pan_parser_accepts_only_grammatical_indicators(text: str) -> None:
    try:
        command = parse_command(text)
    except CommandError as exc:
        # The refusal echoes at most a short, single-line excerpt.
        assert all("\n" not in v and len(v) <= 40 for v in exc.params.values())
        return
    assert command.name in {"help", "status", "host", "investigate"}
    if command.indicator is not None:
        assert_in_grammar(command.indicator.kind, command.indicator.value)


@QUICK
@given(st.one_of(st.text(max_size=80), st.sampled_from(HOSTILE)))
@example("fe80::1%x")
def test_indicator_parser_never_lets_other_characters_through(value: str) -> None:
    try:
        indicator = parse_indicator(value)
    except CommandError:
        return
    assert_in_grammar(indicator.kind, indicator.value)


# -- what reaches a firewall query -----------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(1971, 1, 1), timezones=st.timezones()))
def test_receive_time_in_a_query_is_always_a_plain_timestamp(moment: datetime) -> None:
    for zone in (None, UTC, timedelta(hours=9), timedelta(hours=-5, minutes=-30)):
        assert PANOS_TIME.fullmatch(format_panos_time(moment, zone))


@QUICK
@given(st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE)))
@example("fe80::1%x ) or ( severity eq low")
@example("10.0.0.1 ")
def test_addresses_from_logs_or_reports_cannot_change_a_query(host: str) -> None:
    """Follow-up queries take IPs from firewall logs and WildFire reports."""
    try:
        query = host_query(host, "2026/01/01 00:00:00")
    except ValueError:
        return
    match = re.fullmatch(
        r"\( addr\.src in ([0-9a-f:.]+) \) and \( receive_time geq '2026/01/01 00:00:00' \)",
        query,
    )
    assert match, query


@QUICK
@given(st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE), st.integers()))
@example("fe80::1%x")
def test_firewall_command_values_are_checked(value: Any) -> None:
    text = str(value)
    try:
        ip = commands.checked_ip(text)
    except ValueError:
        pass
    else:
        assert_in_grammar(Subject.IP, ip)
    try:
        tag = commands.checked_tag(text)
    except ValueError:
        pass
    else:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,126}", tag, re.ASCII)
    try:
        threat = commands.checked_threat_id(value)
    except ValueError:
        pass
    else:
        assert isinstance(threat, int) and 0 < threat < 10**9


# -- what reaches a Slack message -----------------------------------------------------------


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@QUICK
@given(st.one_of(st.text(max_size=300), st.sampled_from(HOSTILE)), st.integers(1, 300))
def test_escaped_text_has_no_slack_markup_and_truncation_keeps_it(text: str, limit: int) -> None:
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert _unescape(escaped) == text
    cut = truncate(escaped, limit)
    assert len(cut) <= limit
    assert "<" not in cut and ">" not in cut
    assert re.search(r"&(a|am|l|g|lt|gt)?$", cut) is None or cut == escaped  # no half entity


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


def test_hostile_firewall_fields_are_escaped_in_the_posted_parent(
    w: World, sqlite_database: Database
) -> None:
    w.simulator.store.clear()
    w.simulator.append(
        "threat",
        subtype="spyware",
        severity="critical",
        action="alert",
        src="192.168.10.77",
        dst="203.0.113.9",
        app="web-browsing",
        direction="client-to-server",
        threatid="<!channel> <https://evil.example/|Click>(14978)",
        tid="14978",
        srcuser="corp\\<!here>",
        misc="<@U0ALICE>.example/\n*bold*",
        device_name="<!everyone>",
    )
    bot = make_bot(w, sqlite_database, http=False)
    try:
        outcomes = bot.poller.poll_all()
        assert sum(len(o.alerts_opened) for o in outcomes) == 1
        bot.notifier.drain(budget=10)
    finally:
        bot.stop()
    [parent] = w.slack.parents(CHANNEL)
    posted = json.dumps({"text": parent.text, "blocks": parent.blocks})
    for raw in ("<!channel>", "<!here>", "<!everyone>", "<https://evil", "<@U0ALICE>"):
        assert raw not in posted
    assert "&lt;!channel&gt;" in posted
    # Only the time, never a log field, goes into the poll's query.
    for _, query in w.simulator.log_queries():
        assert re.fullmatch(r"\( .+ \) and \( receive_time geq '[0-9/]{10} [0-9:]{8}' \)", query), (
            query
        )


# -- what reaches a log line ----------------------------------------------------------------


@QUICK
@given(st.one_of(st.text(max_size=200), st.sampled_from(HOSTILE)))
def test_a_json_log_line_stays_one_line_whatever_it_carries(text: str) -> None:
    formatter = JsonFormatter()
    try:
        raise ValueError(text)
    except ValueError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord("panbot", logging.WARNING, __file__, 1, "seen %s", (text,), exc_info)
    record.rule = text
    line = formatter.format(record)
    assert len(line.splitlines()) == 1 and "\n" not in line and "\r" not in line
    entry = json.loads(line)
    assert entry["message"] == f"seen {text}"
    assert entry["rule"] == text


# -- XML bombs, external entities, oversized answers ---------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<response status="success"><result><job>&lol4;</job></result></response>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<response status="success"><result><job>&xxe;</job></result></response>"""


class _Canned(ThreadingHTTPServer):
    body: bytes = b""
    length: bool = True


class _CannedHandler(BaseHTTPRequestHandler):
    server: _Canned

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        if self.server.length:
            self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client hung up: it refused the rest
            self.wfile.write(self.server.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[_Canned]:
    server = _Canned(("127.0.0.1", 0), _CannedHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "xxe"])
def test_firewall_xml_with_entities_is_refused(canned: _Canned, body: bytes) -> None:
    canned.body = body
    host, port = canned.server_address[:2]
    with (
        PanosClient(f"http://{host!s}:{port}", api_key="k" * 20) as client,
        pytest.raises(PanosResponseError) as caught,
    ):
        client.query_logs(LogType.THREAT, "( severity eq critical )")
    assert "DTD" in str(caught.value)
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "xxe"])
def test_wildfire_xml_with_entities_is_refused(w: World, body: bytes) -> None:
    w.intel.respond_next("wildfire", body, content_type="application/xml", n=3)
    client = WildFire(w.intel.urls["wildfire"], w.intel.api_key)
    try:
        with pytest.raises(EnrichmentError) as caught:
            client.verdict("a" * 64)
    finally:
        client.close()
    assert "root:" not in str(caught.value)


@pytest.mark.parametrize("with_length", [True, False], ids=["declared", "streamed"])
def test_oversized_firewall_answers_are_bounded(canned: _Canned, with_length: bool) -> None:
    canned.body = b"<response status='success'><result>" + b"x" * 5_000_000
    canned.length = with_length
    host, port = canned.server_address[:2]
    begun = time.monotonic()
    with (
        PanosClient(
            f"http://{host!s}:{port}", api_key="k" * 20, max_response_bytes=64 * 1024
        ) as client,
        pytest.raises(PanosResponseError, match="exceeds"),
    ):
        client.system_info()
    assert time.monotonic() - begun < 5


def test_the_simulators_real_answer_is_bounded_too(w: World) -> None:
    with (
        PanosClient(w.simulator.url, api_key="panbot-simulator-key", max_response_bytes=512) as c,
        pytest.raises(PanosResponseError, match="exceeds"),
    ):
        c.query_logs(LogType.THREAT, "( severity eq critical )")


# -- Slack requests ------------------------------------------------------------------------


@pytest.fixture
def served(w: World, sqlite_database: Database) -> Iterator[tuple[PanBot, SlackRequests]]:
    bot = make_bot(w, sqlite_database)
    bot.start(jobs=False)
    requests = SlackRequests(bot)
    try:
        bot.poller.poll_all()
        bot.notifier.drain(budget=30)
        yield bot, requests
    finally:
        requests.close()
        bot.stop()


def _snapshot(db: Database) -> tuple[Any, ...]:
    with db.session() as s:
        alerts = tuple(
            s.execute(
                select(AlertRow.id, AlertRow.state, AlertRow.acked_by, AlertRow.assignee)
            ).all()
        )
        audits = s.scalar(select(func.count()).select_from(AuditRow))
        rows = s.scalar(select(func.count()).select_from(OutboxRow))
    return alerts, audits, rows


def test_unsigned_forged_and_stale_requests_are_refused(
    served: tuple[PanBot, SlackRequests], w: World
) -> None:
    bot, requests = served
    before = _snapshot(bot.db)
    body = slash_command_body(text="status")
    plain = {"Content-Type": "application/x-www-form-urlencoded"}
    unsigned = requests.client.post(requests.url, content=body.encode(), headers=plain)
    signed = signed_request_headers(SIGNING_SECRET, body)
    tampered = requests.client.post(
        requests.url,
        content=body.replace("status", "help").encode(),
        headers={**signed, **plain},
    )
    stale = signed_request_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 301)
    old = requests.client.post(requests.url, content=body.encode(), headers={**stale, **plain})
    future = signed_request_headers(SIGNING_SECRET, body, timestamp=int(time.time()) + 3600)
    ahead = requests.client.post(requests.url, content=body.encode(), headers={**future, **plain})
    press = block_actions_body("ack", "1", "U0MALLORY", CHANNEL, "1.0")
    forged = requests.client.post(
        requests.url,
        content=press.encode(),
        headers={**signed_request_headers("guessed-secret", press), **plain},
    )
    codes = [r.status_code for r in (unsigned, tampered, old, ahead, forged)]
    assert codes == [401] * 5
    assert _snapshot(bot.db) == before
    assert len(w.slack.calls_to("chat.update")) == 0


def test_presses_for_alerts_that_do_not_exist_change_nothing(
    served: tuple[PanBot, SlackRequests], w: World
) -> None:
    bot, requests = served
    before = _snapshot(bot.db)
    posted = len(w.slack.calls_to("chat.postMessage"))
    values = ["999999", "0", "1 OR 1=1", "<!channel>", "", "9" * 40]
    for action in ("ack", "close_alert", "approve_isolation"):
        for value in values:
            response = requests.post(
                block_actions_body(action, value, "U0ALICE", CHANNEL, "1.000001")
            )
            assert response.status_code == 200
    time.sleep(1.0)  # the listeners finish after their acknowledgement
    bot.notifier.drain(budget=5)
    assert _snapshot(bot.db) == before
    assert len(w.slack.calls_to("chat.postMessage")) == posted
    assert w.slack.calls_to("chat.update") == []
    assert w.slack.views == []


def test_an_exact_replay_is_accepted_by_slacks_scheme_and_changes_nothing_twice(
    served: tuple[PanBot, SlackRequests], w: World
) -> None:
    """Slack's signature has no nonce: an exact copy within 5 minutes verifies (RELIABILITY.md)."""
    bot, requests = served
    parent = w.slack.parents(CHANNEL)[0]
    with bot.db.session() as s:
        alert_id = s.scalar(select(AlertRow.id).where(AlertRow.slack_ts == parent.ts))
    body = block_actions_body("ack", str(alert_id), "U0ALICE", CHANNEL, parent.ts)
    headers = signed_request_headers(SIGNING_SECRET, body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    first = requests.client.post(requests.url, content=body.encode(), headers=headers)
    replay = requests.client.post(requests.url, content=body.encode(), headers=headers)
    assert (first.status_code, replay.status_code) == (200, 200)

    def acks() -> int:
        with bot.db.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(AuditRow)
                    .where(AuditRow.alert_id == alert_id, AuditRow.action == "ack")
                )
                or 0
            )

    deadline = time.monotonic() + 5
    while acks() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert acks() == 1
    with bot.db.session() as s:
        alert = s.get(AlertRow, alert_id)
        assert alert is not None and alert.acked_by == "U0ALICE"


def test_oversized_slack_body_is_refused(served: tuple[PanBot, SlackRequests]) -> None:
    _, requests = served
    body = "payload=" + "x" * 1_100_000
    response = requests.post(body)
    assert response.status_code == 413


def test_a_garbage_payload_is_answered_without_a_traceback(
    served: tuple[PanBot, SlackRequests], w: World
) -> None:
    _, requests = served
    for body in ("payload=%7Bnot-json", "payload=%5B%5D", "command=%2Fpan&text=%00%0A%0D"):
        response = requests.post(body)
        assert response.status_code in {200, 400, 404}
        assert "Traceback" not in response.text
    assert httpx.get(requests.url.replace("/slack/events", "/healthz"), timeout=5).status_code in {
        200,
        503,
    }
