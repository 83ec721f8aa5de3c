"""A whole bot for tests: the real PanBot against the simulator, fake Slack and fake intel.

Everything is spoken to over real HTTP on 127.0.0.1. Tests drive the bot's jobs
directly (poll, drain, pending work) instead of waiting on the scheduler, and send
Slack requests signed exactly as Slack signs them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.app import PanBot
from bot.config import Settings, load_settings
from bot.fakeintel.server import FakeIntel
from bot.fakeslack.server import FakeSlack
from bot.fakeslack.signing import signed_request_headers
from bot.simulator.api import DEFAULT_API_KEY
from bot.simulator.server import SimulatorServer
from storage import Database

CHANNEL = "C0ALERTS"
SIGNING_SECRET = "test-signing-secret"


class FakeClock:
    """Real time plus an offset tests move by hand (rows stamped with the real now stay due)."""

    def __init__(self) -> None:
        self._offset = timedelta()
        self._lock = threading.Lock()

    @classmethod
    def at_next_noon(cls) -> FakeClock:
        """A clock at the coming 12:00 UTC: a test about days runs the same at any hour.

        Never behind real time, so rows stamped with the real now are due at once.
        """
        clock = cls()
        now = datetime.now(UTC)
        noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
        clock.advance((noon if noon >= now else noon + timedelta(days=1)) - now)
        return clock

    def __call__(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._offset += delta


@dataclass
class World:
    simulator: SimulatorServer
    slack: FakeSlack
    intel: FakeIntel


@contextmanager
def world(scenario: str = "guide", clock: FakeClock | None = None) -> Iterator[World]:
    """Start the simulator, fake Slack and fake intel on ephemeral loopback ports.

    With `clock`, the simulator's logs are stamped on that clock (give the bot the same).
    """
    simulator = (
        SimulatorServer(scenario=scenario)
        if clock is None
        else SimulatorServer(scenario=scenario, now=clock)
    ).start()
    slack = FakeSlack().start()
    intel = FakeIntel()
    try:
        yield World(simulator, slack, intel)
    finally:
        intel.close()
        slack.stop()
        simulator.stop()


def intel_env(intel: FakeIntel) -> dict[str, str]:
    """The environment that points every intel source at the fake (tests stay on loopback)."""
    urls = intel.urls
    return {
        "PANBOT_THREATVAULT_URL": urls["threatvault"],
        "PANBOT_THREATVAULT_API_KEY": intel.api_key,
        "PANBOT_WILDFIRE_URL": urls["wildfire"],
        "PANBOT_WILDFIRE_API_KEY": intel.api_key,
        "PANBOT_VIRUSTOTAL_URL": urls["virustotal"],
        "PANBOT_VIRUSTOTAL_API_KEY": intel.api_key,
        "PANBOT_NVD_URL": urls["nvd"],
        "PANBOT_JVN_URL": urls["jvn"],
    }


def bot_settings(w: World, database: Database, **overrides: Any) -> Settings:
    """Settings pointing at the world; overrides use the environment variable names."""
    values: dict[str, Any] = {
        "SLACK_BOT_TOKEN": w.slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PANBOT_MODE": "http",
        "PANBOT_HTTP_HOST": "127.0.0.1",
        "PANBOT_HTTP_PORT": 0,
        "PANBOT_SLACK_API_URL": w.slack.api_url,
        "PANBOT_SLACK_CHANNEL": CHANNEL,
        "PANBOT_DATABASE_URL": database.url,
        "PANBOT_FIREWALL_URL": w.simulator.url,
        "PANBOT_FIREWALL_API_KEY": DEFAULT_API_KEY,
        "PANBOT_POLL_INTERVAL": 1,
        **intel_env(w.intel),
    }
    values.update(overrides)
    return load_settings(**values)


def make_bot(
    w: World,
    database: Database,
    *,
    clock: FakeClock | None = None,
    http: bool = True,
    **overrides: Any,
) -> PanBot:
    """A PanBot on the test database (tables made by the fixture, so no migration run)."""
    bot = PanBot(
        bot_settings(w, database, **overrides),
        clock=clock or FakeClock(),
        migrate=False,
        enable_http=http,
        slack_min_interval=0.0,
    )
    return bot


def settle(bot: PanBot, rounds: int = 20) -> None:
    """Drain the outbox and run queued work until nothing is left."""
    for _ in range(rounds):
        sent = bot.notifier.drain(budget=30)
        busy = bot.run_pending_work()
        if not sent and not busy:
            return


class SlackRequests:
    """Sends signed Slack requests to a running bot's `/slack/events`."""

    def __init__(self, bot: PanBot, secret: str = SIGNING_SECRET) -> None:
        assert bot.web is not None, "start the bot's HTTP listener first"
        self.url = f"http://127.0.0.1:{bot.web.port}/slack/events"
        self.secret = secret
        self.client = httpx.Client(timeout=10)

    def post(self, body: str, *, headers: dict[str, str] | None = None) -> httpx.Response:
        signed = signed_request_headers(self.secret, body)
        signed["Content-Type"] = "application/x-www-form-urlencoded"
        signed.update(headers or {})
        return self.client.post(self.url, content=body.encode(), headers=signed)

    def close(self) -> None:
        self.client.close()


def response_json(response: httpx.Response) -> dict[str, Any]:
    """The JSON body of a bot's answer (ack with a payload), or {} for an empty ack."""
    if not response.content:
        return {}
    data = json.loads(response.content)
    assert isinstance(data, dict)
    return data
