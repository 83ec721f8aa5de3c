"""Render posted Slack messages in a terminal, for `panbot demo`.

Outside text arrives here escaped and is shown as literal text: nothing in it is
read as rich markup, so a log field reading `[bold]` prints as typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from bot.views.model import SlackMessage

_TOKEN = re.compile(r"<([^<>]+)>")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_EMOJI = {
    ":warning:": "⚠",
    ":white_check_mark:": "✔",
    ":x:": "✖",
    ":bulb:": "💡",
    ":mag:": "🔍",
    ":eyes:": "👀",
    ":bell:": "🔔",
    ":no_entry:": "⛔",
    ":no_entry_sign:": "🚫",
    ":grey_question:": "?",
    ":information_source:": "ℹ",
    ":rotating_light:": "🚨",
    ":hourglass_flowing_sand:": "⏳",
    ":construction:": "🚧",
    ":adhesive_bandage:": "🩹",
    ":bust_in_silhouette:": "👤",
}
_BUTTON_STYLE = {"primary": "bold green", "danger": "bold red"}


def unescape(text: str) -> str:
    """Undo Slack's three-character escaping."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _token(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return target
    if target.startswith("!subteam^"):
        return "@" + target.removeprefix("!subteam^")
    if target.startswith("!"):
        return "@" + target[1:]
    return f"{unescape(label)} ({unescape(target)})" if label else unescape(target)


def mrkdwn_to_text(source: str) -> Text:
    """Turn Slack mrkdwn into rich Text: tokens readable, entities decoded, *bold* bold."""
    pieces: list[str] = []
    last = 0
    for match in _TOKEN.finditer(source):
        pieces.append(unescape(source[last : match.start()]))
        pieces.append(_token(match))
        last = match.end()
    pieces.append(unescape(source[last:]))
    plain = "".join(pieces)
    for code, symbol in _EMOJI.items():
        plain = plain.replace(code, symbol)
    text = Text()
    last = 0
    for match in _BOLD.finditer(plain):
        text.append(plain[last : match.start()])
        text.append(match.group(1), style="bold")
        last = match.end()
    text.append(plain[last:])
    return text


def _object_text(obj: Mapping[str, Any] | None) -> Text:
    if not obj:
        return Text()
    raw = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(raw)
    return Text(unescape(raw))


def _element(element: Mapping[str, Any]) -> Text:
    kind = element.get("type")
    if kind == "button":
        label = _object_text(element.get("text")).plain
        return Text(f"[ {label} ]", style=_BUTTON_STYLE.get(str(element.get("style")), "bold"))
    if kind in {"users_select", "static_select", "conversations_select"}:
        return Text(f"[ {_object_text(element.get('placeholder')).plain} ▾ ]", style="bold")
    if kind == "radio_buttons":
        options = [f"( ) {_object_text(o.get('text')).plain}" for o in element.get("options", [])]
        return Text("  ".join(options))
    if kind in {"plain_text_input", "number_input"}:
        return Text("[ ________ ]", style="dim")
    return Text(f"[{kind}]", style="dim")


def _fields(fields: list[Mapping[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 3), expand=True)
    grid.add_column(ratio=1, overflow="fold")
    grid.add_column(ratio=1, overflow="fold")
    cells = [_object_text(f) for f in fields]
    for start in range(0, len(cells), 2):
        pair = cells[start : start + 2]
        grid.add_row(*pair, *([Text()] * (2 - len(pair))))
    return grid


def _block(block: Mapping[str, Any]) -> RenderableType:
    kind = block.get("type")
    if kind == "header":
        return Text(_object_text(block.get("text")).plain, style="bold reverse")
    if kind == "section":
        parts: list[RenderableType] = []
        if block.get("text"):
            parts.append(_object_text(block.get("text")))
        if block.get("fields"):
            parts.append(_fields(list(block["fields"])))
        if block.get("accessory"):
            parts.append(_element(block["accessory"]))
        return Group(*parts)
    if kind == "context":
        line = Text("  ·  ").join(_object_text(e) for e in block.get("elements", []))
        line.stylize("dim")
        return line
    if kind == "actions":
        return Text(" ").join(_element(e) for e in block.get("elements", []))
    if kind == "divider":
        return Rule(style="dim")
    if kind == "input":
        label = _object_text(block.get("label")).plain
        return Text.assemble((f"{label}: ", "bold"), _element(block.get("element", {})))
    return Text(f"[{kind} block]", style="dim")


def render_to_console(
    message: SlackMessage | Mapping[str, Any], console: Console, *, thread: bool
) -> None:
    """Print a posted message (or view) readably: a box per message, thread replies indented."""
    payload = message.to_payload() if isinstance(message, SlackMessage) else message
    blocks = list(payload.get("blocks") or [])
    body: RenderableType
    if blocks:
        body = Group(*(_block(b) for b in blocks))
    else:
        body = mrkdwn_to_text(str(payload.get("text", "")))
    if thread:
        console.print(Padding(Panel(body, border_style="dim", title="↳"), (0, 0, 0, 4)))
    else:
        console.print(Panel(body, border_style="cyan"))
