"""Check Block Kit payloads against the limits Slack enforces, so bot bugs fail in tests."""

from __future__ import annotations

import json
from typing import Any

from bot.fakeslack.state import SlackError

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
_SECTION_TEXT = 3000
_FIELDS = 10
_FIELD_TEXT = 2000
_HEADER_TEXT = 150
_BUTTON_TEXT = 75
_BUTTON_VALUE = 2000
_ID_LENGTH = 255


def parse_blocks(raw: Any, limit: int = MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """Return `blocks` as a list, from a JSON string or a list, or raise Slack's error."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise SlackError("invalid_blocks_format") from exc
    if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
        raise SlackError("invalid_blocks_format")
    problems = list(_problems(raw, limit))
    if problems:
        raise SlackError("invalid_blocks", errors=problems)
    return raw


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return ""


def _problems(blocks: list[dict[str, Any]], limit: int) -> list[str]:
    found: list[str] = []
    if len(blocks) > limit:
        found.append(f"no more than {limit} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        kind = block.get("type")
        if not isinstance(kind, str) or not kind:
            found.append(f"missing required field: type [json-pointer:{where}]")
            continue
        if len(str(block.get("block_id", ""))) > _ID_LENGTH:
            found.append(
                f"must be less than {_ID_LENGTH} characters [json-pointer:{where}/block_id]"
            )
        if kind == "section":
            if len(_text_of(block.get("text"))) > _SECTION_TEXT:
                found.append(f"must be less than 3001 characters [json-pointer:{where}/text/text]")
            fields = block.get("fields") or []
            if len(fields) > _FIELDS:
                found.append(f"no more than {_FIELDS} items allowed [json-pointer:{where}/fields]")
            for j, item in enumerate(fields):
                if len(_text_of(item)) > _FIELD_TEXT:
                    found.append(
                        f"must be less than 2001 characters [json-pointer:{where}/fields/{j}]"
                    )
            if "text" not in block and not fields:
                found.append(f"must provide text or fields [json-pointer:{where}]")
        if kind == "header" and len(_text_of(block.get("text"))) > _HEADER_TEXT:
            found.append(f"must be less than 151 characters [json-pointer:{where}/text/text]")
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for j, element in enumerate(elements):
            found.extend(_element_problems(element, f"{where}/elements/{j}"))
    return found


def _element_problems(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict):
        return []
    found: list[str] = []
    if len(str(element.get("action_id", ""))) > _ID_LENGTH:
        found.append(f"must be less than 256 characters [json-pointer:{where}/action_id]")
    if element.get("type") == "button":
        if len(_text_of(element.get("text"))) > _BUTTON_TEXT:
            found.append(f"must be less than 76 characters [json-pointer:{where}/text/text]")
        if len(str(element.get("value", ""))) > _BUTTON_VALUE:
            found.append(f"must be less than 2001 characters [json-pointer:{where}/value]")
    return found
