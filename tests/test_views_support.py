"""Shared helpers for the views tests: Block Kit validation with slack-sdk's models, samples."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.views.limits import MAX_BLOCKS_JSON
from bot.views.model import AlertCard, SlackMessage
from investigations.finding import Fact, Finding, Message, SourceResult, SourceStatus

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)

HOSTILE = (
    "<!channel>",
    "<!here> <!everyone>",
    "<@UEVIL1> hi",
    "<https://evil.example|click here>",
    "<!subteam^SEVIL>",
    "a & b > c < d",
    "[bold red]rich markup[/bold red]",
    "*bold* _it_ `code` ~strike~",
    "x" * 10_000,
    "<" * 3000 + "!channel>",
)

# Slack tokens the views may legitimately emit: mentions of IDs and plain http(s) links.
_ALLOWED_TOKEN = re.compile(r"<@[UW][A-Z0-9]+>|<!subteam\^S[A-Z0-9]+>|<https?://[^|<>\s]+\|[^<>]*>")


def texts_in(node: Any) -> Iterator[str]:
    """Yield every `text` string of text objects anywhere in a payload."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts_in(item)


def assert_no_injection(payload: Any) -> None:
    """Assert no outside text became a Slack mention, broadcast or link."""
    for text in texts_in(payload):
        for token in re.findall(r"<[^>]*>?", text):
            assert _ALLOWED_TOKEN.fullmatch(token), f"unexpected Slack token {token[:60]!r}"
            assert "EVIL" not in token
            assert "evil" not in token
        for amp in re.finditer("&", text):
            assert text.startswith(("&amp;", "&lt;", "&gt;"), amp.start()), text[amp.start() :][:10]


def _check_limits(block: dict[str, Any]) -> None:
    assert len(block.get("block_id", "")) <= 255
    for field in block.get("fields", []):
        assert 0 < len(field["text"]) <= 2000
    text = block.get("text")
    if isinstance(text, dict):
        assert 0 < len(text["text"]) <= 3000
    for element in [*block.get("elements", []), block.get("accessory") or {}]:
        assert len(element.get("action_id", "")) <= 255
        assert len(element.get("value", "")) <= 2000
        if isinstance(element.get("text"), dict):
            assert len(element["text"]["text"]) > 0


def assert_valid_blocks(blocks: list[dict[str, Any]], max_blocks: int) -> None:
    """Assert every block parses, validates and round-trips with slack-sdk's Block Kit models."""
    assert 0 < len(blocks) <= max_blocks
    for raw in blocks:
        parsed = Block.parse(copy.deepcopy(raw))
        assert parsed is not None, f"unknown block {raw}"
        parsed.validate_json()
        assert parsed.to_dict() == raw
        _check_limits(raw)
    assert len(json.dumps(blocks, ensure_ascii=False)) <= MAX_BLOCKS_JSON


def assert_valid_message(message: SlackMessage) -> None:
    """Assert a message is postable: fallback text, no unfurls, valid blocks."""
    assert message.text.strip()
    assert len(message.text) <= 4000
    assert message.unfurl_links is False
    assert message.unfurl_media is False
    assert_valid_blocks(message.blocks, 50)
    assert_no_injection(message.to_payload())


def assert_valid_view(view: dict[str, Any], kind: str) -> None:
    """Assert a modal or Home view validates and round-trips with slack-sdk's View model."""
    assert view["type"] == kind
    parsed = View(**copy.deepcopy(view))
    parsed.validate_json()
    assert parsed.to_dict() == view
    assert_valid_blocks(view["blocks"], 100)
    assert len(view.get("private_metadata", "")) <= 3000
    assert_no_injection(view)


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    """Return the action_ids of every interactive element, in order."""
    found: list[str] = []
    for block in blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if "action_id" in element:
                found.append(element["action_id"])
    return found


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return every button element."""
    return [
        e
        for b in blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if e["type"] == "button"
    ]


def sample_card(**changes: Any) -> AlertCard:
    """Return a realistic vulnerability alert card (the guide's example)."""
    base: dict[str, Any] = {
        "alert_id": 12,
        "rule": "vulnerability",
        "time": NOW,
        "threat_name": "Microsoft Internet Explorer Memory Corruption Vulnerability",
        "threat_id": "37832",
        "severity": "critical",
        "action": "alert",
        "our_host": "10.0.0.5",
        "other_side": "203.0.113.9",
        "direction": "outside_to_inside",
        "application": "web-browsing",
        "firewall": "PA-3220 (007051000012345)",
        "count": 1,
        "cves": ("CVE-2015-0036",),
        "host_names": ("pc-tanaka",),
        "host_users": ("corp\\tanaka",),
    }
    base.update(changes)
    return AlertCard(**base)


def hostile_card(text: str, **changes: Any) -> AlertCard:
    """Return a card whose every outside string is hostile text."""
    return sample_card(
        threat_name=text,
        threat_id=text,
        severity=text,
        action=text,
        our_host=text,
        other_side=text,
        application=text,
        firewall=text,
        host_names=(text, text),
        host_users=(text,),
        cves=(text, text),
        sender=text,
        subject=text,
        recipient=text,
        file_name=text,
        file_type=text,
        file_hash=text,
        file_verdict=text,
        corr_object=text,
        corr_summary=text,
        evidence_count=100,
        host_patched_for=(text,),
        monitored_until=NOW + timedelta(days=7),
        isolation_state="requested",
        assignee=text,
        acked_by=text,
        acked_at=NOW,
        patched_note=True,
        **changes,
    )


def sample_finding(**changes: Any) -> Finding:
    """Return a WildFire finding with every kind of source status."""
    base: dict[str, Any] = {
        "playbook": "wildfire",
        "subject": "alert 12",
        "facts": (
            Fact(label="fact.file_name", value="invoice.js"),
            Fact(label="fact.sha256", value="a" * 64),
            Fact(label="fact.vt_detections", value="0 / 59"),
            Fact(label="fact.network_activity", value="dns evil.example\ntcp 198.51.100.7:443"),
        ),
        "warnings": (Message(key="warning.zero_day"),),
        "sources": (
            SourceResult(
                name="wildfire",
                status=SourceStatus.OK,
                link="https://wildfire.paloaltonetworks.com/wildfire/reportlist?search=aaa",
            ),
            SourceResult(name="virustotal", status=SourceStatus.NOT_FOUND),
            SourceResult(name="threatvault", status=SourceStatus.OFF),
            SourceResult(name="nvd", status=SourceStatus.FAILED, detail="HTTP 403 (throttled)"),
            SourceResult(name="jvn", status=SourceStatus.PENDING),
        ),
        "recommendation": Message(key="recommend.isolate_and_restore", params={"host": "10.0.0.5"}),
        "actions": ("request_isolation", "mark_monitored"),
    }
    base.update(changes)
    return Finding(**base)
