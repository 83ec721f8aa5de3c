"""Block Kit limits, enforced in one place for every message and view panbot builds.

Builders may produce anything; `fit_message` and `fit_view` clamp the result so
Slack never answers `invalid_blocks` or `msg_blocks_too_long`.
"""

from __future__ import annotations

import json
from typing import Any

from bot.views.escape import truncate
from bot.views.model import SlackMessage

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_OPTION_TEXT = 75
MAX_PLACEHOLDER = 150
MAX_CONFIRM_TITLE = 100
MAX_CONFIRM_TEXT = 300
MAX_CONFIRM_BUTTON = 30
MAX_INPUT_LABEL = 2000
MAX_ID = 255
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_TITLE = 24
MAX_MESSAGE_TEXT = 4000
# Slack refuses very large block payloads ("msg_blocks_too_long") near 13k characters.
MAX_BLOCKS_JSON = 12_000
# Shrinking stops here: a text this short is not worth cutting further.
_MIN_SHRINK = 80

Block = dict[str, Any]


def fit_message(text: str, blocks: list[Block]) -> SlackMessage:
    """Return a message whose text and blocks are within Slack's limits."""
    blocks = _fit_count(blocks, MAX_MESSAGE_BLOCKS)
    for block in blocks:
        _clamp_block(block)
    _shrink_to_budget(blocks)
    return SlackMessage(text=truncate(text or "-", MAX_MESSAGE_TEXT), blocks=blocks)


def fit_view(view: dict[str, Any]) -> dict[str, Any]:
    """Return a modal or Home view within Slack's limits."""
    blocks = _fit_count(list(view.get("blocks", [])), MAX_VIEW_BLOCKS)
    for block in blocks:
        _clamp_block(block)
    view["blocks"] = blocks
    for key in ("title", "submit", "close"):
        if key in view:
            view[key]["text"] = truncate(view[key]["text"], MAX_VIEW_TITLE)
    metadata = view.get("private_metadata")
    if metadata is not None and len(metadata) > MAX_PRIVATE_METADATA:
        raise ValueError("private_metadata exceeds 3000 characters")
    _check_id(view.get("callback_id"))
    return view


def _fit_count(blocks: list[Block], limit: int) -> list[Block]:
    if len(blocks) <= limit:
        return blocks
    # The buttons are what the team acts on: keep trailing actions blocks, drop content.
    tail: list[Block] = []
    while blocks and blocks[-1].get("type") == "actions" and len(tail) < 2:
        tail.insert(0, blocks.pop())
    keep = limit - len(tail) - 1
    dropped = len(blocks) - keep
    more = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"… (+{dropped})"}]}
    return [*blocks[:keep], more, *tail]


def _check_id(value: object) -> None:
    if isinstance(value, str) and len(value) > MAX_ID:
        raise ValueError(f"id longer than {MAX_ID} characters: {value[:40]}…")


def _clamp_text(obj: dict[str, Any] | None, limit: int) -> None:
    if obj is None:
        return
    text = obj.get("text") or "-"
    obj["text"] = truncate(text, limit)


def _clamp_block(block: Block) -> None:
    _check_id(block.get("block_id"))
    kind = block.get("type")
    if kind == "header":
        _clamp_text(block.get("text"), MAX_HEADER_TEXT)
    elif kind == "section":
        _clamp_text(block.get("text"), MAX_SECTION_TEXT)
        if "fields" in block:
            block["fields"] = block["fields"][:MAX_FIELDS]
            for item in block["fields"]:
                _clamp_text(item, MAX_FIELD_TEXT)
        if "accessory" in block:
            _clamp_element(block["accessory"])
    elif kind == "context":
        block["elements"] = block["elements"][:MAX_CONTEXT_ELEMENTS]
        for item in block["elements"]:
            _clamp_text(item, MAX_SECTION_TEXT)
    elif kind == "actions":
        block["elements"] = block["elements"][:MAX_ACTION_ELEMENTS]
        for element in block["elements"]:
            _clamp_element(element)
    elif kind == "input":
        _clamp_text(block.get("label"), MAX_INPUT_LABEL)
        _clamp_text(block.get("hint"), MAX_INPUT_LABEL)
        _clamp_element(block["element"])


def _clamp_element(element: dict[str, Any]) -> None:
    _check_id(element.get("action_id"))
    if element.get("type") == "button":
        _clamp_text(element.get("text"), MAX_BUTTON_TEXT)
        value = element.get("value")
        if value is not None and len(value) > MAX_BUTTON_VALUE:
            raise ValueError("button value exceeds 2000 characters")
    _clamp_text(element.get("placeholder"), MAX_PLACEHOLDER)
    for option in element.get("options", []):
        _clamp_text(option.get("text"), MAX_OPTION_TEXT)
    confirm = element.get("confirm")
    if confirm is not None:
        _clamp_text(confirm.get("title"), MAX_CONFIRM_TITLE)
        _clamp_text(confirm.get("text"), MAX_CONFIRM_TEXT)
        _clamp_text(confirm.get("confirm"), MAX_CONFIRM_BUTTON)
        _clamp_text(confirm.get("deny"), MAX_CONFIRM_BUTTON)


def _shrinkable_texts(blocks: list[Block]) -> list[dict[str, Any]]:
    texts: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("type") == "section":
            texts.extend(t for t in [block.get("text"), *block.get("fields", [])] if t)
        elif block.get("type") == "context":
            texts.extend(block["elements"])
    return texts


def _size(blocks: list[Block]) -> int:
    return len(json.dumps(blocks, ensure_ascii=False))


def _shrink_to_budget(blocks: list[Block]) -> None:
    while _size(blocks) > MAX_BLOCKS_JSON:
        texts = [t for t in _shrinkable_texts(blocks) if len(t.get("text", "")) > _MIN_SHRINK]
        if not texts:
            return
        longest = max(texts, key=lambda t: len(t["text"]))
        longest["text"] = truncate(longest["text"], max(_MIN_SHRINK, len(longest["text"]) // 2))
