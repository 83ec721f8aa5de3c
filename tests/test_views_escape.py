"""Escaping and truncation: outside text can never ping, link or break a limit."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.views.escape import (
    ELLIPSIS,
    escape,
    format_time,
    is_mentionable,
    link,
    mention,
    safe_url,
    truncate,
)

# Text rich in the characters that matter to Slack.
slacky = st.text(
    alphabet=st.sampled_from(list("<>&@!|^;amplgt #:/xU1")) | st.characters(), max_size=300
)
_ENTITY_PREFIX = re.compile(r"&(amp;|lt;|gt;)")


@given(slacky)
def test_escaped_text_has_no_angle_brackets(text: str) -> None:
    out = escape(text)
    assert "<" not in out
    assert ">" not in out
    assert all(_ENTITY_PREFIX.match(out, m.start()) for m in re.finditer("&", out))


@given(slacky)
def test_escape_round_trips(text: str) -> None:
    out = escape(text)
    assert out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


@given(slacky, st.integers(min_value=1, max_value=400))
def test_truncated_escaped_text_fits_and_keeps_entities_whole(text: str, limit: int) -> None:
    out = truncate(escape(text), limit)
    assert len(out) <= limit
    assert all(_ENTITY_PREFIX.match(out, m.start()) for m in re.finditer("&", out))
    if len(escape(text)) <= limit:
        assert out == escape(text)
    else:
        assert out.endswith(ELLIPSIS)


@given(
    st.lists(
        st.sampled_from(["<@U0AB>", "<https://x.example/a|label>", "plain ", "&amp;"]), max_size=40
    ),
    st.integers(min_value=1, max_value=200),
)
def test_truncate_never_cuts_a_token(pieces: list[str], limit: int) -> None:
    out = truncate("".join(pieces), limit)
    assert len(out) <= limit
    assert out.count("<") == out.count(">")


def test_truncate_examples() -> None:
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdef", 4) == "abc…"
    assert truncate("ab&amp;cd", 5) == "ab…"
    assert truncate("hi <@U0ABC> there", 8) == "hi …"
    assert truncate("abc", 1) == "…"
    with pytest.raises(ValueError, match="at least 1"):
        truncate("abc", 0)


def test_mentions_only_for_ids() -> None:
    assert mention("U0123ABC") == "<@U0123ABC>"
    assert mention("W0123") == "<@W0123>"
    assert mention("S0SOC") == "<!subteam^S0SOC>"
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert mention("u0123") == "u0123"
    assert mention("U01>|x") == "U01&gt;|x"
    assert is_mentionable("U1") and not is_mentionable("panbot")


def test_links_only_for_plain_http() -> None:
    assert (
        link("https://example.com/a?b=1&c=2", "VT <x>")
        == "<https://example.com/a?b=1&amp;c=2|VT &lt;x&gt;>"
    )
    assert link("javascript:alert(1)", "x") == "x"
    assert link("https://evil|<!channel>", "x") == "x"
    assert link(None, "<!here>") == "&lt;!here&gt;"
    assert safe_url("ftp://example.com") is None
    assert safe_url("https://") is None


def test_format_time_in_utc() -> None:
    jst = timezone(timedelta(hours=9))
    assert format_time(datetime(2026, 11, 25, 19, 0, tzinfo=jst)) == "2026-11-25 10:00 UTC"
    assert format_time(datetime(2026, 11, 25, 10, 0, tzinfo=UTC)) == "2026-11-25 10:00 UTC"
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 11, 25, 10, 0))
