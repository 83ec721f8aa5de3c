"""Every builder's output is valid Block Kit in both languages, safe and within limits."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import Catalog, Language
from bot.views import (
    ACTION_IDS,
    AlertCard,
    AlertLine,
    AuditEntry,
    DigestSummary,
    HostHistory,
    HostMark,
    PollStatus,
    StatusSummary,
    actions_block_id,
    alert_parent,
    already_done,
    close_modal,
    digest,
    error_message,
    finding_reply,
    help_text,
    home_view,
    host_view,
    isolation_approval_prompt,
    isolation_modal,
    isolation_retry,
    not_available_yet,
    parse_isolation_block_id,
    refusal,
    status_view,
    thread_note,
)
from bot.views.thread import IsolationOutcome
from investigations.finding import Fact, Message, SourceResult, SourceStatus
from tests.test_views_support import (
    HOSTILE,
    NOW,
    action_ids,
    assert_valid_message,
    assert_valid_view,
    buttons,
    hostile_card,
    sample_card,
    sample_finding,
    texts_in,
)

LANGS: tuple[Language, ...] = ("en", "ja")

# INTERFACE.md's button action_ids, exactly.
INTERFACE_ACTIONS = {
    "ack",
    "assign",
    "enrich",
    "mark_patched",
    "mark_monitored",
    "request_isolation",
    "approve_isolation",
    "reject_isolation",
    "release_isolation",
    "close_alert",
}


INTERFACE_MD = Path(__file__).resolve().parents[2] / "shared" / "design" / "INTERFACE.md"


def test_action_ids_are_interface_mds() -> None:
    assert set(ACTION_IDS) == INTERFACE_ACTIONS
    if not INTERFACE_MD.is_file():
        pytest.skip("../shared/design/INTERFACE.md is absent")
    table = INTERFACE_MD.read_text(encoding="utf-8").split("Buttons, by `action_id`")[1]
    documented = set(re.findall(r"^\| `([a-z_]+)`(?: / `([a-z_]+)`)?", table, re.MULTILINE))
    assert {name for pair in documented for name in pair if name} == INTERFACE_ACTIONS


@pytest.fixture(params=LANGS)
def catalog(request: pytest.FixtureRequest) -> Catalog:
    return Catalog(request.param)


def _all_text(payload: Any) -> str:
    return "\n".join(texts_in(payload))


# --- alert parent -------------------------------------------------------------------------


def test_parent_states_every_required_fact(catalog: Catalog) -> None:
    message = alert_parent(sample_card(count=3, last_seen=NOW + timedelta(minutes=45)), catalog)
    assert_valid_message(message)
    text = _all_text(message.blocks)
    for fact in (
        "Microsoft Internet Explorer Memory Corruption Vulnerability",
        "37832",
        "critical",
        "alert",
        "10.0.0.5",
        "pc-tanaka",
        "203.0.113.9",
        "web-browsing",
        "2026-11-25 10:00 UTC",
        "2026-11-25 10:45 UTC",
        "PA-3220",
        "CVE-2015-0036",
        catalog.t("rule.vulnerability"),
        catalog.t("direction.outside_to_inside"),
    ):
        assert fact in text
    assert "3" in catalog.t("alert.count_many", count=3)
    assert catalog.t("alert.count_many_last", count=3, last_at="X").replace(
        "X", ""
    ) in text.replace("2026-11-25 10:45 UTC", "")


def test_direction_in_plain_words() -> None:
    en = alert_parent(sample_card(direction="inside_to_outside"), Catalog("en"))
    ja = alert_parent(sample_card(direction="outside_to_inside"), Catalog("ja"))
    assert "inside → outside" in _all_text(en.blocks)
    assert "外部 → 内部" in _all_text(ja.blocks)


@pytest.mark.parametrize(
    ("changes", "facts"),
    [
        (
            {
                "rule": "antivirus",
                "sender": "a@example.jp",
                "subject": "請求書",
                "recipient": "b@corp",
            },
            ["a@example.jp", "請求書", "b@corp"],
        ),
        (
            {
                "rule": "wildfire",
                "file_name": "invoice.js",
                "file_type": "script",
                "file_hash": "f" * 64,
                "file_verdict": "malicious",
            },
            ["invoice.js", "script", "f" * 64, "malicious"],
        ),
        (
            {"rule": "spyware", "threat_name": "WireLurker Command and Control Traffic"},
            ["WireLurker"],
        ),
        (
            {
                "rule": "correlation",
                "corr_object": "Compromised host: C2 beacon",
                "corr_summary": "Host visited known malware URL (100 times).",
                "evidence_count": 100,
            },
            ["Compromised host: C2 beacon", "known malware URL (100 times)", "100"],
        ),
    ],
)
def test_parent_shows_each_rules_key_facts(
    catalog: Catalog, changes: dict[str, Any], facts: list[str]
) -> None:
    message = alert_parent(sample_card(**changes), catalog)
    assert_valid_message(message)
    text = _all_text(message.blocks)
    for fact in facts:
        assert fact in text
    assert catalog.t(f"rule.{changes['rule']}") in text


def test_open_parent_buttons_carry_alert_id(catalog: Catalog) -> None:
    message = alert_parent(sample_card(alert_id=4711), catalog)
    ids = action_ids(message.blocks)
    assert ids == [
        "ack",
        "assign",
        "enrich",
        "mark_patched",
        "mark_monitored",
        "request_isolation",
        "close_alert",
    ]
    assert set(ids) <= INTERFACE_ACTIONS
    assert all(b["value"] == "4711" for b in buttons(message.blocks))
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert actions[0]["block_id"] == actions_block_id(4711) == "alert:4711:actions"
    select = next(e for e in actions[0]["elements"] if e["action_id"] == "assign")
    assert select["type"] == "users_select"


def test_acknowledged_parent_shows_who_and_drops_ack(catalog: Catalog) -> None:
    card = sample_card(state="acknowledged", acked_by="U0ACK", acked_at=NOW, assignee="U0ASSIGN")
    message = alert_parent(card, catalog)
    assert_valid_message(message)
    assert "ack" not in action_ids(message.blocks)
    text = _all_text(message.blocks)
    assert "<@U0ACK>" in text
    assert "<@U0ASSIGN>" in text
    assert "2026-11-25 10:00 UTC" in text
    select = next(
        e for b in message.blocks for e in b.get("elements", []) if e.get("action_id") == "assign"
    )
    assert select["initial_user"] == "U0ASSIGN"


def test_closed_parent_offers_only_enrich(catalog: Catalog) -> None:
    card = sample_card(
        state="closed", verdict="false_positive", closed_by="U0CLOSER", closed_at=NOW
    )
    message = alert_parent(card, catalog)
    assert_valid_message(message)
    assert action_ids(message.blocks) == ["enrich"]
    text = _all_text(message.blocks)
    assert catalog.t("verdict.false_positive") in text
    assert "<@U0CLOSER>" in text


@pytest.mark.parametrize(
    ("isolation", "present", "absent"),
    [
        (None, "request_isolation", "release_isolation"),
        ("requested", None, "request_isolation"),
        ("applied", "release_isolation", "request_isolation"),
        ("approved", "release_isolation", "request_isolation"),
        ("released", "request_isolation", "release_isolation"),
        ("rejected", "request_isolation", "release_isolation"),
    ],
)
def test_isolation_buttons_follow_state(
    isolation: Any, present: str | None, absent: str, catalog: Catalog
) -> None:
    message = alert_parent(sample_card(isolation_state=isolation), catalog)
    assert_valid_message(message)
    ids = action_ids(message.blocks)
    if present is not None:
        assert present in ids
    assert absent not in ids
    if isolation is not None:
        assert catalog.t(f"triage.isolation.{isolation}", host="10.0.0.5") in _all_text(
            message.blocks
        )


def test_patched_note_suggests_no_impact(catalog: Catalog) -> None:
    card = sample_card(patched_note=True, host_patched_for=("CVE-2015-0036",))
    message = alert_parent(card, catalog)
    assert_valid_message(message)
    assert catalog.t("verdict.no_impact").lower() in _all_text(message.blocks).lower()


def test_monitored_state_shown(catalog: Catalog) -> None:
    until = NOW + timedelta(days=7)
    message = alert_parent(sample_card(monitored_until=until), catalog)
    assert "2026-12-02 10:00 UTC" in _all_text(message.blocks)


def test_block_ids_are_stable(catalog: Catalog) -> None:
    first = alert_parent(sample_card(), catalog)
    again = alert_parent(sample_card(count=9, state="acknowledged", acked_by="U0X"), catalog)
    assert [b.get("block_id") for b in first.blocks] == [b.get("block_id") for b in again.blocks]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_parent_is_escaped_and_fits(hostile: str, catalog: Catalog) -> None:
    message = alert_parent(hostile_card(hostile), catalog)
    assert_valid_message(message)  # includes: no mention, broadcast or link survives
    assert len(json.dumps(message.blocks, ensure_ascii=False)) <= 12_000
    assert all(b["value"] == "12" for b in buttons(message.blocks))


def test_hostile_text_still_readable(catalog: Catalog) -> None:
    message = alert_parent(sample_card(threat_name="<!channel> A&B"), catalog)
    assert "&lt;!channel&gt; A&amp;B" in _all_text(message.blocks)
    assert "<!channel>" not in message.text


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        AlertCard(alert_id=1, rule="spyware", time=NOW.replace(tzinfo=None))


# --- finding -------------------------------------------------------------------------------


def test_finding_reply_lists_everything(catalog: Catalog) -> None:
    message = finding_reply(sample_finding(), catalog, 12)
    assert_valid_message(message)
    text = _all_text(message.blocks)
    warning = catalog.t("warning.zero_day")
    assert warning in text
    # the warning comes before the facts
    assert text.index(warning) < text.index("invoice.js")
    for status in ("ok", "not_found", "off", "pending"):
        assert catalog.t(f"source_status.{status}") in text
    assert catalog.t("source_status.failed", reason="HTTP 403 (throttled)") in text
    assert "<https://wildfire.paloaltonetworks.com/wildfire/reportlist?search=aaa|WildFire>" in text
    assert catalog.t("finding.nvd_notice") in text
    assert catalog.t("recommend.isolate_and_restore", host="10.0.0.5") in text
    assert action_ids(message.blocks) == ["request_isolation", "mark_monitored"]
    assert all(b["value"] == "12" for b in buttons(message.blocks))


def test_bare_indicator_finding_has_no_buttons(catalog: Catalog) -> None:
    finding = sample_finding(playbook="indicator", subject="198.51.100.7")
    message = finding_reply(finding, catalog, None)
    assert_valid_message(message)
    assert action_ids(message.blocks) == []


def test_finding_without_nvd_has_no_notice(catalog: Catalog) -> None:
    finding = sample_finding(sources=(SourceResult(name="virustotal", status=SourceStatus.OK),))
    assert catalog.t("finding.nvd_notice") not in _all_text(
        finding_reply(finding, catalog, 1).blocks
    )


def test_unknown_fact_label_raises_in_strict_catalog() -> None:
    finding = sample_finding(facts=(Fact(label="fact.no_such_label", value="x"),))
    with pytest.raises(KeyError, match=r"fact\.no_such_label"):
        finding_reply(finding, Catalog("en"), 1)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_finding_is_escaped_and_fits(hostile: str, catalog: Catalog) -> None:
    finding = sample_finding(
        subject=hostile,
        facts=tuple(Fact(label="fact.description", value=hostile) for _ in range(30)),
        warnings=(
            Message(key="warning.patched_already", params={"host": hostile, "subjects": hostile}),
        ),
        sources=(
            SourceResult(name=hostile, status=SourceStatus.FAILED, detail=hostile, link=hostile),
            SourceResult(name="virustotal", status=SourceStatus.OK, link="javascript:alert(1)"),
            SourceResult(
                name="jvn", status=SourceStatus.OK, link="https://evil.example/|<!channel>"
            ),
        ),
        recommendation=Message(key="recommend.monitor", params={"host": hostile}),
    )
    message = finding_reply(finding, catalog, 12)
    assert_valid_message(message)
    assert "javascript:" not in "".join(t for t in texts_in(message.blocks) if t.startswith("<"))


# --- thread replies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "params", "expected"),
    [
        ("note.acked", {"by": "U0ACK"}, ["<@U0ACK>"]),
        ("note.assigned", {"assignee": "U0BOB", "by": "U0ANN"}, ["<@U0BOB>", "<@U0ANN>"]),
        (
            "note.patched",
            {"by": "U0A", "host": "10.0.0.5", "subjects": "CVE-2015-0036"},
            ["CVE-2015-0036"],
        ),
        (
            "note.monitored",
            {"by": "U0A", "host": "10.0.0.5", "until": "2026-12-02T10:00:00+00:00"},
            ["2026-12-02 10:00 UTC"],
        ),
        (
            "note.isolation_requested",
            {"requester": "U0REQ", "host": "10.0.0.5", "reason": "C2 <!channel>"},
            ["<@U0REQ>", "C2 &lt;!channel&gt;"],
        ),
        ("note.isolation_approved", {"approver": "U0APP", "host": "10.0.0.5"}, ["<@U0APP>"]),
        (
            "note.isolation_applied",
            {"host": "10.0.0.5", "tag": "panbot-quarantine"},
            ["panbot-quarantine"],
        ),
        ("note.isolation_apply_failed", {"reason": "HTTP 403"}, ["HTTP 403"]),
        ("note.isolation_released", {"by": "U0REL", "host": "10.0.0.5"}, ["<@U0REL>"]),
        ("note.closed", {"by": "U0C", "verdict": "remediated"}, ["<@U0C>"]),
        ("note.reminder", {"minutes": 15, "oncall": "S0ONCALL"}, ["15", "<!subteam^S0ONCALL>"]),
        (
            "note.watch_log",
            {"host": "10.0.0.5", "rule": "spyware", "threat": "WireLurker", "at": NOW.isoformat()},
            ["WireLurker", "2026-11-25 10:00 UTC"],
        ),
        ("note.enrich_started", {"by": "panbot"}, ["panbot"]),
    ],
)
def test_thread_notes(
    key: str, params: dict[str, Any], expected: list[str], catalog: Catalog
) -> None:
    message = thread_note(Message(key=key, params=params), catalog)
    assert_valid_message(message)
    for piece in expected:
        assert piece in message.text
        assert piece in _all_text(message.blocks)


def test_note_translates_codes() -> None:
    message = thread_note(
        Message(key="note.closed", params={"by": "U0C", "verdict": "no_impact"}), Catalog("ja")
    )
    assert "影響なし" in message.text


def test_isolation_prompt(catalog: Catalog) -> None:
    message = isolation_approval_prompt(
        12, 3, "U0REQ", "beaconing <@UEVIL1>", 24, ["U0APP", "S0SOC"], catalog, ip="10.0.0.5"
    )
    assert_valid_message(message)
    assert action_ids(message.blocks) == ["approve_isolation", "reject_isolation"]
    assert all(b["value"] == "12" for b in buttons(message.blocks))
    block_id = next(b["block_id"] for b in message.blocks if b["type"] == "actions")
    assert parse_isolation_block_id(block_id) == (12, 3)
    text = _all_text(message.blocks)
    for piece in ("<@U0REQ>", "<@U0APP>", "<!subteam^S0SOC>", "10.0.0.5", "&lt;@UEVIL1&gt;"):
        assert piece in text
    assert catalog.t("isolation.duration_hours", hours=24) in text


def test_isolation_prompt_without_duration_or_approvers(catalog: Catalog) -> None:
    message = isolation_approval_prompt(1, 1, "U0REQ", "r", None, [], catalog)
    assert_valid_message(message)
    text = _all_text(message.blocks)
    assert catalog.t("isolation.duration_none") in text
    assert catalog.t("isolation.approvers_none") in text


def test_isolation_retry(catalog: Catalog) -> None:
    message = isolation_retry(12, 3, "connection refused", catalog)
    assert_valid_message(message)
    assert action_ids(message.blocks) == ["approve_isolation"]
    assert buttons(message.blocks)[0]["value"] == "12"
    assert "connection refused" in message.text


def _decided(catalog: Catalog, outcome: IsolationOutcome) -> str:
    message = isolation_approval_prompt(
        12,
        3,
        "U0REQ",
        "beaconing <@UEVIL1>",
        24,
        ["U0APP"],
        catalog,
        ip="10.0.0.5",
        outcome=outcome,
    )
    assert_valid_message(message)
    assert action_ids(message.blocks) == []  # decided: the buttons are gone
    text = _all_text(message.blocks)
    assert "&lt;@UEVIL1&gt;" in text and "<@U0REQ>" in text  # the request stays readable
    assert message.text in text
    return text


def test_isolation_prompt_once_approved_applied_and_released(catalog: Catalog) -> None:
    later = NOW + timedelta(minutes=2)
    outcome = IsolationOutcome(
        "released",
        decided_by="U0APP",
        decided_at=NOW,
        applied_at=later,
        released_by="panbot",
        released_at=later + timedelta(hours=24),
    )
    text = _decided(catalog, outcome)
    approved = catalog.t(
        "isolation.outcome.approved",
        host="10.0.0.5",
        approver="<@U0APP>",
        at="2026-11-25 10:00 UTC",
    )
    assert approved in text
    assert catalog.t("isolation.outcome.applied", at="2026-11-25 10:02 UTC") in text
    released = catalog.t(
        "isolation.outcome.released", by=catalog.t("common.panbot"), at="2026-11-26 10:02 UTC"
    )
    assert released in text


def test_isolation_prompt_once_rejected_or_failed(catalog: Catalog) -> None:
    rejected = _decided(catalog, IsolationOutcome("rejected", decided_by="U0APP", decided_at=NOW))
    assert ":no_entry:" in rejected
    assert (
        catalog.t(
            "isolation.outcome.rejected",
            host="10.0.0.5",
            approver="<@U0APP>",
            at="2026-11-25 10:00 UTC",
        )
        in rejected
    )
    failed = _decided(
        catalog,
        IsolationOutcome("apply_failed", decided_by="U0APP", decided_at=NOW, last_error="<x> down"),
    )
    assert catalog.t("isolation.outcome.apply_failed", reason="&lt;x&gt; down") in failed
    # A request still waiting keeps its buttons, with or without an outcome given.
    waiting = isolation_approval_prompt(
        1, 1, "U0REQ", "r", None, [], catalog, outcome=IsolationOutcome("requested")
    )
    assert action_ids(waiting.blocks) == ["approve_isolation", "reject_isolation"]
    unknown = _decided(catalog, IsolationOutcome("approved"))  # who and when not recorded
    assert catalog.t("triage.isolation.approved", host="10.0.0.5") in unknown


def test_isolation_retry_once_settled(catalog: Catalog) -> None:
    message = isolation_retry(12, 3, "connection refused", catalog, settled=True)
    assert_valid_message(message)
    assert action_ids(message.blocks) == []
    assert catalog.t("isolation.retry_settled") in _all_text(message.blocks)
    assert "connection refused" in message.text


def test_parse_isolation_block_id_rejects_others() -> None:
    assert parse_isolation_block_id("alert:1:actions") is None
    assert parse_isolation_block_id("isolation:x:1") is None


# --- commands, refusals ----------------------------------------------------------------------


def test_help(catalog: Catalog) -> None:
    message = help_text(catalog)
    assert_valid_message(message)
    text = _all_text(message.blocks)
    for command in ("investigate", "host", "status", "help"):
        assert f"/pan {command}" in text


def _status() -> StatusSummary:
    return StatusSummary(
        open_by_state={"open": 3, "acknowledged": 2},
        last_polls=[
            PollStatus("vulnerability", NOW, None),
            PollStatus("wildfire", None, "HTTP 403 <!channel>"),
        ],
        firewall_ok=False,
        firewall_detail="connect timeout",
    )


def test_status(catalog: Catalog) -> None:
    message = status_view(_status(), catalog)
    assert_valid_message(message)
    text = _all_text(message.blocks)
    for piece in (
        catalog.t("state.open"),
        "3",
        catalog.t("rule.vulnerability"),
        "2026-11-25 10:00 UTC",
        catalog.t("common.never"),
        "HTTP 403 &lt;!channel&gt;",
        catalog.t("status.firewall_down"),
        "connect timeout",
    ):
        assert piece in text


def _history(alerts: int = 2, audit: int = 2) -> HostHistory:
    return HostHistory(
        ip="10.0.0.5",
        names=("pc-tanaka",),
        users=("tanaka",),
        patched_for=("CVE-2015-0036",),
        monitored_until=NOW + timedelta(days=7),
        isolated_since=NOW,
        isolated_until=None,
        alerts=[AlertLine(i, "spyware", "WireLurker", "open", NOW) for i in range(alerts)],
        audit=[AuditEntry(NOW, "U0ACK", "ack", "<!here>") for _ in range(audit)],
    )


def test_host_view(catalog: Catalog) -> None:
    message = host_view(_history(), catalog)
    assert_valid_message(message)
    text = _all_text(message.blocks)
    for piece in ("10.0.0.5", "pc-tanaka", "tanaka", "CVE-2015-0036", "2026-12-02 10:00 UTC"):
        assert piece in text
    assert "WireLurker" in text
    assert "<@U0ACK>" in text
    assert catalog.t("audit.ack") in text


def test_host_view_caps_long_lists(catalog: Catalog) -> None:
    message = host_view(_history(alerts=500, audit=500), catalog)
    assert_valid_message(message)
    assert catalog.t("common.and_more", count=480) in _all_text(message.blocks)


def test_error_and_answers(catalog: Catalog) -> None:
    error = error_message(
        Message(key="error.bad_indicator", params={"value": "<!channel>"}), catalog
    )
    assert_valid_message(error)
    assert "&lt;!channel&gt;" in error.text
    for message in (
        not_available_yet("enrich", catalog),
        refusal("approve_isolation", catalog, "not_approver"),
        refusal("ack", catalog),
        refusal("approve_isolation", catalog, "own_request"),
    ):
        assert_valid_message(message)
    already = already_done("ack", catalog, by="U0X", at=NOW)
    assert_valid_message(already)
    assert "<@U0X>" in already.text
    assert "2026-11-25 10:00 UTC" in already.text
    assert already_done("close_alert", catalog).text == catalog.t("already.close_alert.anonymous")
    assert already_done("whatever", catalog, by="U0X").text == catalog.t(
        "already.generic", by="<@U0X>"
    )


def test_refusal_names_the_action() -> None:
    assert "“Acknowledge”" in refusal("ack", Catalog("en")).text
    assert "「確認」" in refusal("ack", Catalog("ja")).text


# --- views ---------------------------------------------------------------------------------


def test_home(catalog: Catalog) -> None:
    watched = [HostMark("10.0.0.5", NOW, NOW + timedelta(days=7), 12)]
    isolated = [HostMark(f"10.0.1.{i}", NOW, None, None) for i in range(300)]
    view = home_view(_status(), watched, isolated, catalog)
    assert_valid_view(view, "home")
    text = _all_text(view)
    assert "10.0.0.5" in text
    assert "2026-12-02 10:00 UTC" in text
    assert catalog.t("common.and_more", count=280) in text


def test_isolation_modal(catalog: Catalog) -> None:
    view = isolation_modal(12, "10.0.0.5", catalog)
    assert_valid_view(view, "modal")
    assert view["callback_id"] == "isolation_request"
    assert view["private_metadata"] == "12"
    reason = next(b for b in view["blocks"] if b.get("block_id") == "reason")
    assert reason["optional"] is False
    assert reason["element"]["action_id"] == "reason"
    duration = next(b for b in view["blocks"] if b.get("block_id") == "duration")
    assert duration["optional"] is True
    assert duration["element"]["type"] == "number_input"


def test_isolation_modal_escapes_ip() -> None:
    view = isolation_modal(1, "<!channel>", Catalog("en"))
    assert_valid_view(view, "modal")


def test_close_modal(catalog: Catalog) -> None:
    view = close_modal(12, catalog)
    assert_valid_view(view, "modal")
    assert view["callback_id"] == "close_alert"
    assert view["private_metadata"] == "12"
    verdict = next(b for b in view["blocks"] if b.get("block_id") == "verdict")
    assert [o["value"] for o in verdict["element"]["options"]] == [
        "no_impact",
        "false_positive",
        "remediated",
    ]
    note = next(b for b in view["blocks"] if b.get("block_id") == "note")
    assert note["optional"] is True


def test_digest(catalog: Catalog) -> None:
    summary = DigestSummary(
        day=date(2026, 11, 25),
        new_by_rule={"vulnerability": 4, "spyware": 1},
        closed_by_verdict={"no_impact": 3},
        open_by_state={"open": 2},
        oldest_open=[AlertLine(7, "spyware", "<!channel>", "open", NOW)],
    )
    message = digest(summary, catalog)
    assert_valid_message(message)
    text = _all_text(message.blocks)
    assert "2026-11-25" in message.text
    assert catalog.t("rule.vulnerability") in text
    assert catalog.t("verdict.no_impact") in text
    assert "&lt;!channel&gt;" in text


def test_closed_alert_with_an_active_isolation_keeps_its_release_button() -> None:
    from bot.i18n import Catalog
    from bot.views.alert import alert_parent
    from bot.views.model import AlertCard

    catalog = Catalog("en")
    base = {"alert_id": 7, "rule": "spyware", "time": NOW, "state": "closed"}
    isolated = alert_parent(AlertCard(**base, isolation_state="applied"), catalog)
    released = alert_parent(AlertCard(**base, isolation_state="released"), catalog)
    assert "release_isolation" in action_ids(isolated.blocks)
    assert "release_isolation" not in action_ids(released.blocks)
    assert "ack" not in action_ids(isolated.blocks)
