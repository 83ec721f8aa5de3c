"""The optional daily digest: the day's alerts in numbers, and what is still open."""

from __future__ import annotations

from bot.i18n import Catalog
from bot.views import blocks as bk
from bot.views.commands import alert_lines
from bot.views.limits import Block, fit_message
from bot.views.model import DigestSummary, SlackMessage
from bot.views.text import code_label, say


def digest(summary: DigestSummary, catalog: Catalog) -> SlackMessage:
    """Build the daily digest message."""
    title = say(catalog, "digest.title", day=summary.day.isoformat())
    blocks: list[Block] = [bk.header(title)]
    blocks += _counts(catalog, "digest.new", "rule.", summary.new_by_rule)
    blocks += _counts(catalog, "digest.closed", "verdict.", summary.closed_by_verdict)
    blocks += _counts(catalog, "digest.open", "state.", summary.open_by_state)
    blocks.append(
        bk.section(
            alert_lines(summary.oldest_open, catalog, "digest.oldest_open", "digest.none_open")
        )
    )
    total = sum(summary.new_by_rule.values())
    open_total = sum(summary.open_by_state.values())
    return fit_message(
        say(catalog, "digest.text", day=summary.day.isoformat(), new=total, open=open_total), blocks
    )


def _counts(catalog: Catalog, title_key: str, prefix: str, counts: dict[str, int]) -> list[Block]:
    total = sum(counts.values())
    heading = bk.section(f"*{say(catalog, title_key, count=total)}*")
    if not counts:
        return [heading]
    fields = [bk.labelled(code_label(catalog, prefix, code), str(n)) for code, n in counts.items()]
    return [heading, *bk.field_sections(fields)]
