"""Grouping keys: what joins an existing alert, and what does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from investigations.grouping import GROUPING_WINDOW, MAX_KEY_LENGTH, grouping_key
from investigations.panos.events import Event, LogType


def _event(log_type: LogType = LogType.THREAT, seqno: int = 1, **fields: Any) -> Event:
    return Event(
        log_type=log_type,
        serial="007051000123456",
        seqno=seqno,
        receive_time=datetime(2024, 3, 1, tzinfo=UTC),
        **fields,
    )


DIGEST = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"


@pytest.mark.parametrize(
    ("rule", "event", "host", "expected"),
    [
        (
            "vulnerability",
            _event(threat_id="37322"),
            "192.168.1.10",
            "vulnerability|threat:37322|host:192.168.1.10",
        ),
        (
            "spyware",
            _event(threat_id="14978", threat_name="WireLurker"),
            "10.0.0.5",
            "spyware|threat:14978|host:10.0.0.5",
        ),
        (
            "spyware",
            _event(threat_name="No Id"),
            "10.0.0.5",
            "spyware|threat-name:No Id|host:10.0.0.5",
        ),
        (
            "wildfire",
            _event(LogType.WILDFIRE, file_digest=DIGEST, threat_id="52020"),
            "10.0.0.5",
            f"wildfire|sha256:{DIGEST.lower()}|host:10.0.0.5",
        ),
        (
            "correlation",
            _event(LogType.CORR, object_id="6005", object_name="beacon"),
            "10.0.0.9",
            "correlation|object:6005|host:10.0.0.9",
        ),
        (
            "correlation",
            _event(LogType.CORR, object_name="beacon"),
            "10.0.0.9",
            "correlation|object-name:beacon|host:10.0.0.9",
        ),
        ("vulnerability", _event(threat_id="1"), None, "vulnerability|threat:1|host:-"),
        (
            "vulnerability",
            _event(threat_id="1"),
            "2001:DB8::0:1",
            "vulnerability|threat:1|host:2001:db8::1",
        ),
        ("vulnerability", _event(), "10.0.0.1", "vulnerability|threat:?|host:10.0.0.1"),
        (
            "correlation",
            _event(LogType.CORR, object_name="a|b"),
            "x",
            "correlation|object-name:a%7Cb|host:x",
        ),
    ],
)
def test_grouping_key_table(rule: str, event: Event, host: str | None, expected: str) -> None:
    assert grouping_key(rule, event, host) == expected


def test_repeats_share_a_key_and_differences_do_not() -> None:
    first = grouping_key("vulnerability", _event(seqno=1, threat_id="37322", src="a"), "10.0.0.1")
    repeat = grouping_key("vulnerability", _event(seqno=2, threat_id="37322", src="b"), "10.0.0.1")
    other_host = grouping_key("vulnerability", _event(threat_id="37322"), "10.0.0.2")
    other_threat = grouping_key("vulnerability", _event(threat_id="37323"), "10.0.0.1")
    other_rule = grouping_key("spyware", _event(threat_id="37322"), "10.0.0.1")
    assert first == repeat
    assert len({first, other_host, other_threat, other_rule}) == 4


def test_separator_in_parts_cannot_collide() -> None:
    one = grouping_key("r", _event(LogType.CORR, object_name="a|host:b"), "c")
    two = grouping_key("r", _event(LogType.CORR, object_name="a"), "b|c")
    assert one != two


def test_long_keys_are_bounded_and_stable() -> None:
    long_name = "x" * 2000
    key = grouping_key("correlation", _event(LogType.CORR, object_name=long_name), "10.0.0.1")
    assert len(key) == MAX_KEY_LENGTH
    assert key == grouping_key(
        "correlation", _event(LogType.CORR, object_name=long_name), "10.0.0.1"
    )
    other = grouping_key("correlation", _event(LogType.CORR, object_name=long_name), "10.0.0.2")
    assert other != key and len(other) == MAX_KEY_LENGTH


def test_window_is_a_day() -> None:
    assert timedelta(hours=24) == GROUPING_WINDOW
