"""Small Block Kit constructors: the only code that spells out block dictionaries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from bot.views.limits import MAX_FIELDS, Block

ButtonStyle = Literal["primary", "danger"]


def plain(text: str) -> dict[str, Any]:
    """Return a plain_text object."""
    return {"type": "plain_text", "text": text or "-", "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    """Return a mrkdwn text object."""
    return {"type": "mrkdwn", "text": text or "-"}


def header(text: str, *, block_id: str | None = None) -> Block:
    """Return a header block."""
    return _with_id({"type": "header", "text": plain(text)}, block_id)


def section(
    text: str, *, block_id: str | None = None, accessory: dict[str, Any] | None = None
) -> Block:
    """Return a section block of mrkdwn text."""
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory is not None:
        block["accessory"] = accessory
    return _with_id(block, block_id)


def field_sections(items: Sequence[str], *, block_id: str | None = None) -> list[Block]:
    """Return sections of mrkdwn fields, ten to a section."""
    blocks: list[Block] = []
    for start in range(0, len(items), MAX_FIELDS):
        chunk = items[start : start + MAX_FIELDS]
        part_id = None if block_id is None else f"{block_id}:{start // MAX_FIELDS}"
        blocks.append(_with_id({"type": "section", "fields": [mrkdwn(i) for i in chunk]}, part_id))
    return blocks


def labelled(label: str, value: str) -> str:
    """Return a field's mrkdwn: the label in bold above the value (both already safe)."""
    return f"*{label}*\n{value}"


def context(texts: Sequence[str], *, block_id: str | None = None) -> Block:
    """Return a context block of mrkdwn texts."""
    return _with_id({"type": "context", "elements": [mrkdwn(t) for t in texts]}, block_id)


def divider() -> Block:
    """Return a divider block."""
    return {"type": "divider"}


def confirm(title: str, text: str, yes: str, no: str) -> dict[str, Any]:
    """Return a confirmation dialog for a button."""
    return {"title": plain(title), "text": mrkdwn(text), "confirm": plain(yes), "deny": plain(no)}


def button(
    action_id: str,
    text: str,
    value: str,
    *,
    style: ButtonStyle | None = None,
    confirmation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a button element."""
    element: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(text),
        "value": value,
    }
    if style is not None:
        element["style"] = style
    if confirmation is not None:
        element["confirm"] = confirmation
    return element


def users_select(
    action_id: str, placeholder: str, *, initial_user: str | None = None
) -> dict[str, Any]:
    """Return a users_select element."""
    element: dict[str, Any] = {
        "type": "users_select",
        "action_id": action_id,
        "placeholder": plain(placeholder),
    }
    if initial_user is not None:
        element["initial_user"] = initial_user
    return element


def actions(elements: Sequence[dict[str, Any]], *, block_id: str) -> Block:
    """Return an actions block."""
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def option(value: str, text: str) -> dict[str, Any]:
    """Return an option for a radio or select element."""
    return {"text": plain(text), "value": value}


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    """Return an input block (modals only)."""
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }
    if hint is not None:
        block["hint"] = plain(hint)
    return block


def _with_id(block: Block, block_id: str | None) -> Block:
    if block_id is not None:
        block["block_id"] = block_id
    return block
