"""Indicator validation and HTML stripping: pure functions, no I/O."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from investigations.enrich._text import strip_html
from investigations.enrich.indicators import (
    is_jvndb_id,
    is_md5,
    is_sha256,
    is_threat_id,
    normalize_cve,
    normalize_hash,
)

SHA256 = "ccf25e6dc0e9ba7d0f9afeb0182b5e30a83172b2086a1c88381a45e408b64f76"


def test_hashes_are_recognised_by_length_and_alphabet() -> None:
    assert is_sha256(SHA256)
    assert is_sha256(SHA256.upper())
    assert not is_sha256(SHA256[:-1])
    assert not is_sha256(SHA256[:-1] + "g")
    assert is_md5("d0d64a49c4886220d2b41701cf7a2be5")
    assert not is_md5(SHA256)
    assert not is_sha256(SHA256 + "\n")  # fullmatch: no trailing newline slips through


def test_normalize_hash_lowercases_and_refuses_junk() -> None:
    assert normalize_hash(f" {SHA256.upper()} ") == SHA256
    with pytest.raises(ValueError):
        normalize_hash("../../etc/passwd")
    with pytest.raises(ValueError):
        normalize_hash("a" * 40)  # SHA-1 only when asked for
    assert normalize_hash("A" * 40, allow_sha1=True) == "a" * 40


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CVE-2015-0036", "CVE-2015-0036"),
        ("cve-2021-44287", "CVE-2021-44287"),
        ("  Cve-2024-1234567 ", "CVE-2024-1234567"),
    ],
)
def test_normalize_cve_accepts_any_case(raw: str, expected: str) -> None:
    assert normalize_cve(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["CVE-2015-036", "CVE-15-0036", "2015-0036", "CVE-2015-0036&x=1", "CVE-２０１５-0036", ""],
)
def test_normalize_cve_refuses_malformed_ids(raw: str) -> None:
    with pytest.raises(ValueError, match="CVE"):
        normalize_cve(raw)


@given(st.text(max_size=40))
def test_normalize_cve_output_is_always_url_safe(raw: str) -> None:
    try:
        value = normalize_cve(raw)
    except ValueError:
        return
    assert value.startswith("CVE-")
    assert set(value) <= set("CVE-0123456789")


def test_threat_ids_are_bounded_digits() -> None:
    assert is_threat_id("30001")
    assert is_threat_id(280392504)
    assert not is_threat_id("0")
    assert not is_threat_id("1234567890123")  # 13 digits
    assert not is_threat_id("30001 OR 1=1")
    assert not is_threat_id("-5")
    assert not is_threat_id("٣٠٠٠١")  # Arabic-Indic digits are not ASCII digits


def test_jvndb_ids() -> None:
    assert is_jvndb_id("JVNDB-2022-000097")
    assert not is_jvndb_id("JVNDB-2022-97")
    assert not is_jvndb_id("JVNDB-2022-000097&method=x")


def test_strip_html_turns_lists_into_lines_and_unescapes() -> None:
    text = "概要です。<ul><li>XSS - CVE-2022-41993</li><li>A &amp; B</li></ul>  "
    assert strip_html(text) == "概要です。\n- XSS - CVE-2022-41993\n- A & B"


def test_strip_html_drops_tags_but_keeps_their_text() -> None:
    assert strip_html('<a href="https://x.example/">vendor</a><br/>line 2') == "vendor\nline 2"
    assert strip_html("<script>ignored()</script>") == "ignored()"
    assert strip_html("plain   text\u3000here") == "plain text here"
