"""Isolation from Slack: request, approve (never one's own), tag on the simulator, release."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.fakeslack.models import Message
from bot.triage.jobs import run_triage_jobs_once
from storage import Database
from storage.models import HostRow, IsolationRequest
from tests.harness import World, world
from tests.triage_support import Triaged, isolation_values, triaged, wait_until

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
TAG = "panbot-quarantine"


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


def _prompt(t: Triaged, alert: int) -> Message:
    """The thread message carrying an isolation prompt's (or retry's) buttons."""

    def find() -> Message | None:
        t.settle()
        found = [
            m
            for m in t.replies(alert)
            if any(str(b.get("block_id", "")).startswith("isolation:") for b in m.blocks or [])
        ]
        return found[-1] if found else None

    return wait_until(find)


def _press_on(t: Triaged, message: Message, action_id: str, alert: int, user: str) -> str:
    return t.press(action_id, alert, user, blocks=message.blocks, thread_ts=message.thread_ts)


def _request(t: Triaged, alert: int, user: str, hours: int | None = None) -> IsolationRequest:
    before = t.actions(alert).count("request_isolation")
    t.press("request_isolation", alert, user)
    t.w.slack.wait_for(lambda: [v for v in t.w.slack.views if v.callback_id == "isolation_request"])
    assert t.submit("isolation_request", alert, isolation_values("C2 beaconing", hours), user) == {}
    t.wait_audit(alert, "request_isolation", count=before + 1)
    return _request_row(t, alert)


def _request_row(t: Triaged, alert: int) -> IsolationRequest:
    with t.db.session() as s:
        return s.scalars(
            select(IsolationRequest)
            .where(IsolationRequest.alert_id == alert)
            .order_by(IsolationRequest.id.desc())
        ).first()  # type: ignore[return-value]


def _registered(w: World) -> list[str]:
    return [r.ip for r in w.simulator.tags.registered(tag=TAG)]


def test_firewall_tag_isolation_end_to_end(w: World, database: Database) -> None:
    with triaged(
        w, database, PANBOT_ISOLATION_MODE="firewall-tag", PANBOT_APPROVERS=f"S0APPROVE,{ALICE}"
    ) as t:
        alert = t.alert_id("spyware")
        t.press("request_isolation", alert, ALICE)
        modal = t.w.slack.wait_for(
            lambda: next((v for v in w.slack.views if v.callback_id == "isolation_request"), None)
        )
        assert modal.private_metadata == str(alert)
        blank = t.submit("isolation_request", alert, isolation_values("   "), ALICE)
        assert blank["response_action"] == "errors" and "reason" in blank["errors"]
        zero = t.submit("isolation_request", alert, isolation_values("why", 0), ALICE)
        assert "duration" in zero["errors"]
        assert t.actions(alert) == []

        assert (
            t.submit("isolation_request", alert, isolation_values("C2 beaconing", 24), ALICE) == {}
        )
        [requested] = t.wait_audit(alert, "request_isolation")
        row = _request_row(t, alert)
        assert (row.state, row.requested_by, row.duration_hours) == ("requested", ALICE, 24)
        assert requested.host == row.ip
        prompt = _prompt(t, alert)
        assert f"isolation:{alert}:{row.id}" in str(prompt.blocks)
        assert "C2 beaconing" in prompt.rendered and "<!subteam^S0APPROVE>" in prompt.rendered
        assert "awaiting approval" in t.parent(alert).rendered

        again = t.press("request_isolation", alert, BOB)
        assert "already open" in t.answer(again).rendered

        not_approver = _press_on(t, prompt, "approve_isolation", alert, BOB)
        assert "Only the configured approvers" in t.answer(not_approver).rendered
        own = _press_on(t, prompt, "approve_isolation", alert, ALICE)
        assert "cannot approve your own" in t.answer(own).rendered
        assert _request_row(t, alert).state == "requested"
        assert _registered(w) == []

        _press_on(t, prompt, "approve_isolation", alert, CAROL)
        t.wait_audit(alert, "isolation_applied")
        assert _registered(w) == [row.ip]
        [registration] = w.simulator.tags.registered(tag=TAG)
        assert registration.persistent
        applied = _request_row(t, alert)
        assert (applied.state, applied.decided_by) == ("applied", CAROL)
        assert applied.applied_at is not None
        with t.db.session() as s:
            host = s.get(HostRow, row.ip)
            assert host is not None and host.isolated_since is not None
            assert host.isolated_until - host.isolated_since == timedelta(hours=24)  # type: ignore[operator]
        t.settle()
        assert "isolated (quarantine tag applied)" in t.parent(alert).rendered
        assert f"Quarantine tag {TAG} applied to {row.ip}" in t.thread_text(alert)
        twice = _press_on(t, prompt, "approve_isolation", alert, CAROL)
        assert f"Already decided by <@{CAROL}>" in t.answer(twice).rendered

        responder_release = t.press("release_isolation", alert, BOB)
        assert "Only the configured approvers" in t.answer(responder_release).rendered
        assert _registered(w) == [row.ip]
        t.press("release_isolation", alert, CAROL)
        t.wait_audit(alert, "release_isolation")
        assert _registered(w) == []
        released = _request_row(t, alert)
        assert (released.state, released.released_by) == ("released", CAROL)
        t.settle()
        assert f"Isolation of {row.ip} released" in t.parent(alert).rendered
        assert f"Isolation of {row.ip} released by <@{CAROL}>" in t.thread_text(alert)
        gone = t.press("release_isolation", alert, CAROL)
        assert f"Already released by <@{CAROL}>" in t.answer(gone).rendered
        assert [a for a in t.actions(alert) if "isolation" in a] == [
            "request_isolation",
            "approve_isolation",
            "isolation_applied",
            "release_isolation",
        ]


def test_a_failed_tag_can_be_retried(w: World, database: Database) -> None:
    with triaged(
        w, database, PANBOT_ISOLATION_MODE="firewall-tag", PANBOT_APPROVERS="S0APPROVE"
    ) as t:
        alert = t.alert_id("wildfire")
        row = _request(t, alert, BOB)
        prompt = _prompt(t, alert)
        w.simulator.fail_next(1, status=500, only="user-id")
        _press_on(t, prompt, "approve_isolation", alert, CAROL)
        [failed] = t.wait_audit(alert, "isolation_apply_failed")
        assert failed.actor == "panbot" and failed.host == row.ip
        stored = _request_row(t, alert)
        assert stored.state == "apply_failed" and stored.last_error
        assert _registered(w) == []
        retry = _prompt(t, alert)
        assert "could not be applied" in retry.rendered
        assert "firewall tag failed" in t.parent(alert).rendered

        _press_on(t, retry, "approve_isolation", alert, CAROL)
        t.wait_audit(alert, "isolation_applied")
        assert _registered(w) == [row.ip]
        assert _request_row(t, alert).state == "applied"
        assert "retry_isolation" in t.actions(alert)

        # A release the firewall refuses changes nothing; the next one works.
        w.simulator.fail_next(3, status=500, only="user-id")
        refused = t.press("release_isolation", alert, CAROL)
        assert "could not be removed" in t.answer(refused).rendered
        assert _request_row(t, alert).state == "applied" and _registered(w) == [row.ip]
        w.simulator.reset()
        t.press("release_isolation", alert, CAROL)
        t.wait_audit(alert, "release_isolation")
        assert _registered(w) == [] and _request_row(t, alert).state == "released"


def test_request_only_records_and_one_request_per_host(w: World, database: Database) -> None:
    with triaged(w, database, PANBOT_APPROVERS=CAROL) as t:
        alert = t.alert_id("antivirus")
        t.press("request_isolation", alert, ALICE)
        t.w.slack.wait_for(
            lambda: [v for v in w.slack.views if v.callback_id == "isolation_request"]
        )

        # Two people submit at once: one request, the other is told.
        barrier = threading.Barrier(2)
        results: list[dict[str, Any]] = []

        def submit(user: str) -> None:
            barrier.wait()
            results.append(t.submit("isolation_request", alert, isolation_values("virus"), user))

        threads = [threading.Thread(target=submit, args=(u,)) for u in (ALICE, BOB)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [{}, {}]
        told = wait_until(lambda: [e for e in w.slack.ephemerals if "already open" in e.rendered])
        assert len(told) == 1
        with t.db.session() as s:
            assert len(s.scalars(select(IsolationRequest)).all()) == 1
        assert t.actions(alert).count("request_isolation") == 1

        prompt = _prompt(t, alert)
        rejected = _press_on(t, prompt, "reject_isolation", alert, ALICE)
        assert "Only the configured approvers" in t.answer(rejected).rendered
        _press_on(t, prompt, "reject_isolation", alert, CAROL)
        t.wait_audit(alert, "reject_isolation")
        assert _request_row(t, alert).state == "rejected"
        t.settle()
        assert "Request isolation" in t.parent(alert).rendered  # can be asked again

        _request(t, alert, BOB)
        _press_on(t, _prompt(t, alert), "approve_isolation", alert, CAROL)
        t.wait_audit(alert, "approve_isolation")
        t.settle()
        assert _request_row(t, alert).state == "approved"
        assert "request-only mode" in t.thread_text(alert)
        assert w.simulator.counts()["user-id"] == 0  # the firewall is never touched
        with t.db.session() as s:
            host = s.get(HostRow, _request_row(t, alert).ip)
            assert host is not None and host.isolated_since is not None


def test_an_isolation_ends_when_its_time_runs_out(w: World, database: Database) -> None:
    with triaged(
        w, database, PANBOT_ISOLATION_MODE="firewall-tag", PANBOT_APPROVERS="S0APPROVE"
    ) as t:
        alert = t.alert_id("correlation")
        _request(t, alert, ALICE, hours=2)
        _press_on(t, _prompt(t, alert), "approve_isolation", alert, CAROL)
        t.wait_audit(alert, "isolation_applied")
        [registration] = w.simulator.tags.registered(tag=TAG)
        assert registration.ip == _request_row(t, alert).ip
        assert not run_triage_jobs_once(t.bot)  # nothing due yet
        t.clock.advance(timedelta(hours=2, minutes=1))
        assert run_triage_jobs_once(t.bot)
        row = _request_row(t, alert)
        assert (row.state, row.released_by) == ("released", "panbot")
        t.settle()
        assert "its 2 h ran out" in t.thread_text(alert)
        with t.db.session() as s:
            host = s.get(HostRow, row.ip)
            assert host is not None and host.isolated_since is None
