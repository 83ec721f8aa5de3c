"""Helpers for the triage tests: one running bot with posted alerts, presses, submissions.

Everything goes through the bot's real `/slack/events` endpoint with signed requests;
the bot's listener keeps working after its acknowledgement, so tests wait for what a
press leaves behind (an audit row, an answer at the response URL) before asserting.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.app import PanBot
from bot.fakeslack.models import Message, ResponsePost
from bot.fakeslack.payloads import block_actions_body, view_submission_body
from storage import Database, alerts, audit
from storage.models import AuditRow
from tests.harness import CHANNEL, FakeClock, SlackRequests, World, make_bot, settle

T = TypeVar("T")
_ids = itertools.count(1)


def wait_until(predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Poll `predicate` until it returns something truthy, or fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


@dataclass
class Triaged:
    """A running bot whose five scenario alerts are posted."""

    w: World
    bot: PanBot
    db: Database
    clock: FakeClock
    requests: SlackRequests

    def alert_id(self, rule: str) -> int:
        with self.db.session() as s:
            return alerts.all_for_rule(s, rule)[0].id

    def parent(self, alert_id: int) -> Message:
        with self.db.session() as s:
            row = alerts.get(s, alert_id)
            assert row is not None and row.slack_ts is not None
            ts = row.slack_ts
        return self.w.slack.message(CHANNEL, ts)

    def replies(self, alert_id: int) -> list[Message]:
        return self.w.slack.replies(CHANNEL, self.parent(alert_id).ts)

    def thread_text(self, alert_id: int) -> str:
        return "\n".join(m.rendered for m in self.replies(alert_id))

    def audit(self, alert_id: int) -> list[AuditRow]:
        with self.db.session() as s:
            return audit.for_alert(s, alert_id)

    def actions(self, alert_id: int) -> list[str]:
        return [row.action for row in self.audit(alert_id)]

    def wait_audit(self, alert_id: int, action: str, count: int = 1) -> list[AuditRow]:
        def found() -> list[AuditRow] | None:
            rows = [r for r in self.audit(alert_id) if r.action == action]
            return rows if len(rows) >= count else None

        return wait_until(found)

    def press(
        self,
        action_id: str,
        alert_id: int,
        user: str,
        *,
        value: str | None = None,
        selected_user: str | None = None,
        block_id: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """Press a button on the alert's parent (or on `blocks`); return the response id."""
        parent = self.parent(alert_id)
        response_id = f"r{next(_ids)}"
        body = block_actions_body(
            action_id,
            str(alert_id) if value is None and selected_user is None else value,
            user,
            CHANNEL,
            parent.ts,
            thread_ts=thread_ts,
            response_url=self.w.slack.response_url(response_id),
            selected_user=selected_user,
            message_blocks=blocks if blocks is not None else parent.blocks,
            block_id=block_id,
        )
        response = self.requests.post(body)
        assert response.status_code == 200, response.text
        return response_id

    def answer(self, response_id: str) -> ResponsePost:
        """The ephemeral answer a press got at its response URL."""
        return self.w.slack.wait_for(
            lambda: next((r for r in self.w.slack.responses if r.id == response_id), None),
            timeout=10,
        )

    def answers(self, response_id: str) -> list[ResponsePost]:
        return [r for r in self.w.slack.responses if r.id == response_id]

    def submit(
        self, callback_id: str, alert_id: int, values: dict[str, Any], user: str
    ) -> dict[str, Any]:
        """Submit a modal; return the acknowledgement's JSON ({} when it just closes)."""
        body = view_submission_body(callback_id, str(alert_id), values, user)
        response = self.requests.post(body)
        assert response.status_code == 200, response.text
        return json.loads(response.content) if response.content else {}

    def settle(self) -> None:
        settle(self.bot)


@contextmanager
def triaged(
    w: World, database: Database, *, clock: FakeClock | None = None, **overrides: Any
) -> Iterator[Triaged]:
    """Start a bot (HTTP listener, no scheduler), post the five alerts, and yield it."""
    clock = clock or FakeClock()
    bot = make_bot(w, database, clock=clock, **overrides)
    bot.start(jobs=False)
    requests = SlackRequests(bot)
    try:
        bot.poller.poll_all()
        settle(bot)
        yield Triaged(w, bot, database, clock, requests)
    finally:
        requests.close()
        bot.stop()


def isolation_values(reason: str, hours: int | None = None) -> dict[str, Any]:
    """The isolation modal's `state.values`."""
    duration: dict[str, Any] = {"type": "number_input"}
    if hours is not None:
        duration["value"] = str(hours)
    return {
        "reason": {"reason": {"type": "plain_text_input", "value": reason}},
        "duration": {"duration": duration},
    }


def close_values(verdict: str | None, note: str | None = None) -> dict[str, Any]:
    """The closing modal's `state.values`."""
    selected = {"value": verdict, "text": {"type": "plain_text", "text": verdict}}
    return {
        "verdict": {
            "verdict": {"type": "radio_buttons", "selected_option": selected if verdict else None}
        },
        "note": {"note": {"type": "plain_text_input", "value": note}},
    }
