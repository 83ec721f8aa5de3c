"""Secrets stay secret through every error path we can reach.

`panbot run` (and `check`) with known secret values: a refused firewall key, a wrong
firewall password, a revoked Slack token (invalid_auth), wrong intel keys, Slack 5xx,
a database that goes away under the jobs, configuration errors. None of the values
may appear in the JSON logs (tracebacks included), HTTP answers, Slack calls or the
fake services' records of what they were told, except where a secret is meant to go.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.fakeintel.server import FakeIntel
from bot.fakeslack.payloads import slash_command_body
from bot.fakeslack.server import FakeSlack
from bot.fakeslack.signing import signed_request_headers
from bot.simulator.server import SimulatorServer
from tests.harness import CHANNEL, World
from tests.test_reliability_faults import allow_connections
from tests.test_reliability_support import (
    Replica,
    scratch_postgres,
    terminate_backends,
    wait_until,
)

BOT_TOKEN = "xoxb-0000-secret-bot-token-a1"
WRONG_BOT_TOKEN = "xoxb-0000-secret-revoked-token-b2"
SIGNING = "secret-signing-c3c3c3c3c3c3"
FIREWALL_KEY = "secret-firewall-key-d4d4d4d4"
FIREWALL_PASSWORD = "secret-firewall-password-e5"
WRONG_FIREWALL_PASSWORD = "secret-wrong-password-f6f6"
INTEL_KEY = "secret-intel-key-g7g7g7g7"
WRONG_INTEL_KEY = "secret-wrong-intel-key-h8h8"
DB_PASSWORD = "secret-db-password-i9i9i9"
SECRETS = (
    BOT_TOKEN,
    WRONG_BOT_TOKEN,
    SIGNING,
    FIREWALL_KEY,
    FIREWALL_PASSWORD,
    WRONG_FIREWALL_PASSWORD,
    INTEL_KEY,
    WRONG_INTEL_KEY,
    DB_PASSWORD,
)


@pytest.fixture
def secret_world() -> Iterator[World]:
    simulator = SimulatorServer(
        api_key=FIREWALL_KEY, username="admin", password=FIREWALL_PASSWORD
    ).start()
    slack = FakeSlack(bot_token=BOT_TOKEN).start()
    intel = FakeIntel(api_key=INTEL_KEY)
    try:
        yield World(simulator, slack, intel)
    finally:
        intel.close()
        slack.stop()
        simulator.stop()


def leaks(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    return [s for s in SECRETS if s in text and s not in allowed]


def _intel(w: World, key: str) -> dict[str, str]:
    return {
        "PANBOT_THREATVAULT_API_KEY": key,
        "PANBOT_WILDFIRE_API_KEY": key,
        "PANBOT_VIRUSTOTAL_API_KEY": key,
        "PANBOT_NVD_API_KEY": key,
    }


def _get(url: str) -> str:
    response = httpx.get(url, timeout=5)
    return f"{response.status_code} {dict(response.headers)} {response.text}"


def _status(replica: Replica) -> str:
    body = slash_command_body(text="status")
    headers = signed_request_headers(SIGNING, body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = httpx.post(f"{replica.url}/slack/events", content=body, headers=headers, timeout=5)
    garbage = httpx.post(f"{replica.url}/slack/events", content=b"payload=%7Bnot-json", timeout=5)
    return f"{response.status_code} {response.text} {garbage.status_code} {garbage.text}"


def test_no_secret_in_logs_answers_or_messages_through_every_error_path(
    secret_world: World, tmp_path: Path
) -> None:
    w = secret_world
    answers: list[str] = []
    with scratch_postgres("panbot_secrets") as url:
        db_url = url.replace("postgres@", f"postgres:{DB_PASSWORD}@")  # trust: any password
        # 1. Keys accepted, then refused: firewall 403s, Slack 500s, wrong intel keys, and
        #    the database taken away under the running jobs.
        w.simulator.forbid_next(6)
        w.slack.fail_next("chat.postMessage", 2, status=500)
        working = Replica(
            w,
            db_url,
            tmp_path,
            "working",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING,
            PANBOT_FIREWALL_API_KEY=FIREWALL_KEY,
            PANBOT_LOG_LEVEL="DEBUG",
            **_intel(w, WRONG_INTEL_KEY),
        )
        # 2. A revoked Slack token and a wrong firewall password (keygen refused).
        refused = Replica(
            w,
            f"sqlite:///{tmp_path / 'refused.db'}",
            tmp_path,
            "refused",
            SLACK_BOT_TOKEN=WRONG_BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING,
            PANBOT_FIREWALL_API_KEY="",
            PANBOT_FIREWALL_USERNAME="admin",
            PANBOT_FIREWALL_PASSWORD=WRONG_FIREWALL_PASSWORD,
            PANBOT_LOG_LEVEL="DEBUG",
            **_intel(w, WRONG_INTEL_KEY),
        )
        refused.env.pop("PANBOT_FIREWALL_API_KEY")
        for replica in (working, refused):
            replica.start()
        try:
            wait_until(lambda: len(w.slack.parents(CHANNEL)) == 5, 60, "five parents")
            wait_until(lambda: refused.health().status_code == 503, 30, "refused unhealthy")
            dbname = url.rsplit("/", 1)[1]
            allow_connections(dbname, False)
            try:
                terminate_backends(dbname)
                time.sleep(2.5)
                answers.append(_get(f"{working.url}/healthz"))
            finally:
                allow_connections(dbname, True)
            wait_until(working.healthy, 20, "working healthy again")
            for replica in (working, refused):
                answers += [
                    _get(f"{replica.url}/healthz"),
                    _get(f"{replica.url}/metrics"),
                    _status(replica),
                ]
        finally:
            codes = [replica.stop()[0] for replica in (working, refused)]
    assert codes == [0, 0]

    logs = working.log_text() + refused.log_text()
    lines = working.log_lines() + refused.log_lines()
    # The error paths were really taken.
    messages = " ".join(str(line.get("message", "")) for line in lines)
    assert "invalid_auth" in messages
    assert "refused" in messages or "403" in messages
    assert "failing" in messages
    assert any("exception" in line for line in lines), "a traceback was logged"
    assert all("raw" not in line for line in lines), "every log line is JSON"

    assert leaks(logs) == []
    assert leaks("\n".join(answers)) == []
    slack_calls = json.dumps(w.slack.calls, default=str)
    responses = json.dumps([r.body for r in w.slack.responses], default=str)
    assert leaks(slack_calls + responses) == []
    # The firewall saw only its key (in a header, never the query string) and the
    # passwords only in keygen; the intel services only their keys.
    firewall_seen = json.dumps([r.params for r in w.simulator.requests()], default=str)
    assert leaks(firewall_seen) == []
    assert all(r.key_source in (None, "header") for r in w.simulator.requests())


CONFIG_ERRORS = {
    "PANBOT_HTTP_PORT": "secret-firewall-password-e5",
    "PANBOT_FIREWALL_URL": "ftp://admin:secret-firewall-password-e5@fw.example",
    "PANBOT_FIREWALL_VERIFY_TLS": "/nonexistent/secret-firewall-password-e5.pem",
    "PANBOT_DATABASE_URL": "postgresql+nodriver://u:secret-db-password-i9i9i9@127.0.0.1/db",
}
UNREACHABLE_DB = "postgresql+psycopg://u:secret-db-password-i9i9i9@127.0.0.1:9/panbot"


@pytest.mark.parametrize("variable", [*sorted(CONFIG_ERRORS), "unreachable database"])
def test_configuration_errors_name_the_variable_and_never_echo_its_value(
    variable: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANBOT_", "SLACK_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING,
        PANBOT_SLACK_CHANNEL=CHANNEL,
        PANBOT_FIREWALL_URL="http://127.0.0.1:9",
        PANBOT_FIREWALL_API_KEY=FIREWALL_KEY,
        PANBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'config.db'}",
    )
    if variable == "unreachable database":
        variable, env["PANBOT_DATABASE_URL"] = "PANBOT_DATABASE_URL", UNREACHABLE_DB
    else:
        env[variable] = CONFIG_ERRORS[variable]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert variable in output
    assert "Traceback" not in output
    assert leaks(output) == []


def test_check_prints_no_secret_when_every_key_is_wrong(
    secret_world: World, tmp_path: Path
) -> None:
    w = secret_world
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PANBOT_", "SLACK_"))}
    env.update(
        SLACK_BOT_TOKEN=WRONG_BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING,
        PANBOT_SLACK_API_URL=w.slack.api_url,
        PANBOT_SLACK_CHANNEL=CHANNEL,
        PANBOT_FIREWALL_URL=w.simulator.url,
        PANBOT_FIREWALL_USERNAME="admin",
        PANBOT_FIREWALL_PASSWORD=WRONG_FIREWALL_PASSWORD,
        PANBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'check.db'}",
        PANBOT_THREATVAULT_URL=w.intel.urls["threatvault"],
        PANBOT_WILDFIRE_URL=w.intel.urls["wildfire"],
        PANBOT_VIRUSTOTAL_URL=w.intel.urls["virustotal"],
        PANBOT_NVD_URL=w.intel.urls["nvd"],
        PANBOT_JVN_URL=w.intel.urls["jvn"],
        **_intel(w, WRONG_INTEL_KEY),
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert output.count("FAIL") >= 3
    assert leaks(output) == []
