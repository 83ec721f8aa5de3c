"""The docs stay true to the code: every variable, default, link, metric and example."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from lxml import etree

from bot.cli import main
from bot.config import Settings, env_variable_names
from bot.logs import CONTEXT_FIELDS
from bot.metrics import Metrics
from investigations.panos import commands
from investigations.rules import DEFAULT_RULES

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION = ROOT / "docs" / "configuration.md"
OPERATIONS = ROOT / "docs" / "operations.md"
READMES = (ROOT / "README.md", ROOT / "README.ja.md")
FIRST_LINES = [
    "# panbot",
    "",
    "```bash",
    "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/panbot demo",
    "bash .ci/run",
    "```",
]
_VARIABLE = re.compile(r"^`([A-Z][A-Z0-9_]+)`$")


def _table_rows(path: Path) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def documented_variables() -> dict[str, list[str]]:
    """Variable name → its table row, from every table of configuration.md."""
    found: dict[str, list[str]] = {}
    for row in _table_rows(CONFIGURATION):
        match = _VARIABLE.match(row[0])
        if match:
            assert match.group(1) not in found, f"{match.group(1)} documented twice"
            found[match.group(1)] = row
    return found


def test_configuration_documents_exactly_the_variables_settings_reads() -> None:
    documented = set(documented_variables())
    read = set(env_variable_names())
    assert read - documented == set(), "undocumented in docs/configuration.md"
    assert documented - read == set(), "documented but not read by bot/config.py"


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_configuration_defaults_match_settings() -> None:
    rows = documented_variables()
    checked = 0
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        assert isinstance(alias, str), name
        default = field.default
        if default is None or not isinstance(default, str | int | float | bool):
            continue
        cell = rows[alias][1]
        assert f"`{_shown(default)}`" in cell, f"{alias}: default {default!r} vs {cell!r}"
        checked += 1
    assert checked >= 15


def test_configuration_shows_each_rules_default_query() -> None:
    rows = documented_variables()
    for rule in DEFAULT_RULES:
        cell = rows[f"PANBOT_RULE_{rule.id.upper()}_QUERY"][1]
        assert f"`{rule.query}`" in cell


def test_configuration_variable_rows_are_complete() -> None:
    for name, row in documented_variables().items():
        assert len(row) == 3 and row[1] and len(row[2]) > 20, name


def test_readmes_begin_with_the_two_fresh_machine_commands() -> None:
    for readme in READMES:
        lines = readme.read_text(encoding="utf-8").splitlines()
        assert lines[: len(FIRST_LINES)] == FIRST_LINES, readme.name


def _cli_commands() -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["--help"])
    match = re.search(r"\{([a-z,]+)\}", out.getvalue())
    assert match
    return match.group(1).split(",")


def test_readmes_list_every_command_and_link_the_docs() -> None:
    commands_ = _cli_commands()
    assert {"run", "check", "demo", "simulator", "db"} <= set(commands_)
    for readme in READMES:
        text = readme.read_text(encoding="utf-8")
        for command in commands_:
            assert f"`panbot {command}" in text, f"{readme.name}: panbot {command}"
        for target in ("docs/configuration.md", "docs/operations.md", "manifest.yml"):
            assert f"]({target}" in text, f"{readme.name}: link to {target}"


def test_japanese_readme_is_japanese() -> None:
    text = (ROOT / "README.ja.md").read_text(encoding="utf-8")
    kana = sum(1 for ch in text if "\u3040" <= ch <= "\u30ff")
    assert kana > 500


def _slug(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _markdown_files() -> list[Path]:
    return [*READMES, CONFIGURATION, OPERATIONS]


def test_relative_links_and_anchors_resolve() -> None:
    link = re.compile(r"\]\(([^)\s]+)\)")
    checked = 0
    for doc in _markdown_files():
        for target in link.findall(doc.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path_part, _, anchor = target.partition("#")
            path = (doc.parent / path_part).resolve() if path_part else doc
            assert path.exists(), f"{doc.name}: broken link {target}"
            if anchor:
                headings = [
                    _slug(line.lstrip("#"))
                    for line in path.read_text(encoding="utf-8").splitlines()
                    if line.startswith("#")
                ]
                assert anchor in headings, f"{doc.name}: no heading for #{anchor} in {path.name}"
            checked += 1
    assert checked >= 15


def test_operations_names_the_real_metrics() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    exposed = {
        f"{metric.name}_total" if metric.type == "counter" else metric.name
        for metric in Metrics().registry.collect()
    }
    named = set(re.findall(r"`(panbot_[a-z_]+)", text))
    assert named, "operations.md names no metric"
    assert named <= exposed, named - exposed
    assert len(named) >= 8


def test_operations_names_the_real_log_fields() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    for field in (*CONTEXT_FIELDS, "time", "level", "logger", "message", "exception"):
        assert f"`{field}`" in text, field
    assert "`PANBOT_LOG_LEVEL`" in text


def test_operations_register_example_is_what_panbot_sends() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    block = re.search(r"```xml\n(<uid-message>.*?</uid-message>)\n```", text, re.S)
    assert block, "the User-ID register example is missing"
    parser = etree.XMLParser(remove_blank_text=True)
    documented = etree.tostring(etree.fromstring(block.group(1).encode(), parser))
    sent = etree.tostring(
        etree.fromstring(commands.register_cmd("192.0.2.10", "panbot-quarantine", 0).encode())
    )
    assert documented == sent


def test_operations_quarantine_setup_uses_the_default_tag() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    tag = Settings.model_fields["quarantine_tag"].default
    assert f"set tag {tag} " in text
    assert f"dynamic filter \"'{tag}'\"" in text
    assert "<filter>'" + tag + "'</filter>" in text
    assert "move rulebase security rules" in text and "action deny" in text
    for permission in ("xmlapi log enable", "xmlapi op enable", "xmlapi user-id enable"):
        assert permission in text
    for forbidden in ("xmlapi config enable", "xmlapi commit enable"):
        assert forbidden not in text
