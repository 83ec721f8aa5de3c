"""Log pages parsed as they arrive (`LogPageParser`), and polls skipping logs they hold.

The streamed parser must judge every answer exactly as the whole-tree parsers do
(`parse_response` + `parse_job_status` + `parse_log_entries`), whatever the chunking,
while never holding the page as a tree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import system_clock
from bot.metrics import Metrics
from bot.poller import Poller
from bot.simulator.api import DEFAULT_API_KEY
from bot.simulator.server import SimulatorServer
from investigations.panos.client import PanosClient
from investigations.panos.entries import SeenKey
from investigations.panos.errors import (
    PanosApiError,
    PanosAuthError,
    PanosError,
    PanosJobError,
    PanosResponseError,
)
from investigations.panos.events import Event, LogType
from investigations.panos.models import LogAnswer
from investigations.panos.parse import (
    LogPageParser,
    last_utc_offset,
    parse_job_status,
    parse_log_entries,
    parse_response,
)
from investigations.rules import DEFAULT_RULES
from storage import Database
from tests.panos_samples import (
    SERIAL,
    big_threat_page,
    corr_entry,
    log_get_response,
    threat_entry,
    wildfire_entry,
)
from tests.test_panos_parse import BILLION_LAUGHS, EXTERNAL_ENTITY

QUERY = "( severity eq critical )"


def stream(
    body: bytes,
    log_type: LogType = LogType.THREAT,
    *,
    chunk: int = 4096,
    zone: Any = None,
    known: set[SeenKey] | None = None,
) -> LogAnswer:
    parser = LogPageParser(log_type, zone, known)
    for start in range(0, len(body), chunk):
        parser.feed(body[start : start + chunk])
    return parser.close()


def whole(body: bytes, log_type: LogType = LogType.THREAT, zone: Any = None) -> list[Event]:
    root = parse_response(body)
    assert parse_job_status(root).finished
    return parse_log_entries(root, log_type, zone)


# -- the same Events as the whole-tree parser ------------------------------------------


@pytest.mark.parametrize("chunk", [1, 7, 100, 4096, 1 << 20])
def test_small_page_in_any_chunking(chunk: int) -> None:
    body = log_get_response(
        [threat_entry(1), threat_entry(2, subtype="virus", misc="a.zip"), threat_entry(3)]
    )
    answer = stream(body, chunk=chunk)
    assert answer.events == whole(body)
    assert (answer.entries, answer.skipped) == (3, [])
    assert (answer.status.status, answer.status.count, answer.status.progress) == ("FIN", 3, 100)
    assert answer.offset == last_utc_offset(parse_response(body)) == timezone(timedelta(hours=9))


@pytest.mark.parametrize("chunk", [65536, 1 << 24])
def test_big_page_equals_the_tree_parse(chunk: int) -> None:
    body = big_threat_page(1500)
    answer = stream(body, chunk=chunk)
    assert len(answer.events) == answer.entries == 1500
    assert answer.events == whole(body)


def test_other_log_types() -> None:
    wildfire = log_get_response([wildfire_entry(9)])
    assert stream(wildfire, LogType.WILDFIRE, chunk=50).events == whole(wildfire, LogType.WILDFIRE)
    corr = log_get_response([corr_entry(6543210987654321)])
    [event] = stream(corr, LogType.CORR, chunk=50).events
    assert event.key == (SERIAL, "corr", 6543210987654321)


def test_nested_and_unknown_elements_are_not_entries_of_the_page() -> None:
    nested = (
        "<unknown><serial>NOT-THIS</serial><entry logid='1'><serial>X</serial>"
        "<seqno>999</seqno></entry></unknown><!-- a comment --><?pi data?>"
    )
    entries = [
        threat_entry(1, extra=nested),
        "<!-- between entries --><stray><entry><seqno>5</seqno></entry></stray>",
        threat_entry(2),
    ]
    body = log_get_response(entries).replace(
        b"<result>\n", b"<result>\n<entry><serial>S</serial><seqno>77</seqno></entry>\n", 1
    )
    for chunk in (1, 13, 4096):
        answer = stream(body, chunk=chunk)
        assert [e.seqno for e in answer.events] == [1, 2]
        assert answer.events[0].serial == SERIAL
        assert answer.entries == 2
        assert answer.events == whole(body)


def test_entry_with_only_the_required_fields() -> None:
    minimal = (
        "<entry><serial>S1</serial><seqno>12</seqno>"
        "<receive_time>2024/03/01 10:00:00</receive_time></entry>"
    )
    [event] = stream(log_get_response([minimal]), chunk=10).events
    assert event.key == ("S1", "threat", 12)
    assert event.receive_time == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    optional = set(Event.model_fields) - {"log_type", "serial", "seqno", "receive_time"}
    assert all(getattr(event, name) is None for name in optional)


def test_empty_and_act_pages() -> None:
    assert stream(log_get_response([])).events == []
    act = stream(log_get_response([], status="ACT"))
    assert not act.status.finished
    assert (act.events, act.entries, act.offset) == ([], 0, None)


def test_an_act_answer_with_a_garbled_entry_is_only_not_finished() -> None:
    body = (
        b'<response status="success"><result><job><status>ACT</status></job><log>'
        b'<logs count="0" progress="20"><entry><seqno>x</seqno></entry></logs></log>'
        b"</result></response>"
    )
    assert not stream(body, chunk=5).status.finished


def test_the_tree_never_holds_the_page() -> None:
    parser = LogPageParser(LogType.THREAT)
    body = big_threat_page(1000)  # about 2 KB an entry
    most = 0
    for start in range(0, len(body), 65536):
        parser.feed(body[start : start + 65536])
        logs = parser._logs  # the one place this is looked at from outside
        if logs is not None:
            most = max(most, len(logs))
    assert 0 < most <= 40  # one chunk's worth, not the 1,000 entries
    assert parser.close().entries == 1000


# -- refusals: the same typed errors as parse_response and friends --------------------

REFUSED = [
    (b"", "empty"),
    (b"   \n", "empty"),
    (b"<html><body>502 Bad Gateway</body></html>", "root element <html>"),
    (b"Internal Server Error", "not well-formed"),
    (b'<response status="success"><result><job>1', "not well-formed"),
    (BILLION_LAUGHS, "DTD"),
    (EXTERNAL_ENTITY, "DTD"),
    (b'<response status="success">&undeclared;</response>', "not well-formed"),
    (b'<response status="maybe"/>', "unexpected response status"),
    # libxml2's limits without huge_tree hold for the streamed page too.
    (b'<response status="success">' + b"<a>" * 1000 + b"</a>" * 1000 + b"</response>", "depth"),
    (
        b'<response status="success"><result><log><logs><entry><misc>'
        + b"x" * (11 * 1024 * 1024)
        + b"</misc></entry></logs></log></result></response>",
        "Text node too long",
    ),
]


@pytest.mark.parametrize(("body", "match"), REFUSED)
@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_unusable_answers_are_refused_alike(body: bytes, match: str, chunk: int) -> None:
    with pytest.raises(PanosResponseError, match=match):
        parse_response(body)
    with pytest.raises(PanosResponseError, match=match):
        stream(body, chunk=chunk)


def _page_with(prolog: bytes) -> bytes:
    return prolog + log_get_response([threat_entry(1), threat_entry(2)])


@pytest.mark.parametrize(
    "prolog",
    [
        b'<?xml version="1.0"?><!DOCTYPE response [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        b'<?xml version="1.0"?><!DOCTYPE response [<!ENTITY a "aaaaaaaaaa">]>',
    ],
)
def test_a_page_carrying_a_dtd_is_refused_and_nothing_is_mapped(prolog: bytes) -> None:
    parser = LogPageParser(LogType.THREAT)
    body = _page_with(prolog)
    with pytest.raises(PanosResponseError, match="carries a DTD; refused"):
        for start in range(0, len(body), 64):
            parser.feed(body[start : start + 64])
        parser.close()
    assert parser._events == []


def test_an_external_dtd_file_is_never_read(tmp_path: Path) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text("this is not a DTD at all")
    body = _page_with(f'<?xml version="1.0"?><!DOCTYPE response SYSTEM "{dtd}">'.encode())
    with pytest.raises(PanosResponseError, match="carries a DTD; refused"):
        stream(body, chunk=64)


@pytest.mark.parametrize(
    ("body", "error", "match"),
    [
        (
            b'<response status="error" code="403"><result><msg>Invalid Credential</msg>'
            b"</result></response>",
            PanosAuthError,
            "Invalid Credential",
        ),
        (
            b'<response status="error" code="17"><msg><line><![CDATA[ show -> foo is '
            b"unexpected]]></line></msg></response>",
            PanosApiError,
            "show -> foo is unexpected",
        ),
        (
            b'<response status="success"><result><job><id>4</id><status>FIN</status>'
            b"<result>FAIL</result><details><line>query timed out</line></details></job>"
            b'<log><logs count="1" progress="100"><entry><seqno>1</seqno></entry></logs></log>'
            b"</result></response>",
            PanosJobError,
            "query timed out",
        ),
        (
            b'<response status="success"><result><job><status>FIN</status></job></result>'
            b"</response>",
            PanosResponseError,
            "result/log/logs",
        ),
    ],
)
def test_error_answers_raise_the_typed_error(
    body: bytes, error: type[PanosError], match: str
) -> None:
    with pytest.raises(error, match=match):
        stream(body, chunk=9)


def test_an_error_answer_keeps_its_whole_message() -> None:
    body = (
        b'<response status="error"><result><log><logs><entry><seqno>1</seqno></entry>'
        b"<entry><seqno>2</seqno></entry></logs></log><msg>Query error</msg></result></response>"
    )
    with pytest.raises(PanosApiError) as streamed:
        stream(body, chunk=4)
    with pytest.raises(PanosApiError) as tree:
        parse_response(body)
    assert streamed.value.message == tree.value.message


def test_an_unusable_entry_is_refused_after_the_whole_answer_is_judged() -> None:
    bad = threat_entry(2, filler=False).replace(f"<serial>{SERIAL}</serial>", "")
    body = log_get_response([threat_entry(1), bad, threat_entry(3)])
    with pytest.raises(PanosResponseError, match="no serial"):
        stream(body, chunk=100)
    # ...but a page that then breaks off is refused for that, first.
    with pytest.raises(PanosResponseError, match="not well-formed"):
        stream(body[: len(body) - 40], chunk=100)


def test_a_page_breaking_off_mid_stream_raises_and_returns_nothing() -> None:
    body = big_threat_page(300)
    parser = LogPageParser(LogType.THREAT)
    parser.feed(body[: len(body) // 2])
    assert parser._events  # entries were mapped on the way...
    with pytest.raises(PanosResponseError, match="not well-formed"):
        parser.feed(b"<entry></logs>")  # ...and the answer turns to garbage
    garbled = body[: len(body) // 2] + b"</entry></entry></nonsense>" + body[len(body) // 2 :]
    with pytest.raises(PanosResponseError, match="not well-formed"):
        stream(garbled, chunk=65536)


# -- known entries are counted, not built --------------------------------------------


def test_known_entries_are_skipped_and_counted() -> None:
    body = log_get_response([threat_entry(i) for i in range(1, 6)])
    answer = stream(body, known={(SERIAL, 2), (SERIAL, 4), ("OTHER-FW", 3)}, chunk=333)
    assert [e.seqno for e in answer.events] == [1, 3, 5]
    assert (answer.entries, answer.skipped) == (5, [(SERIAL, 2), (SERIAL, 4)])


def test_corr_entries_are_known_by_logid() -> None:
    body = log_get_response([corr_entry(11), corr_entry(12)])
    answer = stream(body, LogType.CORR, known={(SERIAL, 11)})
    assert [e.seqno for e in answer.events] == [12]
    assert answer.skipped == [(SERIAL, 11)]


@pytest.mark.parametrize("seqno", ["0x5", " 5", "5 ", "+5", "٥", "5.0", ""])
def test_an_odd_seqno_is_never_skipped(seqno: str) -> None:
    entry = threat_entry(5, filler=False).replace("<seqno>5</seqno>", f"<seqno>{seqno}</seqno>")
    entry = entry.replace('logid="7000000000000000005"', 'logid="5"')
    body = log_get_response([entry])
    try:
        expected = whole(body)
    except PanosResponseError:
        with pytest.raises(PanosResponseError):
            stream(body, known={(SERIAL, 5)})
        return
    answer = stream(body, known={(SERIAL, 5)})
    if seqno == "":  # <seqno></seqno> is no seqno: the logid is the identity, as mapped
        assert answer.skipped == [(SERIAL, 5)] and expected[0].seqno == 5
    else:
        assert answer.events == expected and answer.skipped == []


@settings(max_examples=60, deadline=None)
@given(
    seqnos=st.lists(st.integers(0, 40), min_size=0, max_size=25),
    known=st.sets(st.tuples(st.sampled_from([SERIAL, "OTHER"]), st.integers(0, 40))),
    chunk=st.integers(1, 3000),
)
def test_a_new_seqno_is_never_skipped(seqnos: list[int], known: set[SeenKey], chunk: int) -> None:
    body = log_get_response([threat_entry(n, filler=False) for n in seqnos])
    answer = stream(body, known=known, chunk=chunk)
    built = [e.seqno for e in answer.events]
    assert built == [n for n in seqnos if (SERIAL, n) not in known]
    assert answer.skipped == [(SERIAL, n) for n in seqnos if (SERIAL, n) in known]
    assert answer.entries == len(seqnos)


# -- the poller: re-read logs are not built again -----------------------------------------


class _Spy(PanosClient):
    """Records what each poll said it knew."""

    knowns: list[frozenset[SeenKey]]

    def iter_log_pages(self, *args: Any, **kwargs: Any) -> Any:
        self.knowns.append(frozenset(kwargs.get("known") or ()))
        return super().iter_log_pages(*args, **kwargs)


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(scenario="empty") as sim:
        yield sim


def _critical(sim: SimulatorServer, host: int, at: datetime) -> None:
    sim.append(
        "threat",
        subtype="vulnerability",
        severity="critical",
        action="alert",
        direction="server-to-client",
        src=f"192.168.10.{host}",
        dst="203.0.113.80",
        threatid="Test Vulnerability(41000)",
        tid="41000",
        receive_time=at,
    )


def test_overlap_rereads_are_skipped_and_new_logs_never_are(
    simulator: SimulatorServer, sqlite_database: Database
) -> None:
    rule = next(r for r in DEFAULT_RULES if r.id == "vulnerability")
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    for host in range(1, 8):
        _critical(simulator, host, at)
    client = _Spy(simulator.url, api_key=DEFAULT_API_KEY, job_deadline=5)
    client.knowns = []
    poller = Poller(
        db=sqlite_database,
        client=client,
        firewall=simulator.url,
        rules=[rule],
        networks=[],
        channel="C0ALERTS",
        lookback=timedelta(minutes=60),
        clock=system_clock,
        metrics=Metrics(),
        page_size=3,
    )
    with client:
        first = poller.poll(rule)
        _critical(simulator, 20, at)  # a new log, inside the overlap, same second
        second = poller.poll(rule)
        simulator.fail_next(1, 500)
        failed = poller.poll(rule)
        _critical(simulator, 21, at)
        after_failure = poller.poll(rule)
        third = poller.poll(rule)
    assert (first.read, first.stored) == (7, 7)
    assert (second.read, second.stored) == (8, 1)  # 7 skipped, the new one built and stored
    assert failed.error is not None
    assert (after_failure.read, after_failure.stored) == (9, 1)  # nothing known: all built
    assert (third.read, third.stored) == (9, 0)
    assert [len(k) for k in client.knowns] == [0, 7, 8, 0, 9]


def test_events_of_a_page_share_values_but_stay_independent() -> None:
    body = log_get_response([threat_entry(1), threat_entry(2), threat_entry(3)])
    first, second, third = stream(body).events
    assert first.vsys is second.vsys  # one string object per value on a page
    assert first.model_fields_set is second.model_fields_set
    assert first.model_fields_set == whole(body)[0].model_fields_set
    changed = first.model_copy(update={"vsys": "vsys2"})
    assert changed.vsys == "vsys2" and second.vsys == "vsys1"
    assert "vsys" in changed.model_fields_set
    assert first.model_fields_set is second.model_fields_set is third.model_fields_set
    assert first.model_dump(exclude_unset=True) == whole(body)[0].model_dump(exclude_unset=True)
    with pytest.raises(ValueError, match="frozen"):
        first.vsys = "x"  # type: ignore[misc]
