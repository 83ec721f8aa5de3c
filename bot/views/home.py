"""The App Home tab: the same status as `/pan status`, plus watched and isolated hosts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.i18n import Catalog
from bot.views import blocks as bk
from bot.views.commands import LIST_LIMIT, status_blocks
from bot.views.escape import format_time
from bot.views.limits import Block, fit_view
from bot.views.model import HostMark, StatusSummary
from bot.views.text import Mrkdwn, say


def home_view(
    status: StatusSummary,
    hosts_watched: Sequence[HostMark],
    hosts_isolated: Sequence[HostMark],
    catalog: Catalog,
) -> dict[str, Any]:
    """Build the App Home view (for views.publish)."""
    blocks: list[Block] = [bk.header(catalog.t("home.title")), *status_blocks(status, catalog)]
    blocks.append(bk.divider())
    blocks.append(bk.section(_hosts(hosts_watched, catalog, "home.watched", "home.none_watched")))
    blocks.append(
        bk.section(_hosts(hosts_isolated, catalog, "home.isolated", "home.none_isolated"))
    )
    blocks.append(bk.context([catalog.t("home.hint")]))
    return fit_view({"type": "home", "blocks": blocks})


def _hosts(hosts: Sequence[HostMark], catalog: Catalog, title: str, empty: str) -> str:
    lines = [f"*{catalog.t(title)}*"]
    if not hosts:
        lines.append(catalog.t(empty))
    for host in hosts[:LIST_LIMIT]:
        text = say(
            catalog,
            "home.host_line",
            ip=host.ip,
            since=Mrkdwn(format_time(host.since) if host.since else "-"),
            until=Mrkdwn(format_time(host.until) if host.until else catalog.t("common.open_ended")),
        )
        if host.alert_id is not None:
            text = say(catalog, "home.host_line_alert", line=text, alert_id=host.alert_id)
        lines.append(f"• {text}")
    if len(hosts) > LIST_LIMIT:
        lines.append(say(catalog, "common.and_more", count=len(hosts) - LIST_LIMIT))
    return "\n".join(lines)
