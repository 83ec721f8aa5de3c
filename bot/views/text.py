"""Fill catalog templates safely: escape outside text, turn IDs into mentions.

Parameter conventions (for views and for `Message` params alike):
- a `Mrkdwn` value is already safe Slack text and is inserted as is;
- `user`, `by`, `actor`, `assignee`, `requester`, `approver`, `oncall` (and names
  ending in `_user` or `_by`) hold a Slack user or user-group ID, shown as a mention;
  `approvers` and `users` hold several, comma or space separated;
- `at`, `until`, `since` (and names ending in `_at`, `_until`, `_since`) given as
  ISO 8601 aware times are shown as `2026-11-25 10:00 UTC`;
- `rule`, `verdict`, `state`, `direction`, `isolation`, `source`, `action_id` are
  codes translated through the catalog (`rule.<code>`, `verdict.<code>`...);
- every other string is escaped and capped at `PARAM_LIMIT` characters.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.i18n import Catalog
from bot.views.escape import escape, format_time, mention, truncate
from investigations.finding import Message

PARAM_LIMIT = 1500

MENTION_PARAMS = frozenset({"user", "by", "actor", "assignee", "requester", "approver", "oncall"})
MENTION_LIST_PARAMS = frozenset({"approvers", "users"})
TIME_PARAMS = frozenset({"at", "until", "since"})
ENUM_PARAMS: dict[str, str] = {
    "rule": "rule.",
    "verdict": "verdict.",
    "state": "state.",
    "direction": "direction.",
    "isolation": "isolation.state.",
    "source": "source.",
    "action_id": "button.",
}

_SPLIT = re.compile(r"[\s,]+")


class Mrkdwn(str):
    """Text that is already safe Slack mrkdwn (built by the views, never from outside)."""

    __slots__ = ()


def _is_mention_param(name: str) -> bool:
    return name in MENTION_PARAMS or name.endswith(("_user", "_by"))


def _is_time_param(name: str) -> bool:
    return name in TIME_PARAMS or name.endswith(("_at", "_until", "_since"))


def actor(slack_id: str, catalog: Catalog) -> str:
    """Return a mention, or the bot's own name for actions panbot took itself."""
    if slack_id == "panbot":
        return catalog.t("common.panbot")
    return mention(slack_id)


def param(name: str, value: object, catalog: Catalog) -> str:
    """Render one template parameter by the conventions above."""
    if isinstance(value, Mrkdwn):
        return str(value)
    if isinstance(value, bool):
        return escape(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return format_time(value)
    text = str(value)
    if _is_mention_param(name):
        return actor(text, catalog)
    if name in MENTION_LIST_PARAMS:
        return " ".join(actor(part, catalog) for part in _SPLIT.split(text) if part)
    if _is_time_param(name):
        return _time_text(text)
    prefix = ENUM_PARAMS.get(name)
    if prefix is not None and catalog.has(prefix + text):
        return catalog.t(prefix + text)
    return truncate(escape(text), PARAM_LIMIT)


def _time_text(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return truncate(escape(text), PARAM_LIMIT)
    if moment.utcoffset() is None:
        return truncate(escape(text), PARAM_LIMIT)
    return format_time(moment)


def say(catalog: Catalog, key: str, **params: object) -> Mrkdwn:
    """Return a key's text with every parameter rendered safely."""
    return Mrkdwn(catalog.t(key, **{k: param(k, v, catalog) for k, v in params.items()}))


def render(message: Message, catalog: Catalog) -> Mrkdwn:
    """Return a `Message` (catalog key and params) as safe mrkdwn."""
    return say(catalog, message.key, **message.params)


def value(text: object, limit: int = PARAM_LIMIT) -> Mrkdwn:
    """Return outside text escaped and cut to a limit."""
    return Mrkdwn(truncate(escape(text), limit))


def plain_value(text: object, limit: int) -> str:
    """Return outside text for a plain_text object, escaped and cut to a limit."""
    return truncate(escape(text), limit)


def when(moment: datetime | None, catalog: Catalog) -> str:
    """Return a time as `2026-11-25 10:00 UTC`, or the catalog's word for never."""
    return format_time(moment) if moment is not None else catalog.t("common.never")


def code_label(catalog: Catalog, prefix: str, code: str) -> str:
    """Return a code's catalog label (e.g. `rule.wildfire`), or the code escaped if unknown."""
    key = prefix + code
    return catalog.t(key) if catalog.has(key) else escape(code)
