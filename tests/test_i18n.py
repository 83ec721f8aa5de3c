"""The catalogs: complete, parallel, really Japanese, and covering every key the code uses."""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path

import pytest

from bot.i18n import Catalog, keys, languages, placeholders
from bot.views.alert import ACTION_IDS
from bot.views.commands import SUBCOMMANDS
from bot.views.finding import FINDING_ACTIONS
from bot.views.model import ALERT_STATES, DIRECTIONS, ISOLATION_STATES, VERDICTS
from investigations.finding import SourceStatus
from investigations.rules import RULE_IDS

ROOT = Path(__file__).resolve().parents[1]
_KEY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def test_languages() -> None:
    assert languages() == ("en", "ja")
    with pytest.raises(ValueError, match="unknown language"):
        Catalog("fr")  # type: ignore[arg-type]


def test_same_keys_and_placeholders() -> None:
    en, ja = Catalog("en"), Catalog("ja")
    assert keys("en") == keys("ja")
    assert len(keys("en")) > 100
    for key in keys("en"):
        assert placeholders(en.template(key)) == placeholders(ja.template(key)), key


def test_templates_are_slack_safe() -> None:
    # Templates are inserted into mrkdwn as they are: a raw "<" or "&" would be parsed.
    for language in languages():
        catalog = Catalog(language)
        for key in keys(language):
            template = catalog.template(key)
            assert "<" not in template and ">" not in template, key
            for amp in re.finditer("&", template):
                assert template.startswith(("&amp;", "&lt;", "&gt;"), amp.start()), key
            assert template.strip(), key


def test_t_fills_placeholders_and_refuses_missing_keys() -> None:
    en = Catalog("en")
    assert en.t("alert.count_many", count=3) == "seen 3 times"
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        en.t("no.such.key")
    with pytest.raises(KeyError, match="count"):
        en.t("alert.count_many")


def test_lenient_catalog_logs_missing_keys(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert Catalog("en", strict=False).t("no.such.key") == "no.such.key"
    assert "no.such.key" in caplog.text


def test_japanese_is_japanese() -> None:
    ja = Catalog("ja")
    translated = [k for k in keys("ja") if _JAPANESE.search(ja.template(k))]
    # Product names, IDs and format-only templates ("{rule}: {threat}") stay as they are.
    assert len(translated) / len(keys("ja")) > 0.8
    assert ja.t("direction.outside_to_inside") == "外部 → 内部"
    assert ja.t("direction.inside_to_outside") == "内部 → 外部"
    assert ja.t("rule.vulnerability") == "脆弱性攻撃"
    assert ja.t("state.acknowledged") == "確認済み"
    assert ja.t("verdict.no_impact") == "影響なし"
    assert "担当者" in ja.t("triage.assignee", user="x")
    assert "隔離" in ja.t("button.request_isolation")
    assert "承認" in ja.t("button.approve_isolation")
    assert "ゼロデイ攻撃" in ja.t("warning.zero_day")
    assert "経過観察" in ja.t("recommend.monitor", host="h")


def test_dynamic_key_families_exist() -> None:
    expected = (
        [f"rule.{r}" for r in RULE_IDS]
        + [f"playbook.{r}" for r in (*RULE_IDS, "indicator")]
        + [f"direction.{d}" for d in DIRECTIONS]
        + [f"state.{s}" for s in ALERT_STATES]
        + [f"verdict.{v}" for v in VERDICTS]
        + [f"isolation.state.{s}" for s in ISOLATION_STATES]
        + [f"triage.isolation.{s}" for s in ISOLATION_STATES]
        + [f"isolation.outcome.{s}" for s in ("approved", "rejected")]
        + [f"button.{a}" for a in (*ACTION_IDS, *FINDING_ACTIONS, "retry_isolation")]
        + [f"source_status.{s.value}" for s in SourceStatus]
        + [
            f"source.{s}"
            for s in ("threatvault", "wildfire", "virustotal", "nvd", "jvn", "firewall")
        ]
        + [f"refusal.{r}" for r in ("not_responder", "not_approver", "own_request")]
        + [f"help.{c}" for c in SUBCOMMANDS]
        + [f"help.usage.{c}" for c in SUBCOMMANDS]
        + [f"already.{a}" for a in ACTION_IDS if a not in {"assign", "enrich"}]
        + [f"already.{a}.anonymous" for a in ACTION_IDS if a not in {"assign", "enrich"}]
    )
    missing = [key for key in expected if key not in keys("en")]
    assert not missing


def _keys_in_calls(tree: ast.AST, namespaces: set[str]) -> set[str]:
    """Literal catalog keys passed as a call's key argument (first, or second for say())."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        # say(catalog, key, ...) takes the key second; t(), Message(), CommandError(),
        # note_payload() and the like take it first.
        args = node.args[1:2] if name == "say" else node.args[:1]
        args += [kw.value for kw in node.keywords if kw.arg in {"key", "label"}]
        for arg in args:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                continue
            if _KEY.fullmatch(arg.value) and arg.value.split(".")[0] in namespaces:
                found.add(arg.value)
    return found


def _all_dotted_literals(tree: ast.AST, namespaces: set[str]) -> set[str]:
    """Every dotted string literal whose first part is a catalog namespace."""
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _KEY.fullmatch(node.value)
        and node.value.split(".")[0] in namespaces
    }


def test_every_key_used_in_code_exists() -> None:
    namespaces = {key.split(".")[0] for key in keys("en")}
    used: dict[str, str] = {}
    for folder in ("bot", "investigations"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found = _keys_in_calls(tree, namespaces)
            if path.is_relative_to(ROOT / "bot" / "views"):
                found |= _all_dotted_literals(tree, namespaces)
            for key in found:
                used.setdefault(key, str(path.relative_to(ROOT)))
    assert len(used) > 50  # the scan itself works
    missing = {key: where for key, where in used.items() if key not in keys("en")}
    assert not missing
