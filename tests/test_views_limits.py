"""The one limits helper clamps any builder output into Slack's Block Kit limits."""

from __future__ import annotations

import json

import pytest

from bot.views import blocks as bk
from bot.views.limits import MAX_BLOCKS_JSON, fit_message, fit_view
from tests.test_views_support import assert_valid_blocks


def test_too_many_blocks_keeps_the_buttons() -> None:
    content = [bk.section(f"line {i}") for i in range(80)]
    buttons = bk.actions([bk.button("ack", "Acknowledge", "1")], block_id="alert:1:actions")
    message = fit_message("t", [*content, buttons])
    assert len(message.blocks) == 50
    assert message.blocks[-1]["block_id"] == "alert:1:actions"
    assert "(+32)" in message.blocks[-2]["elements"][0]["text"]
    assert_valid_blocks(message.blocks, 50)


def test_long_texts_are_cut() -> None:
    blocks = [
        bk.header("h" * 500),
        bk.section("s" * 5000),
        {"type": "section", "fields": [bk.mrkdwn("f" * 3000) for _ in range(14)]},
        bk.actions([bk.button("enrich", "b" * 200, "1")], block_id="x"),
        bk.context(["c" * 4000] * 12),
    ]
    message = fit_message("t" * 50_000, blocks)
    assert len(message.text) == 4000
    assert len(message.blocks[0]["text"]["text"]) <= 150
    assert len(message.blocks[2]["fields"]) == 10
    assert len(message.blocks[3]["elements"][0]["text"]["text"]) <= 75
    assert len(message.blocks[4]["elements"]) == 10
    assert len(json.dumps(message.blocks, ensure_ascii=False)) <= MAX_BLOCKS_JSON
    assert_valid_blocks(message.blocks, 50)


def test_empty_texts_become_visible() -> None:
    message = fit_message("", [bk.section("")])
    assert message.text == "-"
    assert message.blocks[0]["text"]["text"] == "-"


def test_overlong_ids_are_a_bug() -> None:
    with pytest.raises(ValueError, match="255"):
        fit_message("t", [bk.section("x", block_id="b" * 256)])
    with pytest.raises(ValueError, match="255"):
        fit_message("t", [bk.actions([bk.button("a" * 256, "x", "1")], block_id="ok")])
    with pytest.raises(ValueError, match="2000"):
        fit_message("t", [bk.actions([bk.button("a", "x", "1" * 2001)], block_id="ok")])


def test_view_limits() -> None:
    view = fit_view(
        {
            "type": "modal",
            "title": bk.plain("a very long modal title indeed"),
            "blocks": [bk.section(str(i)) for i in range(150)],
        }
    )
    assert len(view["title"]["text"]) <= 24
    assert len(view["blocks"]) == 100
    with pytest.raises(ValueError, match="private_metadata"):
        fit_view({"type": "modal", "private_metadata": "x" * 3001, "blocks": [bk.section("x")]})
