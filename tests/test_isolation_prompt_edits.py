"""The isolation prompt is edited in place as its request moves on: buttons go, the outcome shows.

Driven end to end: signed presses to the bot's `/slack/events`, the fake Slack over
HTTP on 127.0.0.1, the simulator as the firewall; on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Literal

import pytest
from sqlalchemy import select

from bot.fakeslack.models import Message
from bot.i18n import Catalog
from bot.triage.isolation import prompt_key, retry_key_base
from bot.views.escape import format_time
from storage import Database, outbox
from storage.models import IsolationRequest
from tests.harness import CHANNEL, World, world
from tests.triage_support import Triaged, isolation_values, triaged, wait_until

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


def _request(t: Triaged, alert: int, user: str) -> IsolationRequest:
    t.press("request_isolation", alert, user)
    t.w.slack.wait_for(lambda: [v for v in t.w.slack.views if v.callback_id == "isolation_request"])
    assert t.submit("isolation_request", alert, isolation_values("C2 beaconing"), user) == {}
    t.wait_audit(alert, "request_isolation")
    return _request_row(t, alert)


def _request_row(t: Triaged, alert: int) -> IsolationRequest:
    with t.db.session() as s:
        row = s.scalars(
            select(IsolationRequest)
            .where(IsolationRequest.alert_id == alert)
            .order_by(IsolationRequest.id.desc())
        ).first()
    assert row is not None
    return row


def _sent_ts(t: Triaged, key: str) -> str:
    """The ts of the reply queued under an outbox key, once it is sent."""

    def find() -> str | None:
        t.settle()
        with t.db.session() as s:
            row = outbox.by_key(s, key)
            return row.slack_ts if row is not None else None

    return wait_until(find)


def _actions(message: Message) -> list[dict[str, Any]]:
    return [b for b in message.blocks or [] if b["type"] == "actions"]


def _press_on(t: Triaged, message: Message, action_id: str, alert: int, user: str) -> str:
    return t.press(action_id, alert, user, blocks=message.blocks, thread_ts=message.thread_ts)


def _outcome(catalog: Catalog, verb: str, row: IsolationRequest, user: str) -> str:
    assert row.decided_at is not None
    return catalog.t(
        f"isolation.outcome.{verb}",
        host=row.ip,
        approver=f"<@{user}>",
        at=format_time(row.decided_at),
    )


def test_approval_edits_the_prompt_and_later_moves_follow(w: World, database: Database) -> None:
    catalog = Catalog("en")
    with triaged(
        w, database, PANBOT_ISOLATION_MODE="firewall-tag", PANBOT_APPROVERS="S0APPROVE"
    ) as t:
        alert = t.alert_id("spyware")
        request = _request(t, alert, ALICE)
        ts = _sent_ts(t, prompt_key(request.id))
        prompt = w.slack.message(CHANNEL, ts)
        assert [e["action_id"] for e in _actions(prompt)[0]["elements"]] == [
            "approve_isolation",
            "reject_isolation",
        ]

        _press_on(t, prompt, "approve_isolation", alert, CAROL)
        t.wait_audit(alert, "isolation_applied")
        t.settle()
        decided = w.slack.message(CHANNEL, ts)
        applied = _request_row(t, alert)
        assert applied.applied_at is not None
        assert decided.thread_ts == prompt.thread_ts and decided.edits >= 1
        assert _actions(decided) == []
        assert _outcome(catalog, "approved", applied, CAROL) in decided.rendered
        assert _outcome(catalog, "approved", applied, CAROL) in decided.text  # the notification
        assert "C2 beaconing" in decided.rendered  # the request itself stays readable
        assert (
            catalog.t("isolation.outcome.applied", at=format_time(applied.applied_at))
            in decided.rendered
        )
        # The old buttons, pressed from a copy of the message, still change nothing.
        again = _press_on(t, prompt, "approve_isolation", alert, CAROL)
        assert f"Already decided by <@{CAROL}>" in t.answer(again).rendered

        t.press("release_isolation", alert, CAROL)
        t.wait_audit(alert, "release_isolation")
        t.settle()
        released = _request_row(t, alert)
        assert released.released_at is not None
        shown = w.slack.message(CHANNEL, ts).rendered
        assert _outcome(catalog, "approved", applied, CAROL) in shown
        assert (
            catalog.t(
                "isolation.outcome.released",
                by=f"<@{CAROL}>",
                at=format_time(released.released_at),
            )
            in shown
        )
        # One prompt, edited; no message about the request carries buttons any more.
        replies = t.replies(alert)
        assert sum("requested by" in m.rendered for m in replies) == 1
        assert not any(_actions(m) for m in replies if "isolation:" in str(m.blocks))


@pytest.mark.parametrize("language", ["en", "ja"])
def test_rejection_edits_the_prompt(
    w: World, database: Database, language: Literal["en", "ja"]
) -> None:
    catalog = Catalog(language)
    with triaged(w, database, PANBOT_APPROVERS=CAROL, PANBOT_LANGUAGE=language) as t:
        alert = t.alert_id("antivirus")
        request = _request(t, alert, BOB)
        ts = _sent_ts(t, prompt_key(request.id))
        prompt = w.slack.message(CHANNEL, ts)
        _press_on(t, prompt, "reject_isolation", alert, CAROL)
        t.wait_audit(alert, "reject_isolation")
        t.settle()
        rejected = w.slack.message(CHANNEL, ts)
        assert _actions(rejected) == []
        assert _outcome(catalog, "rejected", _request_row(t, alert), CAROL) in rejected.rendered
        assert ":no_entry:" in str(rejected.blocks)
        assert rejected.edits == 1
        # The thread still tells it as it happened, too.
        assert catalog.t(
            "note.isolation_rejected", host=request.ip, approver=f"<@{CAROL}>"
        ) in t.thread_text(alert)


def test_a_decision_before_the_prompt_was_sent_reaches_it(w: World, database: Database) -> None:
    catalog = Catalog("en")
    with triaged(w, database, PANBOT_APPROVERS=CAROL) as t:
        alert = t.alert_id("correlation")
        # Slack turns the prompt away for ten minutes: it stays queued, without a ts.
        w.slack.fail_next("chat.postMessage", 1, status=429, retry_after=600)
        request = _request(t, alert, ALICE)
        t.settle()
        with t.db.session() as s:
            queued = outbox.by_key(s, prompt_key(request.id))
            assert queued is not None and queued.state == "pending" and queued.slack_ts is None
        assert not any("requested by" in m.text for m in t.replies(alert))

        # An approver decides meanwhile (pressing the prompt's button from a copy of it).
        t.press("approve_isolation", alert, CAROL, block_id=f"isolation:{alert}:{request.id}")
        t.wait_audit(alert, "approve_isolation")
        t.settle()
        with t.db.session() as s:
            edits = [
                r
                for r in s.scalars(select(outbox.OutboxRow).where(outbox.OutboxRow.kind == "edit"))
                if outbox.edit_target(r) == prompt_key(request.id)
            ]
        assert [e.state for e in edits] == ["pending"]  # it waits for the prompt's ts

        t.clock.advance(timedelta(minutes=11))
        ts = _sent_ts(t, prompt_key(request.id))
        t.settle()
        prompt = w.slack.message(CHANNEL, ts)
        assert _actions(prompt) == []  # drawn at send time: decided already
        assert _outcome(catalog, "approved", _request_row(t, alert), CAROL) in prompt.rendered
        assert prompt.edits == 1  # the edit came after the post, and changed nothing
        attempts = [
            c for c in w.slack.calls_to("chat.postMessage") if "C2 beaconing" in str(c["blocks"])
        ]
        assert len(attempts) == 2  # turned away once, then posted
        assert sum("C2 beaconing" in m.rendered for m in t.replies(alert)) == 1
        updates = [c for c in w.slack.calls_to("chat.update") if c["ts"] == ts]
        assert len(updates) == 1
        with t.db.session() as s:
            assert {e.state for e in s.scalars(select(outbox.OutboxRow)) if e.kind == "edit"} == {
                "sent"
            }


def test_a_retry_offer_loses_its_button_once_retried(w: World, database: Database) -> None:
    catalog = Catalog("en")
    with triaged(
        w, database, PANBOT_ISOLATION_MODE="firewall-tag", PANBOT_APPROVERS="S0APPROVE"
    ) as t:
        alert = t.alert_id("wildfire")
        request = _request(t, alert, BOB)
        prompt_ts = _sent_ts(t, prompt_key(request.id))
        w.simulator.fail_next(1, status=500, only="user-id")
        _press_on(t, w.slack.message(CHANNEL, prompt_ts), "approve_isolation", alert, CAROL)
        t.wait_audit(alert, "isolation_apply_failed")
        retry_ts = _sent_ts(t, f"{retry_key_base(request.id)}:1")
        t.settle()
        offer = w.slack.message(CHANNEL, retry_ts)
        [retry_button] = _actions(offer)[0]["elements"]
        assert retry_button["action_id"] == "approve_isolation"
        failed = w.slack.message(CHANNEL, prompt_ts)
        assert _actions(failed) == []
        assert "The quarantine tag is not applied yet" in failed.rendered

        _press_on(t, offer, "approve_isolation", alert, CAROL)
        t.wait_audit(alert, "isolation_applied")
        t.settle()
        settled = w.slack.message(CHANNEL, retry_ts)
        assert _actions(settled) == []
        assert catalog.t("isolation.retry_settled") in settled.rendered
        shown = w.slack.message(CHANNEL, prompt_ts).rendered
        assert "Quarantine tag applied on the firewall at" in shown
        assert "not applied yet" not in shown
