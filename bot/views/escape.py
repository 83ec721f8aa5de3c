"""Make outside text safe for Slack mrkdwn, and cut text to a limit without breaking it.

Firewall logs and intelligence answers are untrusted: a log field reading
`<!channel>` must not ping anyone, `<https://evil|click>` must not become a link.
Slack gives `&`, `<` and `>` their special meaning, so those three are escaped;
everything else is left alone (Slack decodes only those three entities).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

ELLIPSIS = "…"

_ENTITIES = ("&amp;", "&lt;", "&gt;")
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,20}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{1,20}")
_URL_MAX = 3000


def escape(text: object) -> str:
    """Escape `&`, `<` and `>` so Slack shows the text literally."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, ending in "…" when cut.

    Never cuts an `&amp;`/`&lt;`/`&gt;` entity or a `<…>` Slack token (mention,
    link) in half: the cut moves back to before it.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return text
    cut = limit - len(ELLIPSIS)
    cut = _before_open_entity(text, cut)
    cut = _before_open_token(text, cut)
    return text[:cut] + ELLIPSIS


def _before_open_entity(text: str, cut: int) -> int:
    amp = text.rfind("&", max(0, cut - 4), cut)
    if amp == -1:
        return cut
    for entity in _ENTITIES:
        if text.startswith(entity, amp) and amp + len(entity) > cut:
            return amp
    return cut


def _before_open_token(text: str, cut: int) -> int:
    # Escaped text holds no raw "<": any "<" is a token panbot built itself.
    opening = text.rfind("<", 0, cut)
    if opening != -1 and text.find(">", opening, cut) == -1:
        return opening
    return cut


def mention(slack_id: str) -> str:
    """Return a Slack mention for a user (U…/W…) or user-group (S…) ID; else escaped text."""
    if _USER_ID.fullmatch(slack_id):
        return f"<@{slack_id}>"
    if _GROUP_ID.fullmatch(slack_id):
        return f"<!subteam^{slack_id}>"
    return escape(slack_id)


def is_mentionable(slack_id: str) -> bool:
    """Return whether an ID renders as a real Slack mention."""
    return bool(_USER_ID.fullmatch(slack_id) or _GROUP_ID.fullmatch(slack_id))


def safe_url(url: str) -> str | None:
    """Return the URL if it is a plain http(s) URL fit for a Slack link, else None."""
    if len(url) > _URL_MAX or any(c in url for c in "<>|\"' \t\r\n"):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return url.replace("&", "&amp;")


def link(url: str | None, label: str) -> str:
    """Return a mrkdwn link `<url|label>` (label escaped), or just the label for a bad URL."""
    target = safe_url(url) if url else None
    shown = escape(label)
    if target is None:
        return shown
    return f"<{target}|{shown}>"


def format_time(moment: datetime) -> str:
    """Render an aware datetime as `2026-11-25 10:00 UTC`."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: panbot renders aware UTC times only")
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
