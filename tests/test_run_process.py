"""`panbot run` as a real process: health, metrics, alerts posted, clean SIGTERM, quiet restart."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bot.simulator.api import DEFAULT_API_KEY
from storage.models import Base
from tests.conftest import _postgres as pg_database
from tests.harness import CHANNEL, SIGNING_SECRET, World, world


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def w() -> Iterator[World]:
    with world() as started:
        yield started


def _start(w: World, url: str, port: int, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANBOT_", "SLACK_"))}
    env.update(
        SLACK_BOT_TOKEN=w.slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        PANBOT_SLACK_API_URL=w.slack.api_url,
        PANBOT_SLACK_CHANNEL=CHANNEL,
        PANBOT_FIREWALL_URL=w.simulator.url,
        PANBOT_FIREWALL_API_KEY=DEFAULT_API_KEY,
        PANBOT_DATABASE_URL=url,
        PANBOT_HTTP_HOST="127.0.0.1",
        PANBOT_HTTP_PORT=str(port),
        PANBOT_POLL_INTERVAL="1",
        # every outside service is a local fake: tests never leave 127.0.0.1
        PANBOT_THREATVAULT_URL=w.intel.urls["threatvault"],
        PANBOT_THREATVAULT_API_KEY=w.intel.api_key,
        PANBOT_WILDFIRE_URL=w.intel.urls["wildfire"],
        PANBOT_WILDFIRE_API_KEY=w.intel.api_key,
        PANBOT_VIRUSTOTAL_URL=w.intel.urls["virustotal"],
        PANBOT_VIRUSTOTAL_API_KEY=w.intel.api_key,
        PANBOT_NVD_URL=w.intel.urls["nvd"],
        PANBOT_JVN_URL=w.intel.urls["jvn"],
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=cwd,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, stderr


def test_run_posts_alerts_serves_health_and_stops_cleanly(w: World, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'run.db'}"
    port = _free_port()
    process = _start(w, url, port, tmp_path)
    try:
        _wait(lambda: len(w.slack.parents(CHANNEL)) == 5, timeout=60)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    finally:
        code, stderr = _stop(process)
    assert code == 0, stderr
    assert health.status_code == 200
    body = health.json()
    assert (body["status"], body["database"], body["firewall"]) == ("ok", "ok", "ok")
    assert body["last_poll"]
    assert "panbot_polls_total" in metrics.text
    assert "panbot_alerts_opened_total" in metrics.text
    assert DEFAULT_API_KEY not in stderr and w.slack.bot_token not in stderr

    # A restart with nothing new to post posts nothing.
    posted = len(w.slack.calls_to("chat.postMessage"))
    again = _start(w, url, port, tmp_path)
    try:
        _wait(
            lambda: (
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json().get("last_poll")
            ),
            timeout=30,
        )
        time.sleep(2)
    finally:
        code, _ = _stop(again)
    assert code == 0
    parents = [c for c in w.slack.calls_to("chat.postMessage") if not c.get("thread_ts")]
    assert len(parents) == 5
    # work left when the first process stopped may be finished now, but nothing twice
    replies = [
        (c.get("thread_ts"), c.get("text"))
        for c in w.slack.calls_to("chat.postMessage")
        if c.get("thread_ts")
    ]
    assert len(replies) == len(set(replies))
    assert len(w.slack.calls_to("chat.postMessage")) >= posted


def test_health_is_503_when_the_firewall_is_down(w: World, tmp_path: Path) -> None:
    port = _free_port()
    w.simulator.forbid_next(1000)
    process = _start(w, f"sqlite:///{tmp_path / 'down.db'}", port, tmp_path)
    try:
        _wait(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 503,
            timeout=30,
        )
        body = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
    finally:
        _stop(process)
    assert body["firewall"].startswith("error")


def test_run_applies_migrations_on_postgres(w: World, tmp_path: Path) -> None:
    database = pg_database()
    port = _free_port()
    with database.engine.begin() as conn:  # a fresh schema: run must migrate it itself
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    process = _start(w, database.url, port, tmp_path)
    try:
        _wait(lambda: len(w.slack.parents(CHANNEL)) == 5, timeout=60)
    finally:
        code, stderr = _stop(process)
        with database.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            Base.metadata.drop_all(conn)
            Base.metadata.create_all(conn)
        database.dispose()
    assert code == 0, stderr
