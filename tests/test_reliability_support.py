"""Shared tools of the reliability, hostile-input and secrets tests (this module holds no tests).

`panbot run` as real subprocesses on a scratch PostgreSQL database of their own, the
invariants every fault test ends with, and JSON-log capture.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import select

from bot.fakeslack.server import FakeSlack
from bot.simulator.api import DEFAULT_API_KEY
from bot.simulator.filters import parse_filter
from bot.simulator.server import SimulatorServer
from investigations.rules import DEFAULT_RULES
from storage import Database
from storage.models import AlertRow, EventRow, Lease
from tests.harness import CHANNEL, SIGNING_SECRET, World

ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
LEASE_SECONDS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float, what: str = "condition") -> None:
    """Poll `predicate` until it is truthy; HTTP errors count as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout:g} s")


@contextmanager
def scratch_postgres(name: str) -> Iterator[str]:
    """A PostgreSQL database of this test's own (others' tests use `test` concurrently)."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate_backends(dbname: str) -> int:
    """Cut every connection to a database, as a PostgreSQL restart does to its clients."""
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        ).fetchall()
    return len(rows)


# -- invariants ------------------------------------------------------------------------------


def matching_keys(simulator: SimulatorServer) -> set[tuple[str, str, int]]:
    """(serial, log type, seqno) of every simulator log one of the five rules matches."""
    keys: set[tuple[str, str, int]] = set()
    for rule in DEFAULT_RULES:
        kind = rule.log_type.value
        for entry in simulator.store.query(kind, parse_filter(rule.query), nlogs=10**7):
            keys.add((entry["serial"], kind, int(entry["seqno"])))
    return keys


def assert_every_log_is_an_alert(db: Database, simulator: SimulatorServer) -> int:
    """Every matching log is stored once and belongs to an alert; returns how many."""
    with db.session() as s:
        rows = s.execute(
            select(EventRow.serial, EventRow.log_type, EventRow.seqno, EventRow.alert_id)
        ).all()
    stored = Counter((serial, log_type, seqno) for serial, log_type, seqno, _ in rows)
    assert max(stored.values(), default=1) == 1
    assert set(stored) == matching_keys(simulator)
    assert all(alert_id is not None for *_, alert_id in rows)
    return len(rows)


def assert_one_parent_per_alert(db: Database, slack: FakeSlack, channel: str = CHANNEL) -> int:
    """Every alert has exactly one parent message in the channel and no parent is extra."""
    with db.session() as s:
        stamps = list(s.scalars(select(AlertRow.slack_ts)))
    parents = [m.ts for m in slack.parents(channel)]
    assert None not in stamps, "an alert was never posted"
    assert len(parents) == len(set(parents)) == len(stamps) == len(set(stamps))
    assert set(parents) == set(stamps)
    accepted_texts = Counter(m.text for m in slack.parents(channel))
    assert max(accepted_texts.values(), default=1) == 1, "one alert posted twice"
    return len(stamps)


def lease_holders(db: Database) -> dict[str, str]:
    with db.session() as s:
        return {lease.name: lease.holder for lease in s.scalars(select(Lease))}


# -- panbot run as a process -----------------------------------------------------------------


class Replica:
    """One `python -m bot run` subprocess; JSON logs go to a file (a full pipe would block it)."""

    def __init__(self, w: World, database_url: str, workdir: Path, name: str, **env: str) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        self.workdir = workdir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PANBOT_", "SLACK_"))}
        self.env.update(
            SLACK_BOT_TOKEN=w.slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            PANBOT_MODE="http",
            PANBOT_SLACK_API_URL=w.slack.api_url,
            PANBOT_SLACK_CHANNEL=CHANNEL,
            PANBOT_FIREWALL_URL=w.simulator.url,
            PANBOT_FIREWALL_API_KEY=DEFAULT_API_KEY,
            PANBOT_DATABASE_URL=database_url,
            PANBOT_HTTP_HOST="127.0.0.1",
            PANBOT_HTTP_PORT=str(self.port),
            PANBOT_POLL_INTERVAL="1",
            PANBOT_LEASE_SECONDS=str(LEASE_SECONDS),
            PANBOT_LOG_LEVEL="INFO",
            # Enrichment goes to the fake intel in this process, never to the internet.
            PANBOT_THREATVAULT_URL=w.intel.urls["threatvault"],
            PANBOT_THREATVAULT_API_KEY=w.intel.api_key,
            PANBOT_WILDFIRE_URL=w.intel.urls["wildfire"],
            PANBOT_WILDFIRE_API_KEY=w.intel.api_key,
            PANBOT_VIRUSTOTAL_URL=w.intel.urls["virustotal"],
            PANBOT_VIRUSTOTAL_API_KEY=w.intel.api_key,
            PANBOT_NVD_URL=w.intel.urls["nvd"],
            PANBOT_JVN_URL=w.intel.urls["jvn"],
        )
        self.env.update(env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Replica:
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=self.env,
                cwd=self.workdir,
                stdout=log_file,
                stderr=log_file,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self, timeout: float = 3.0) -> httpx.Response:
        return httpx.get(f"{self.url}/healthz", timeout=timeout)

    def healthy(self) -> bool:
        return self.health().status_code == 200

    def wait_healthy(self, timeout: float = 30.0) -> None:
        wait_until(self.healthy, timeout, f"{self.name} /healthz 200")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, leases stay until they expire."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM; return the exit code and how long the process took to exit."""
        if self.process is None:  # never started (a test failed before)
            return 0, 0.0
        if self.process.poll() is not None:
            return self.process.returncode, 0.0
        begun = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise AssertionError(f"{self.name} did not exit within {timeout:g} s") from None
        return code, time.monotonic() - begun

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines (anything else the process wrote is returned as raw text)."""
        lines: list[dict[str, Any]] = []
        for raw in self.log_text().splitlines():
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {"raw": raw}
            lines.append(parsed if isinstance(parsed, dict) else {"raw": raw})
        return lines


@contextmanager
def replicas(
    w: World, database_url: str, workdir: Path, count: int, **env: str
) -> Iterator[list[Replica]]:
    """Start `count` replicas at once (as a deployment does); stop whatever is left at the end."""
    started = [Replica(w, database_url, workdir, f"replica{i}", **env) for i in range(count)]
    try:
        for replica in started:
            replica.start()
        yield started
    finally:
        for replica in started:
            if replica.process is not None and replica.process.poll() is None:
                replica.process.kill()
                replica.process.wait(timeout=10)
