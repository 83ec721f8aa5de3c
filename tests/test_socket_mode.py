"""Socket Mode for real: the fake Slack hands out a local WebSocket and delivers envelopes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.app import PanBot
from bot.fakeslack.payloads import block_actions_payload, slash_command_payload
from storage import Database
from tests.harness import CHANNEL, World, make_bot, world


@pytest.fixture
def socket_bot(database: Database) -> Iterator[tuple[World, PanBot]]:
    with world() as w:
        bot = make_bot(w, database, PANBOT_MODE="socket", SLACK_APP_TOKEN=w.slack.app_token)
        bot.start(jobs=False)
        try:
            w.slack.wait_for(lambda: w.slack.connected >= 1, timeout=10)
            yield w, bot
        finally:
            w.slack.disconnect_clients(None)
            bot.stop()


def test_slash_command_envelope_is_acknowledged_with_the_answer(
    socket_bot: tuple[World, PanBot],
) -> None:
    w, _ = socket_bot
    envelope = w.slack.deliver(
        "slash_commands", slash_command_payload(text="help"), accepts_response_payload=True
    )
    ack = w.slack.wait_for_ack(envelope, timeout=5)
    assert "/pan" in str(ack.get("payload"))
    assert w.slack.ack_seconds(envelope) < 3


def test_garbage_command_over_socket_mode_gets_an_error(socket_bot: tuple[World, PanBot]) -> None:
    w, _ = socket_bot
    envelope = w.slack.deliver(
        "slash_commands",
        slash_command_payload(text="frobnicate now"),
        accepts_response_payload=True,
    )
    ack = w.slack.wait_for_ack(envelope, timeout=5)
    assert "frobnicate" in str(ack.get("payload"))


def test_button_envelope_is_acknowledged_and_answered(socket_bot: tuple[World, PanBot]) -> None:
    w, bot = socket_bot
    bot.poller.poll_all()
    bot.notifier.drain(budget=30)
    parent = w.slack.parents(CHANNEL)[0]
    payload = block_actions_payload(
        "ack",
        "1",
        "U0ALICE",
        CHANNEL,
        parent.ts,
        response_url=w.slack.response_url("sm1"),
        message_blocks=parent.blocks,
    )
    envelope = w.slack.deliver("interactive", payload)
    w.slack.wait_for_ack(envelope, timeout=5)
    # the press is acted on after the acknowledgement: an answer or a state change follows
    w.slack.wait_for(
        lambda: w.slack.responses or w.slack.ephemerals or w.slack.calls_to("chat.update"),
        timeout=10,
    )


def test_health_reports_the_socket_connection(socket_bot: tuple[World, PanBot]) -> None:
    _, bot = socket_bot
    assert bot.web is not None
    response = httpx.get(f"http://127.0.0.1:{bot.web.port}/healthz", timeout=5)
    assert response.json()["socket_mode"] == "connected"
