"""The simulator's PAN-OS filter language: tables of queries, and property tests."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.simulator.filters import SEVERITIES, FilterSyntaxError, parse_filter
from investigations.rules import DEFAULT_RULES

VULN = {
    "type": "THREAT",
    "subtype": "vulnerability",
    "severity": "critical",
    "action": "alert",
    "app": "web-browsing",
    "src": "192.168.10.21",
    "dst": "203.0.113.80",
    "sport": "51514",
    "dport": "80",
    "seqno": "1005",
    "receive_time": "2026/11/25 10:00:00",
    "time_generated": "2026/11/25 09:59:58",
    "threatid": "Microsoft Internet Explorer Memory Corruption Vulnerability(37383)",
    "tid": "37383",
    "misc": "news.example.net/landing/index.html",
    "from": "trust",
}
WILDFIRE = {
    "type": "THREAT",
    "subtype": "wildfire",
    "category": "malicious",
    "severity": "high",
    "app": "smtp",
    "src": "192.168.10.57",
    "receive_time": "2026/11/25 10:05:00",
}
URL_LOG = {"type": "THREAT", "subtype": "url", "category": "malware", "severity": "informational"}


@pytest.mark.parametrize(
    ("query", "entry", "expected"),
    [
        ("", VULN, True),
        ("   ", VULN, True),
        (DEFAULT_RULES[0].query, VULN, True),
        (DEFAULT_RULES[0].query, {**VULN, "action": "reset-both"}, False),
        (DEFAULT_RULES[0].query, {**VULN, "severity": "high"}, False),
        (DEFAULT_RULES[1].query, {**VULN, "subtype": "virus", "app": "pop3"}, True),
        (DEFAULT_RULES[1].query, {**VULN, "subtype": "virus", "app": "imap"}, True),
        (DEFAULT_RULES[1].query, {**VULN, "subtype": "virus", "app": "smtp"}, False),
        (DEFAULT_RULES[2].query, WILDFIRE, True),
        (DEFAULT_RULES[2].query, {**WILDFIRE, "severity": "informational"}, False),
        (DEFAULT_RULES[2].query, {**WILDFIRE, "category": "benign"}, False),
        ("( verdict eq malicious )", {"verdict": "malicious"}, True),
        ("( verdict eq malicious )", {**WILDFIRE, "verdict": "benign"}, False),
        ("( verdict eq malware )", URL_LOG, False),  # a URL category is no verdict
        ("( category eq malware )", URL_LOG, True),
        ("( severity eq CRITICAL )", VULN, True),
        ("( Subtype EQ vulnerability ) AND ( action eq ALERT )", VULN, True),
        ("( app neq web-browsing )", VULN, False),
        ("( app neq web-browsing )", {}, True),
        ("( app eq web-browsing )", {}, False),
        ("( severity geq high )", VULN, True),
        ("( severity geq critical )", VULN, True),
        ("( severity leq high )", VULN, False),
        ("( severity leq informational )", URL_LOG, True),
        ("( severity geq low )", {"severity": "bogus"}, False),
        ("( receive_time geq '2026/11/25 10:00:00' )", VULN, True),
        ("( receive_time geq '2026/11/25 10:00:01' )", VULN, False),
        ('( receive_time leq "2026/11/25 10:00:00" )', VULN, True),
        ("( time_generated eq '2026/11/25 09:59:58' )", VULN, True),
        ("( receive_time geq '2026/01/01 00:00:00' )", {"receive_time": "garbage"}, False),
        ("( seqno geq 1005 )", VULN, True),
        ("( seqno geq 999 )", VULN, True),  # numeric, not "999" > "1005" as text
        ("( seqno leq 999 )", VULN, False),
        ("( dport eq 80 )", VULN, True),
        ("( port.dst eq 80 )", VULN, True),
        ("( src in 192.168.0.0/16 )", VULN, True),
        ("( src in 10.0.0.0/8 )", VULN, False),
        ("( src notin 10.0.0.0/8 )", VULN, True),
        ("( src in 192.168.10.21 )", VULN, True),
        ("( src eq 192.168.10.21 )", VULN, True),
        ("( addr.src in 192.168.10.0/24 )", VULN, True),
        ("( addr.dst in 203.0.113.0/24 )", VULN, True),
        ("( addr in 203.0.113.80 )", VULN, True),
        ("( addr in 198.51.100.0/24 )", VULN, False),
        ("( src in 192.168.0.0/16 )", {"src": "not-an-ip"}, False),
        ("( dst in 2001:db8::/32 )", {"dst": "2001:db8::5"}, True),
        ("( zone.src eq trust )", VULN, True),
        ("( threatid eq 37383 )", VULN, True),
        ("( threatid eq 37384 )", VULN, False),
        ("( threatid eq 37383 )", {"threatid": "Some Name(37383)"}, True),
        ("( name-of-threatid contains 'Internet Explorer' )", VULN, True),
        ("( threatid contains 'memory corruption' )", VULN, True),
        ("( misc contains example.net )", VULN, True),
        ("!( action eq alert )", VULN, False),
        ("not ( action eq alert )", VULN, False),
        ("!!( action eq alert )", VULN, True),
        ("!( ( action eq alert ) and ( app eq web-browsing ) )", VULN, False),
        ("( ( app eq pop3 ) or ( app eq web-browsing ) )", VULN, True),
        # `and` binds tighter than `or`.
        ("( app eq pop3 ) or ( app eq web-browsing ) and ( action eq alert )", VULN, True),
        ("( app eq web-browsing ) or ( app eq pop3 ) and ( action eq block )", VULN, True),
        ("( ( app eq web-browsing ) or ( app eq pop3 ) ) and ( action eq block )", VULN, False),
        ("(app eq web-browsing)and(action eq alert)", VULN, True),
        (
            "( subject eq 'Invoice for November 2026' )",
            {"subject": "Invoice for November 2026"},
            True,
        ),
        ("( subject eq 'a ( b ) and c' )", {"subject": "a ( b ) and c"}, True),
    ],
)
def test_filter_matches(query: str, entry: dict[str, str], expected: bool) -> None:
    assert parse_filter(query).matches(entry) is expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("( severity eq bogus )", "not a severity"),
        ("( severity geq )", "expected a value"),
        ("( src in 10.0.0 )", "not an IP address or network"),
        ("( src geq 10.0.0.1 )", "does not apply to address field"),
        ("( app in 10.0.0.0/8 )", "applies to address fields only"),
        ("( app geq web-browsing )", "does not apply to text field"),
        ("( receive_time geq 2026/11/25 10:00:00 )", "'2026/11/25' is not a time"),
        ("( receive_time geq '25/11/2026 10:00' )", "not a time"),
        ("( seqno geq ten )", "not a number"),
        ("( app eq pop3", "expected ')'"),
        ("( app eq pop3 ) )", "unexpected ')'"),
        ("( app eq pop3 ) and", "expected '('"),
        ("( app eq pop3 ) ( app eq imap )", "unexpected '('"),
        ("( app eq pop3 ) xor ( app eq imap )", "unexpected 'xor'"),
        ("( app is pop3 )", "unknown operator 'is'"),
        ("app eq pop3", "expected '('"),
        ("( subject eq 'unterminated )", "unterminated quoted value"),
        ("( 9app eq x )", "not a field name"),
        ("()", "expected"),
        ("(" * 80 + "( app eq x )" + ")" * 80, "deeper than"),
    ],
)
def test_filter_syntax_errors(query: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError, match=re.escape(message)):
        parse_filter(query)


def test_error_message_names_the_position() -> None:
    with pytest.raises(FilterSyntaxError, match="position 16"):
        parse_filter("( app eq pop3 ) ) ")


# ---------------------------------------------------------------- properties

APPS = ("web-browsing", "pop3", "imap", "smtp")
SUBTYPES = ("vulnerability", "virus", "spyware")
IPS = ("192.168.10.21", "192.168.20.5", "10.1.2.3", "203.0.113.80")
NETS = ("192.168.0.0/16", "192.168.10.0/24", "10.0.0.0/8", "203.0.113.80", "0.0.0.0/0")
TIMES = ("2026/11/25 09:59:59", "2026/11/25 10:00:00", "2026/11/25 10:00:01", "2026/12/01 00:00:00")
Oracle = Callable[[dict[str, str]], bool]
# No deadline: a loaded CI machine must not turn a slow example into a failure.
quick = settings(max_examples=60, deadline=None)


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y/%m/%d %H:%M:%S")


def _compare(op: str, found: int | datetime, wanted: int | datetime) -> bool:
    if op == "eq":
        return found == wanted
    if op == "neq":
        return found != wanted
    return found >= wanted if op == "geq" else found <= wanted  # type: ignore[operator]


def _severity_atom(op: str, level: str) -> tuple[str, Oracle]:
    def oracle(e: dict[str, str]) -> bool:
        if "severity" not in e:
            return op == "neq"
        return _compare(op, SEVERITIES.index(e["severity"]), SEVERITIES.index(level))

    return f"( severity {op} {level} )", oracle


def _text_atom(field: str, op: str, value: str) -> tuple[str, Oracle]:
    def oracle(e: dict[str, str]) -> bool:
        return (e.get(field) == value) is (op == "eq")

    return f"( {field} {op} {value} )", oracle


def _address_atom(op: str, net: str) -> tuple[str, Oracle]:
    network = ipaddress.ip_network(net)

    def oracle(e: dict[str, str]) -> bool:
        inside = "src" in e and ipaddress.ip_address(e["src"]) in network
        return inside is (op == "in")

    return f"( addr.src {op} {net} )", oracle


def _number_atom(op: str, value: int) -> tuple[str, Oracle]:
    def oracle(e: dict[str, str]) -> bool:
        if "seqno" not in e:
            return op == "neq"
        return _compare(op, int(e["seqno"]), value)

    return f"( seqno {op} {value} )", oracle


def _time_atom(op: str, value: str) -> tuple[str, Oracle]:
    def oracle(e: dict[str, str]) -> bool:
        if "receive_time" not in e:
            return op == "neq"
        return _compare(op, _time(e["receive_time"]), _time(value))

    return f"( receive_time {op} '{value}' )", oracle


ORDERED = st.sampled_from(("eq", "neq", "geq", "leq"))
atoms = st.one_of(
    st.builds(_severity_atom, ORDERED, st.sampled_from(SEVERITIES)),
    st.builds(_text_atom, st.just("app"), st.sampled_from(("eq", "neq")), st.sampled_from(APPS)),
    st.builds(
        _text_atom, st.just("subtype"), st.sampled_from(("eq", "neq")), st.sampled_from(SUBTYPES)
    ),
    st.builds(_address_atom, st.sampled_from(("in", "notin")), st.sampled_from(NETS)),
    st.builds(_number_atom, ORDERED, st.integers(990, 1010)),
    st.builds(_time_atom, ORDERED, st.sampled_from(TIMES)),
)


def _and(a: tuple[str, Oracle], b: tuple[str, Oracle]) -> tuple[str, Oracle]:
    return f"( {a[0]} and {b[0]} )", lambda e: a[1](e) and b[1](e)


def _or(a: tuple[str, Oracle], b: tuple[str, Oracle]) -> tuple[str, Oracle]:
    return f"({a[0]} or {b[0]})", lambda e: a[1](e) or b[1](e)


def _not(a: tuple[str, Oracle]) -> tuple[str, Oracle]:
    return f"!{a[0]}", lambda e: not a[1](e)


filters = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(_and, inner, inner), st.builds(_or, inner, inner), st.builds(_not, inner)
    ),
    max_leaves=8,
)


def _optional(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), values)


@st.composite
def entries(draw: st.DrawFn) -> dict[str, str]:
    candidates = {
        "severity": draw(_optional(st.sampled_from(SEVERITIES))),
        "app": draw(_optional(st.sampled_from(APPS))),
        "subtype": draw(_optional(st.sampled_from(SUBTYPES))),
        "src": draw(_optional(st.sampled_from(IPS))),
        "seqno": draw(_optional(st.integers(990, 1010).map(str))),
        "receive_time": draw(_optional(st.sampled_from(TIMES))),
    }
    return {k: v for k, v in candidates.items() if v is not None}


@quick
@given(filters, entries())
def test_filter_agrees_with_an_independent_oracle(
    flt: tuple[str, Oracle], entry: dict[str, str]
) -> None:
    query, oracle = flt
    assert parse_filter(query).matches(entry) is oracle(entry)


@quick
@given(filters, entries())
def test_negation_is_the_complement(flt: tuple[str, Oracle], entry: dict[str, str]) -> None:
    query = flt[0]
    assert parse_filter(f"!{query}").matches(entry) is not parse_filter(query).matches(entry)


@quick
@given(filters, filters, entries())
def test_and_or_are_symmetric(
    a: tuple[str, Oracle], b: tuple[str, Oracle], entry: dict[str, str]
) -> None:
    assert parse_filter(f"{a[0]} and {b[0]}").matches(entry) is parse_filter(
        f"{b[0]} and {a[0]}"
    ).matches(entry)
    assert parse_filter(f"{a[0]} or {b[0]}").matches(entry) is parse_filter(
        f"{b[0]} or {a[0]}"
    ).matches(entry)


@quick
@given(filters, filters, entries())
def test_de_morgan(a: tuple[str, Oracle], b: tuple[str, Oracle], entry: dict[str, str]) -> None:
    left = parse_filter(f"!( {a[0]} and {b[0]} )").matches(entry)
    assert left is parse_filter(f"!{a[0]} or !{b[0]}").matches(entry)


@quick
@given(st.sampled_from(SEVERITIES), st.sampled_from(SEVERITIES))
def test_severity_geq_or_leq_covers_every_level(level: str, found: str) -> None:
    entry = {"severity": found}
    geq = parse_filter(f"( severity geq {level} )").matches(entry)
    leq = parse_filter(f"( severity leq {level} )").matches(entry)
    assert geq or leq
    assert (geq and leq) is (level == found)
    assert geq is (SEVERITIES.index(found) >= SEVERITIES.index(level))


@quick
@given(st.ip_addresses(v=4), st.integers(0, 32), st.ip_addresses(v=4))
def test_in_matches_cidr_membership(
    base: ipaddress.IPv4Address, prefix: int, probe: ipaddress.IPv4Address
) -> None:
    network = ipaddress.ip_network(f"{base}/{prefix}", strict=False)
    assert parse_filter(f"( src in {network} )").matches({"src": str(probe)}) is (probe in network)


@quick
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_any_text_parses_or_raises_the_specific_error(text: str) -> None:
    try:
        flt = parse_filter(text)
    except FilterSyntaxError:
        return
    assert isinstance(flt.matches(VULN), bool)
