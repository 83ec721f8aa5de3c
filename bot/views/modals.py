"""Modals: the isolation request and the closing verdict.

Submissions arrive as `view_submission` with the callback_id below; the alert id
is the view's `private_metadata`; inputs are at
`view.state.values[<block_id>][<action_id>]` with the ids named here.
"""

from __future__ import annotations

from typing import Any

from bot.i18n import Catalog
from bot.views import blocks as bk
from bot.views.limits import fit_view
from bot.views.model import VERDICTS
from bot.views.text import say

ISOLATION_CALLBACK_ID = "isolation_request"
CLOSE_CALLBACK_ID = "close_alert"

# (block_id, action_id) of each input
ISOLATION_REASON = ("reason", "reason")
ISOLATION_DURATION = ("duration", "duration")
CLOSE_VERDICT = ("verdict", "verdict")
CLOSE_NOTE = ("note", "note")

MAX_ISOLATION_HOURS = 720  # the firewall's registration timeout tops out at 30 days
REASON_MAX_LENGTH = 1000
NOTE_MAX_LENGTH = 1000


def isolation_modal(alert_id: int, ip: str, catalog: Catalog) -> dict[str, Any]:
    """Build the modal asking why (and for how long) to isolate a host."""
    reason = {
        "type": "plain_text_input",
        "action_id": ISOLATION_REASON[1],
        "multiline": True,
        "max_length": REASON_MAX_LENGTH,
        "placeholder": bk.plain(catalog.t("modal.isolation.reason_placeholder")),
    }
    duration = {
        "type": "number_input",
        "action_id": ISOLATION_DURATION[1],
        "is_decimal_allowed": False,
        "min_value": "1",
        "max_value": str(MAX_ISOLATION_HOURS),
    }
    blocks = [
        bk.section(say(catalog, "modal.isolation.intro", host=ip)),
        bk.input_block(ISOLATION_REASON[0], catalog.t("modal.isolation.reason"), reason),
        bk.input_block(
            ISOLATION_DURATION[0],
            catalog.t("modal.isolation.duration"),
            duration,
            optional=True,
            hint=catalog.t("modal.isolation.duration_hint"),
        ),
    ]
    return fit_view(
        {
            "type": "modal",
            "callback_id": ISOLATION_CALLBACK_ID,
            "private_metadata": str(alert_id),
            "title": bk.plain(catalog.t("modal.isolation.title")),
            "submit": bk.plain(catalog.t("modal.isolation.submit")),
            "close": bk.plain(catalog.t("modal.cancel")),
            "blocks": blocks,
        }
    )


def close_modal(alert_id: int, catalog: Catalog) -> dict[str, Any]:
    """Build the modal asking for the closing verdict and an optional note."""
    verdict = {
        "type": "radio_buttons",
        "action_id": CLOSE_VERDICT[1],
        "options": [bk.option(v, catalog.t(f"verdict.{v}")) for v in VERDICTS],
    }
    note = {
        "type": "plain_text_input",
        "action_id": CLOSE_NOTE[1],
        "multiline": True,
        "max_length": NOTE_MAX_LENGTH,
    }
    blocks = [
        bk.section(say(catalog, "modal.close.intro", alert_id=alert_id)),
        bk.input_block(CLOSE_VERDICT[0], catalog.t("modal.close.verdict"), verdict),
        bk.input_block(CLOSE_NOTE[0], catalog.t("modal.close.note"), note, optional=True),
    ]
    return fit_view(
        {
            "type": "modal",
            "callback_id": CLOSE_CALLBACK_ID,
            "private_metadata": str(alert_id),
            "title": bk.plain(catalog.t("modal.close.title")),
            "submit": bk.plain(catalog.t("modal.close.submit")),
            "close": bk.plain(catalog.t("modal.cancel")),
            "blocks": blocks,
        }
    )
