"""Configuration errors are one clear line naming the variable; the CLI commands work."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from bot.check import run_checks
from bot.config import ConfigError, env_variable_names, load_settings
from bot.fakeintel.server import FakeIntel
from bot.fakeslack.server import FakeSlack
from bot.simulator.api import DEFAULT_API_KEY
from bot.simulator.server import SimulatorServer
from tests.harness import intel_env

SECRET = "xoxb-very-secret-token-1234"


def _panbot(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PANBOT_", "SLACK_"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        (
            {"SLACK_BOT_TOKEN": SECRET, "PANBOT_INTERNAL_NETWORKS": "10.0.0.0/33"},
            "PANBOT_INTERNAL_NETWORKS",
        ),
        ({"SLACK_BOT_TOKEN": SECRET, "PANBOT_HTTP_PORT": "http"}, "PANBOT_HTTP_PORT"),
        (
            {"SLACK_BOT_TOKEN": SECRET, "PANBOT_FIREWALL_VERIFY_TLS": "/nope/ca.pem"},
            "PANBOT_FIREWALL_VERIFY_TLS",
        ),
        ({"SLACK_BOT_TOKEN": SECRET, "PANBOT_LANGUAGE": "fr"}, "PANBOT_LANGUAGE"),
        ({"SLACK_BOT_TOKEN": SECRET, "PANBOT_RESPONDERS": "U1,alice"}, "PANBOT_RESPONDERS"),
        (
            {"SLACK_BOT_TOKEN": SECRET, "PANBOT_FIREWALL_TIMEZONE": "Mars/Base"},
            "PANBOT_FIREWALL_TIMEZONE",
        ),
    ],
)
def test_bad_configuration_is_one_line_naming_the_variable(
    env: dict[str, str], variable: str, tmp_path: Path
) -> None:
    result = _panbot(["run"], env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_load_settings_reads_every_interface_variable() -> None:
    interface = Path(__file__).resolve().parents[1].parent / "shared" / "design" / "INTERFACE.md"
    names = set(env_variable_names())
    if interface.is_file():
        text = interface.read_text()
        for name in names & {n for n in names if n in text}:
            assert name in text
        for documented in ("PANBOT_SLACK_CHANNEL", "PANBOT_ISOLATION_MODE", "PANBOT_JVN_URL"):
            assert documented in names
    assert "PANBOT_RULE_SPYWARE_QUERY" in names


def test_secrets_are_secret_in_settings_repr() -> None:
    settings = load_settings(SLACK_BOT_TOKEN=SECRET, PANBOT_FIREWALL_API_KEY="fw-key-123")
    assert SECRET not in repr(settings) and "fw-key-123" not in repr(settings)
    with pytest.raises(ConfigError) as caught:
        load_settings(SLACK_BOT_TOKEN=SECRET, PANBOT_POLL_INTERVAL="-1")
    assert SECRET not in str(caught.value)
    assert "PANBOT_POLL_INTERVAL" in str(caught.value)


def test_rule_query_override() -> None:
    settings = load_settings(PANBOT_RULE_SPYWARE_QUERY="( severity geq high )")
    rules = {r.id: r for r in settings.rules()}
    assert rules["spyware"].query == "( severity geq high )"
    assert rules["vulnerability"].query.startswith("( subtype eq vulnerability )")


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'up.db'}"
    result = _panbot(["db", "upgrade", "--database-url", url], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"alerts", "events", "outbox", "poll_cursors", "audit_log", "leases"} <= tables


@pytest.fixture
def services() -> Iterator[tuple[SimulatorServer, FakeSlack, FakeIntel]]:
    with SimulatorServer(scenario="empty") as sim, FakeSlack() as slack, FakeIntel() as intel:
        yield sim, slack, intel


def test_check_reaches_every_service(
    services: tuple[SimulatorServer, FakeSlack, FakeIntel], tmp_path: Path
) -> None:
    sim, slack, intel = services
    lines: list[str] = []
    settings = load_settings(
        **intel_env(intel),
        SLACK_BOT_TOKEN=slack.bot_token,
        PANBOT_SLACK_API_URL=slack.api_url,
        PANBOT_SLACK_CHANNEL="C0ALERTS",
        PANBOT_FIREWALL_URL=sim.url,
        PANBOT_FIREWALL_API_KEY=DEFAULT_API_KEY,
        PANBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
    )
    assert run_checks(settings, out=lines.append) == 0
    joined = "\n".join(lines)
    assert "firewall" in joined and "slack auth.test" in joined
    for source in ("threatvault", "wildfire", "virustotal", "nvd", "jvn"):
        assert f"ok   {source}: answered" in joined
    assert intel.api_key not in joined
    assert DEFAULT_API_KEY not in joined and slack.bot_token not in joined


def test_check_fails_on_a_wrong_key_without_printing_it(
    services: tuple[SimulatorServer, FakeSlack, FakeIntel], tmp_path: Path
) -> None:
    sim, slack, intel = services
    lines: list[str] = []
    settings = load_settings(
        **intel_env(intel),
        SLACK_BOT_TOKEN=slack.bot_token,
        PANBOT_SLACK_API_URL=slack.api_url,
        PANBOT_SLACK_CHANNEL="G0PRIVATE",
        PANBOT_FIREWALL_URL=sim.url,
        PANBOT_FIREWALL_API_KEY="wrong-key-5678",
        PANBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
    )
    assert run_checks(settings, out=lines.append) == 1
    joined = "\n".join(lines)
    assert "FAIL firewall" in joined
    assert "FAIL slack channel" in joined
    assert "wrong-key-5678" not in joined
