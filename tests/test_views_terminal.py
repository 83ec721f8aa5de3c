"""The terminal renderer shows what Slack would: header, facts, buttons, thread replies."""

from __future__ import annotations

from rich.console import Console

from bot.i18n import Catalog
from bot.views import alert_parent, finding_reply, isolation_modal, render_to_console
from bot.views.terminal import mrkdwn_to_text
from tests.test_views_support import sample_card, sample_finding


def _render(message: object, *, thread: bool) -> str:
    console = Console(record=True, width=100, color_system=None)
    render_to_console(message, console, thread=thread)  # type: ignore[arg-type]
    return console.export_text()


def test_parent_renders_facts_and_buttons() -> None:
    out = _render(alert_parent(sample_card(), Catalog("en")), thread=False)
    for piece in (
        "Vulnerability exploit: Microsoft Internet Explorer Memory Corruption",
        "10.0.0.5",
        "203.0.113.9",
        "outside → inside",
        "CVE-2015-0036",
        "2026-11-25 10:00 UTC",
        "[ Acknowledge ]",
        "[ Close… ]",
    ):
        assert piece in out


def test_japanese_parent_renders() -> None:
    out = _render(alert_parent(sample_card(), Catalog("ja")), thread=False)
    assert "脆弱性攻撃" in out
    assert "外部 → 内部" in out
    assert "[ 確認 ]" in out


def test_thread_reply_is_indented_and_readable() -> None:
    out = _render(finding_reply(sample_finding(), Catalog("en"), 12), thread=True)
    lines = [line for line in out.splitlines() if line.strip()]
    assert all(line.startswith("    ") for line in lines)
    assert "invoice.js" in out
    assert "WildFire (https://wildfire.paloaltonetworks.com" in out
    assert "[ Request isolation ]" in out


def test_posted_payload_dict_and_hostile_markup() -> None:
    payload = {
        "text": "x",
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "[bold]&lt;!channel&gt; &amp; *b*"},
            }
        ],
    }
    out = _render(payload, thread=False)
    assert "[bold]<!channel> & b" in out


def test_text_only_payload_and_modal() -> None:
    assert "hello <@U1> & co" not in _render({"text": "hello <@U1> &amp; co"}, thread=True)
    assert "hello @U1 & co" in _render({"text": "hello <@U1> &amp; co"}, thread=True)
    assert "Reason" in _render(isolation_modal(1, "10.0.0.5", Catalog("en")), thread=False)


def test_mrkdwn_tokens() -> None:
    text = mrkdwn_to_text("<!subteam^S1> <!here> <https://a.example|A> <https://b.example> *x*")
    assert text.plain == "@S1 @here A (https://a.example) https://b.example x"
    assert any(span.style == "bold" for span in text.spans)
