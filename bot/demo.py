"""`panbot demo`: the real bot against the built-in simulator and fake Slack, in the terminal.

Nothing here is a shortcut: the demo builds the same `PanBot` as `panbot run`, pointed
at a PAN-OS simulator, a fake Slack Web API and fake intel services on 127.0.0.1, and
prints what Slack received.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from rich.console import Console

from bot.app import PanBot
from bot.config import Settings, load_settings
from bot.fakeintel.server import FakeIntel
from bot.fakeslack.server import FakeSlack
from bot.simulator.api import DEFAULT_API_KEY as SIMULATOR_KEY
from bot.simulator.server import SimulatorServer
from bot.views.terminal import render_to_console

DEMO_CHANNEL = "C0ALERTS"


@dataclass
class DemoWorld:
    """The simulated firewall, Slack and intel services the demo bot talks to."""

    simulator: SimulatorServer
    slack: FakeSlack
    intel: FakeIntel
    settings: Settings


@contextmanager
def demo_world(
    database_url: str, language: Literal["en", "ja"] = "en", **overrides: object
) -> Iterator[DemoWorld]:
    """Start the simulator, fake Slack and fake intel; yield settings that point at them."""
    simulator = SimulatorServer(scenario="guide").start()
    slack = FakeSlack().start()
    intel = FakeIntel()
    try:
        urls = intel.urls
        settings = load_settings(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET="demo-signing-secret",  # noqa: S106 - the demo's own fake
            PANBOT_MODE="http",
            PANBOT_HTTP_HOST="127.0.0.1",
            PANBOT_HTTP_PORT=0,
            PANBOT_SLACK_API_URL=slack.api_url,
            PANBOT_SLACK_CHANNEL=DEMO_CHANNEL,
            PANBOT_DATABASE_URL=database_url,
            PANBOT_FIREWALL_URL=simulator.url,
            PANBOT_FIREWALL_API_KEY=SIMULATOR_KEY,
            PANBOT_POLL_INTERVAL=2,
            PANBOT_LANGUAGE=language,
            PANBOT_THREATVAULT_URL=urls["threatvault"],
            PANBOT_THREATVAULT_API_KEY=intel.api_key,
            PANBOT_WILDFIRE_URL=urls["wildfire"],
            PANBOT_WILDFIRE_API_KEY=intel.api_key,
            PANBOT_VIRUSTOTAL_URL=urls["virustotal"],
            PANBOT_VIRUSTOTAL_API_KEY=intel.api_key,
            PANBOT_NVD_URL=urls["nvd"],
            PANBOT_JVN_URL=urls["jvn"],
            **overrides,
        )
        yield DemoWorld(simulator, slack, intel, settings)
    finally:
        intel.close()
        slack.stop()
        simulator.stop()


class SlackPrinter:
    """Print each message the fake Slack received, once, parents boxed, replies indented."""

    def __init__(self, slack: FakeSlack, console: Console) -> None:
        self._slack = slack
        self._console = console
        self._shown: dict[str, int] = {}

    def print_new(self) -> int:
        shown = 0
        for message in self._slack.messages(DEMO_CHANNEL):
            version = len(str(message.blocks)) + len(message.text)
            if self._shown.get(message.ts) == version:
                continue
            edited = message.ts in self._shown
            self._shown[message.ts] = version
            if edited:
                self._console.print(f"[dim]updated message {message.ts}[/dim]")
            payload = {"text": message.text, "blocks": message.blocks}
            render_to_console(payload, self._console, thread=message.thread_ts is not None)
            shown += 1
        return shown


def _settle(bot: PanBot, rounds: int = 30) -> None:
    """Run the work a poll starts (investigations, outbox) until nothing is left."""
    for _ in range(rounds):
        sent = bot.notifier.drain(budget=30)
        busy = bot.run_pending_work()
        if not sent and not busy:
            return


def run_demo(*, follow: bool = False, language: str | None = None) -> int:
    """Run the demo; with `follow`, keep polling until Ctrl-C."""
    console = Console()
    lang: Literal["en", "ja"] = "ja" if language == "ja" else "en"
    with tempfile.TemporaryDirectory(prefix="panbot-demo-") as tmp:
        url = os.environ.get("PANBOT_DATABASE_URL") or f"sqlite:///{tmp}/panbot.db"
        with demo_world(url, lang) as world:
            console.rule("[bold]panbot demo")
            console.print(
                f"PAN-OS simulator: {world.simulator.url}/api/   fake Slack: "
                f"{world.slack.api_url}   database: {url.split('@')[-1]}"
            )
            bot = PanBot(world.settings, slack_min_interval=0.05)
            printer = SlackPrinter(world.slack, console)
            try:
                if follow:
                    return _follow(bot, printer, console)
                outcomes = bot.poller.poll_all()
                for outcome in outcomes:
                    status = outcome.error or f"{len(outcome.alerts_opened)} alert(s)"
                    console.print(f"[dim]rule {outcome.rule}: {outcome.read} log(s), {status}")
                _settle(bot)
                printer.print_new()
                console.rule(
                    f"{len(world.slack.parents(DEMO_CHANNEL))} alerts posted to "
                    f"#{DEMO_CHANNEL}; `panbot demo --follow` keeps polling"
                )
            finally:
                bot.stop()
    return 0


def _follow(bot: PanBot, printer: SlackPrinter, console: Console) -> int:
    stop = threading.Event()
    bot.start()
    console.print("[dim]following: new simulator logs become alerts; Ctrl-C to stop")
    try:
        while not stop.is_set():
            printer.print_new()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    return 0
