"""End to end over 127.0.0.1: simulator → poller → outbox → fake Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from slack_sdk.models.blocks import Block

from bot.fakeslack.payloads import block_actions_body, slash_command_body
from bot.fakeslack.signing import signed_request_headers
from storage import Database, outbox
from tests.harness import CHANNEL, FakeClock, SlackRequests, World, make_bot, response_json, world

RULES = {"vulnerability", "antivirus", "wildfire", "spyware", "correlation"}


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


def _texts(message: object) -> str:
    return str(getattr(message, "text", "")) + str(getattr(message, "blocks", ""))


def _assert_valid_blocks(blocks: list[dict[str, object]] | None) -> None:
    assert blocks, "every message carries blocks"
    assert len(blocks) <= 50
    for block in blocks:
        parsed = Block.parse(block)  # type: ignore[arg-type]
        assert parsed is not None
        parsed.validate_json()


def test_five_scenarios_become_five_parents_and_noise_none(w: World, database: Database) -> None:
    bot = make_bot(w, database, http=False)
    try:
        outcomes = bot.poller.poll_all()
        assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
        assert {o.rule for o in outcomes if o.alerts_opened} == RULES
        assert sum(len(o.alerts_opened) for o in outcomes) == 5
        bot.notifier.drain(budget=30)
    finally:
        bot.stop()
    parents = w.slack.parents(CHANNEL)
    assert len(parents) == 5
    everything = " ".join(_texts(p) for p in parents)
    # the guide's facts, one per scenario
    assert "Internet Explorer" in everything
    assert "WireLurker" in everything
    assert "Host visited known malware URL" in everything
    assert "outside → inside" in everything and "inside → outside" in everything
    for parent in parents:
        assert parent.text  # a top-level fallback always
        _assert_valid_blocks(parent.blocks)
        assert parent.thread_ts is None
    posts = w.slack.calls_to("chat.postMessage")
    assert all(str(p.get("unfurl_links")).lower() in {"false", "0"} for p in posts)


def test_restart_posts_nothing_new_and_no_duplicate_parent(w: World, database: Database) -> None:
    first = make_bot(w, database, http=False)
    try:
        first.poller.poll_all()
        first.notifier.drain(budget=30)
    finally:
        first.stop()
    second = make_bot(w, database, http=False)
    try:
        outcomes = second.poller.poll_all()
        assert sum(o.stored for o in outcomes) == 0
        assert second.notifier.drain(budget=30) == 0
    finally:
        second.stop()
    assert len(w.slack.parents(CHANNEL)) == 5
    assert len(w.slack.calls_to("chat.postMessage")) == 5


def test_repeat_joins_the_thread_and_updates_the_count(w: World, database: Database) -> None:
    bot = make_bot(w, database, http=False)
    try:
        bot.poller.poll_all()
        bot.notifier.drain(budget=30)
        spy = next(
            e
            for e in w.simulator.store.entries("threat")
            if e.get("subtype") == "spyware"
            and e.get("severity") == "critical"
            and e.get("action") == "alert"
        )
        repeat = {
            k: v
            for k, v in spy.items()
            if k not in {"seqno", "receive_time", "time_generated", "high_res_timestamp", "logid"}
        }
        w.simulator.append("threat", **repeat)
        outcomes = bot.poller.poll_all()
        assert sum(len(o.alerts_joined) for o in outcomes) == 1
        assert sum(len(o.alerts_opened) for o in outcomes) == 0
        bot.notifier.drain(budget=30)
    finally:
        bot.stop()
    parents = w.slack.parents(CHANNEL)
    assert len(parents) == 5
    updated = [p for p in parents if p.edits]
    assert len(updated) == 1
    assert "WireLurker" in _texts(updated[0])


@pytest.mark.parametrize("status", [429, 500])
def test_slack_errors_each_message_posted_exactly_once(
    w: World, database: Database, status: int
) -> None:
    clock = FakeClock()
    bot = make_bot(w, database, http=False, clock=clock)
    try:
        bot.poller.poll_all()
        w.slack.fail_next("chat.postMessage", 2, status=status, retry_after=1)
        for _ in range(20):
            bot.notifier.drain(budget=30)
            clock.advance(timedelta(minutes=10))
            if len(w.slack.parents(CHANNEL)) == 5:
                break
        with database.session() as s:
            assert outbox.counts(s) == {"sent": 5}
    finally:
        bot.stop()
    assert len(w.slack.parents(CHANNEL)) == 5
    if status == 429:
        assert bot.metrics.slack_429._value.get() >= 1


def test_restart_in_the_middle_of_draining_posts_each_parent_once(
    w: World, database: Database
) -> None:
    first = make_bot(w, database, http=False)
    try:
        first.poller.poll_all()
        w.slack.fail_next("chat.postMessage", 3, status=500)  # part of the queue fails...
        first.notifier.drain(budget=30)
    finally:
        first.stop()  # ...and the process goes away with rows still pending
    assert len(w.slack.parents(CHANNEL)) < 5
    clock = FakeClock()
    clock.advance(timedelta(hours=1))
    second = make_bot(w, database, http=False, clock=clock)
    try:
        second.notifier.drain(budget=30)
    finally:
        second.stop()
    parents = w.slack.parents(CHANNEL)
    assert len(parents) == 5
    assert len({_texts(p) for p in parents}) == 5


def test_not_in_channel_joins_a_public_channel(w: World, database: Database) -> None:
    w.slack.set_member(CHANNEL, False)
    bot = make_bot(w, database, http=False)
    try:
        bot.poller.poll_all()
        bot.notifier.drain(budget=30)
    finally:
        bot.stop()
    assert w.slack.calls_to("conversations.join")
    assert len(w.slack.parents(CHANNEL)) == 5


def test_private_channel_problem_shows_in_health(w: World, database: Database) -> None:
    bot = make_bot(w, database, http=False, PANBOT_SLACK_CHANNEL="G0PRIVATE")
    try:
        bot.poller.poll_all()
        bot.notifier.drain(budget=5)
        ok, body = bot.health()
    finally:
        bot.stop()
    assert not ok
    assert body["slack"].startswith("error: ")
    assert w.slack.parents("G0PRIVATE") == []
    with database.session() as s:
        assert outbox.counts(s).get("pending") == 5  # kept, to send once invited


# -- signed requests through the HTTP endpoint ---------------------------------------------


@pytest.fixture
def running(w: World, database: Database) -> Iterator[tuple[object, SlackRequests]]:
    bot = make_bot(w, database)
    bot.start(jobs=False)
    requests = SlackRequests(bot)
    try:
        yield bot, requests
    finally:
        requests.close()
        bot.stop()


def test_signed_slash_command_help(running: tuple[object, SlackRequests]) -> None:
    _, requests = running
    response = requests.post(slash_command_body(text="help"))
    assert response.status_code == 200
    body = response_json(response)
    assert body["response_type"] == "ephemeral"
    assert "/pan" in body["text"] or "/pan" in str(body["blocks"])
    _assert_valid_blocks(body["blocks"])


def test_garbage_slash_command_gets_a_specific_error(
    running: tuple[object, SlackRequests], w: World
) -> None:
    _, requests = running
    response = requests.post(slash_command_body(text="investigate 10.0.0.1;rm"))
    assert response.status_code == 200
    body = response_json(response)
    assert body["response_type"] == "ephemeral"
    assert "10.0.0.1;rm" in body["text"]
    assert not any(";rm" in q for _, q in w.simulator.log_queries())


def test_status_lists_rules(running: tuple[object, SlackRequests]) -> None:
    bot, requests = running
    bot.poller.poll_all()  # type: ignore[attr-defined]
    body = response_json(requests.post(slash_command_body(text="status")))
    shown = str(body["blocks"])
    assert "vulnerability" in shown.lower() or "Vulnerability" in shown


def test_bad_signature_or_stale_timestamp_is_refused(
    running: tuple[object, SlackRequests], w: World
) -> None:
    _, requests = running
    body = slash_command_body(text="status")
    bad = requests.post(body, headers={"X-Slack-Signature": "v0=" + "0" * 64})
    stale = signed_request_headers(requests.secret, body, timestamp=int(time.time()) - 3600)
    old = requests.client.post(
        requests.url,
        content=body.encode(),
        headers={**stale, "Content-Type": "application/x-www-form-urlencoded"},
    )
    wrong_secret = signed_request_headers("not-the-secret", body)
    forged = requests.client.post(
        requests.url,
        content=body.encode(),
        headers={**wrong_secret, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (bad.status_code, old.status_code, forged.status_code) == (401, 401, 401)
    assert w.slack.calls_to("chat.postMessage") == []


def test_button_press_is_answered(running: tuple[object, SlackRequests], w: World) -> None:
    bot, requests = running
    bot.poller.poll_all()  # type: ignore[attr-defined]
    bot.notifier.drain(budget=30)  # type: ignore[attr-defined]
    parent = w.slack.parents(CHANNEL)[0]
    body = block_actions_body(
        "enrich", "1", "U0ALICE", CHANNEL, parent.ts, response_url=w.slack.response_url("p1")
    )
    response = requests.post(body)
    assert response.status_code == 200
