"""Triage buttons through signed requests to the running bot, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.fakeslack.payloads import app_home_opened_payload, slash_command_body
from storage import Database, alerts, outbox
from storage.models import AuditRow, HostPatch, HostRow
from tests.harness import World, response_json, world
from tests.triage_support import Triaged, close_values, triaged, wait_until

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


@pytest.fixture
def t(w: World, database: Database) -> Iterator[Triaged]:
    with triaged(w, database) as running:
        yield running


def test_ack_shows_who_and_when_and_a_second_press_is_told(t: Triaged) -> None:
    alert = t.alert_id("vulnerability")
    edits_before = t.parent(alert).edits
    first = t.press("ack", alert, ALICE)
    [row] = t.wait_audit(alert, "ack")
    t.settle()
    with t.db.session() as s:
        stored = alerts.get(s, alert)
        assert stored is not None
        assert (stored.state, stored.acked_by) == ("acknowledged", ALICE)
        assert stored.acked_at is not None
        host = stored.host
    assert (row.actor, row.host) == (ALICE, host)
    parent = t.parent(alert)
    assert parent.edits > edits_before
    assert f"Acknowledged by <@{ALICE}> at" in parent.rendered
    assert '"action_id": "ack"' not in json.dumps(parent.blocks)  # the button is gone
    assert f"Acknowledged by <@{ALICE}>." in t.thread_text(alert)
    assert t.answers(first) == []  # success needs no private answer

    again = t.press("ack", alert, BOB)
    assert f"Already acknowledged by <@{ALICE}>" in t.answer(again).rendered
    assert t.answer(again).body["response_type"] == "ephemeral"
    assert t.actions(alert).count("ack") == 1


def test_simultaneous_acks_have_one_outcome(t: Triaged) -> None:
    alert = t.alert_id("spyware")
    users = [ALICE, BOB, ALICE, BOB]
    barrier = threading.Barrier(len(users))
    ids: list[str] = []

    def press(user: str) -> None:
        barrier.wait()
        ids.append(t.press("ack", alert, user))

    threads = [threading.Thread(target=press, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until(lambda: sum(len(t.answers(i)) for i in ids) == len(users) - 1)
    answers = [a.rendered for i in ids for a in t.answers(i)]
    assert len(answers) == len(users) - 1
    [winner] = t.wait_audit(alert, "ack")
    assert all(f"Already acknowledged by <@{winner.actor}>" in a for a in answers)
    t.settle()
    assert [m.text for m in t.replies(alert) if "Acknowledged by" in m.text] == [
        f"Acknowledged by <@{winner.actor}>."
    ]


def test_assign_sets_and_shows_the_assignee(t: Triaged) -> None:
    alert = t.alert_id("antivirus")
    t.press("assign", alert, ALICE, selected_user=BOB)
    [row] = t.wait_audit(alert, "assign")
    assert row.detail == {"assignee": BOB}
    t.settle()
    with t.db.session() as s:
        stored = alerts.get(s, alert)
        assert stored is not None and stored.assignee == BOB
    assert f"Assignee: <@{BOB}>" in t.parent(alert).rendered
    assert f"Assigned to <@{BOB}> by <@{ALICE}>" in t.thread_text(alert)
    same = t.press("assign", alert, ALICE, selected_user=BOB)
    assert "Already" in t.answer(same).rendered
    assert t.actions(alert).count("assign") == 1


def test_forged_presses_change_nothing(t: Triaged) -> None:
    alert = t.alert_id("wildfire")
    with t.db.session() as s:
        queued = outbox.counts(s)
    bad_value = t.press("ack", alert, ALICE, value="1 OR 1=1")
    assert "not come from" in t.answer(bad_value).rendered
    unknown = t.press("ack", alert, ALICE, value="999999")
    assert "There is no alert 999999" in t.answer(unknown).rendered
    bad_block = t.press("assign", alert, ALICE, selected_user=BOB, block_id="alert:x:actions")
    assert "not come from" in t.answer(bad_block).rendered
    with t.db.session() as s:
        assert outbox.counts(s) == queued
        assert s.scalars(select(AuditRow).where(AuditRow.actor == ALICE)).all() == []
        stored = alerts.get(s, alert)
        assert stored is not None and stored.state == "open" and stored.assignee is None


def test_mark_patched_records_each_cve_and_a_later_alert_says_so(t: Triaged) -> None:
    alert = t.alert_id("vulnerability")
    t.press("mark_patched", alert, ALICE)
    [row] = t.wait_audit(alert, "mark_patched")
    with t.db.session() as s:
        patches = s.scalars(select(HostPatch)).all()
        host = alerts.get(s, alert).host  # type: ignore[union-attr]
    assert [(p.ip, p.subject, p.by) for p in patches] == [(host, "CVE-2015-0036", ALICE)]
    assert row.host == host and row.detail == {"subjects": "CVE-2015-0036"}
    t.settle()
    assert f"{host} patched for CVE-2015-0036" in t.parent(alert).rendered
    assert f"<@{ALICE}> marked {host} as patched for CVE-2015-0036" in t.thread_text(alert)
    again = t.press("mark_patched", alert, BOB)
    assert f"Already marked patched by <@{ALICE}>" in t.answer(again).rendered

    # `/pan host` shows it from the audit trail.
    history = response_json(t.requests.post(slash_command_body(text=f"host {host}")))
    assert "marked patched" in json.dumps(history)

    # Closed, the alert no longer groups: the same attack again opens a new alert that
    # says the host is already patched for that CVE.
    t.press("close_alert", alert, ALICE)
    t.submit("close_alert", alert, close_values("remediated"), ALICE)
    t.wait_audit(alert, "close_alert")
    vuln = next(
        e
        for e in t.w.simulator.store.entries("threat")
        if (e.get("subtype"), e.get("severity"), e.get("action"))
        == ("vulnerability", "critical", "alert")
    )
    repeat = {
        k: v
        for k, v in vuln.items()
        if k not in {"seqno", "receive_time", "time_generated", "high_res_timestamp", "logid"}
    }
    t.w.simulator.append("threat", **repeat)
    outcomes = t.bot.poller.poll_all()
    [new] = [a for o in outcomes for a in o.alerts_opened]
    t.settle()
    assert "already recorded as patched for CVE-2015-0036" in t.parent(new).rendered


def test_mark_monitored_starts_one_watch(t: Triaged) -> None:
    alert = t.alert_id("spyware")
    t.press("mark_monitored", alert, BOB)
    [row] = t.wait_audit(alert, "mark_monitored")
    with t.db.session() as s:
        # hosts seen in new alerts' logs have rows too; one of them is watched
        host = s.scalars(select(HostRow).where(HostRow.monitored_until.is_not(None))).one()
    assert host.monitored_alert_id == alert and row.host == host.ip
    assert host.monitored_until is not None
    days = (host.monitored_until - row.at).total_seconds() / 86400
    assert days == pytest.approx(7, abs=0.01)
    t.settle()
    assert f"{host.ip} watched until" in t.parent(alert).rendered
    assert "new logs about it will be posted here" in t.thread_text(alert)
    again = t.press("mark_monitored", alert, ALICE)
    assert f"Already being watched (by <@{BOB}>)" in t.answer(again).rendered


def test_close_opens_a_modal_and_closes_once(t: Triaged) -> None:
    alert = t.alert_id("correlation")
    t.press("close_alert", alert, ALICE)
    modal = t.w.slack.wait_for(
        lambda: next((v for v in t.w.slack.views if v.callback_id == "close_alert"), None)
    )
    assert modal.private_metadata == str(alert)
    errors = t.submit("close_alert", alert, close_values(None), ALICE)
    assert errors["response_action"] == "errors" and "verdict" in errors["errors"]
    assert t.submit("close_alert", alert, close_values("false_positive", "scanner"), ALICE) == {}
    [row] = t.wait_audit(alert, "close_alert")
    assert row.detail == {"verdict": "false_positive", "note": "scanner"}
    t.settle()
    with t.db.session() as s:
        stored = alerts.get(s, alert)
        assert stored is not None
        assert (stored.state, stored.verdict, stored.closed_by) == (
            "closed",
            "false_positive",
            ALICE,
        )
    assert "False positive" in t.parent(alert).rendered
    assert f"Closed by <@{ALICE}> as False positive: scanner" in t.thread_text(alert)
    t.submit("close_alert", alert, close_values("no_impact"), BOB)
    ephemeral = t.w.slack.wait_for(lambda: [e for e in t.w.slack.ephemerals if e.user == BOB])
    assert f"Already closed by <@{ALICE}>" in ephemeral[0].rendered
    assert t.actions(alert).count("close_alert") == 1
    reopened = t.press("ack", alert, BOB)
    assert "Already closed" in t.answer(reopened).rendered


def test_app_home_is_published_with_watched_hosts(t: Triaged) -> None:
    alert = t.alert_id("wildfire")
    t.press("mark_monitored", alert, ALICE)
    t.wait_audit(alert, "mark_monitored")
    response = t.requests.post(json.dumps(app_home_opened_payload(CAROL)))
    assert response.status_code == 200
    home = t.w.slack.wait_for(lambda: t.w.slack.home(CAROL))
    with t.db.session() as s:
        host = alerts.get(s, alert).host  # type: ignore[union-attr]
    assert "Hosts under watch" in home.rendered
    assert str(host) in home.rendered
    assert "No host is isolated." in home.rendered


def test_refusals_change_nothing_and_groups_count(w: World, database: Database) -> None:
    with triaged(w, database, PANBOT_RESPONDERS="S0RESPOND", PANBOT_APPROVERS="S0APPROVE") as t:
        alert = t.alert_id("vulnerability")
        refused = t.press("ack", alert, CAROL)  # an approver, not a responder
        assert "not allowed" in t.answer(refused).rendered
        t.press("close_alert", alert, CAROL)
        closing = t.submit("close_alert", alert, close_values("no_impact"), CAROL)
        assert closing == {}
        wait_until(lambda: [e for e in t.w.slack.ephemerals if e.user == CAROL])
        with t.db.session() as s:
            stored = alerts.get(s, alert)
            assert stored is not None and stored.state == "open" and stored.acked_by is None
        assert t.actions(alert) == []
        assert not [v for v in t.w.slack.views if v.callback_id == "close_alert"]

        t.press("ack", alert, BOB)  # in S0RESPOND
        t.wait_audit(alert, "ack")
        t.press("mark_patched", alert, ALICE)  # in S0RESPOND
        t.wait_audit(alert, "mark_patched")
    # Group members were read once for both presses (cached).
    lookups = w.slack.calls_to("usergroups.users.list")
    assert [c["usergroup"] for c in lookups].count("S0RESPOND") == 1
