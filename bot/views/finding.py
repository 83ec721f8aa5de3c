"""An investigation's finding as a thread reply: warnings, facts, sources, advice, buttons."""

from __future__ import annotations

import logging
from typing import Any

from bot.i18n import Catalog
from bot.views import blocks as bk
from bot.views.alert import (
    CLOSE_ALERT,
    ENRICH,
    MARK_MONITORED,
    MARK_PATCHED,
    RELEASE_ISOLATION,
    REQUEST_ISOLATION,
)
from bot.views.escape import link
from bot.views.limits import Block, fit_message
from bot.views.model import SlackMessage
from bot.views.text import code_label, render, say, value
from investigations.finding import Finding, SourceResult, SourceStatus

logger = logging.getLogger(__name__)

# Buttons a finding may suggest, in the order they are shown.
FINDING_ACTIONS: tuple[str, ...] = (
    REQUEST_ISOLATION,
    MARK_MONITORED,
    MARK_PATCHED,
    CLOSE_ALERT,
    RELEASE_ISOLATION,
    ENRICH,
)
_DANGER = frozenset({REQUEST_ISOLATION})

# Facts this short sit side by side as fields; longer ones get a section of their own.
SHORT_FACT = 120
LONG_FACT_LIMIT = 2500


def finding_block_id(alert_id: int) -> str:
    """Return the block_id of a finding's buttons."""
    return f"finding:{alert_id}:actions"


def finding_reply(finding: Finding, catalog: Catalog, alert_id: int | None = None) -> SlackMessage:
    """Build the thread reply (or ephemeral answer) for one finding.

    `alert_id` None means a bare-indicator investigation: no buttons.
    """
    playbook = code_label(catalog, "playbook.", finding.playbook)
    title = say(catalog, "finding.title", playbook=playbook, subject=finding.subject)
    blocks: list[Block] = [bk.section(f":mag: {title}")]
    for warning in finding.warnings:
        blocks.append(bk.section(f":warning: *{render(warning, catalog)}*"))
    blocks += _fact_blocks(finding, catalog)
    if finding.recommendation is not None:
        label = catalog.t("finding.recommendation")
        rec = render(finding.recommendation, catalog)
        blocks.append(bk.section(f":bulb: *{label}*\n{rec}"))
    if finding.sources:
        blocks.append(bk.section(_sources_text(finding.sources, catalog)))
    notes: list[str] = []
    if finding.pending:
        notes.append(catalog.t("finding.pending"))
    if any(source.name == "nvd" for source in finding.sources):
        notes.append(catalog.t("finding.nvd_notice"))
    if notes:
        blocks.append(bk.context(notes))
    buttons = _buttons(finding, alert_id, catalog)
    if buttons and alert_id is not None:
        blocks.append(bk.actions(buttons, block_id=finding_block_id(alert_id)))
    text = str(title)
    if finding.warnings:
        text = f"{title} — {render(finding.warnings[0], catalog)}"
    return fit_message(text, blocks)


def _fact_blocks(finding: Finding, catalog: Catalog) -> list[Block]:
    short: list[str] = []
    long: list[Block] = []
    for fact in finding.facts:
        label = catalog.t(fact.label)
        if len(fact.value) <= SHORT_FACT and "\n" not in fact.value:
            short.append(bk.labelled(label, value(fact.value)))
        else:
            long.append(bk.section(bk.labelled(label, value(fact.value, LONG_FACT_LIMIT))))
    return [*bk.field_sections(short), *long]


def _sources_text(sources: tuple[SourceResult, ...], catalog: Catalog) -> str:
    lines = [f"*{catalog.t('finding.sources')}*"]
    for source in sources:
        key = f"source.{source.name}"
        name = catalog.t(key) if catalog.has(key) else source.name
        shown = link(source.link, name)
        status = _status_text(source, catalog)
        lines.append(f"{_STATUS_ICON[source.status]} {shown} — {status}")
    return "\n".join(lines)


_STATUS_ICON: dict[SourceStatus, str] = {
    SourceStatus.OK: ":white_check_mark:",
    SourceStatus.NOT_FOUND: ":grey_question:",
    SourceStatus.OFF: ":no_entry_sign:",
    SourceStatus.FAILED: ":x:",
    SourceStatus.PENDING: ":hourglass_flowing_sand:",
}


def _status_text(source: SourceResult, catalog: Catalog) -> str:
    if source.status is SourceStatus.FAILED:
        reason = source.detail or catalog.t("source_status.unknown_reason")
        return say(catalog, "source_status.failed", reason=reason)
    return catalog.t(f"source_status.{source.status.value}")


def _buttons(finding: Finding, alert_id: int | None, catalog: Catalog) -> list[dict[str, Any]]:
    if alert_id is None:
        return []
    unknown = [a for a in finding.actions if a not in FINDING_ACTIONS]
    if unknown:
        logger.warning("finding suggests unknown actions %s: not shown", unknown)
    wanted = [a for a in FINDING_ACTIONS if a in finding.actions]
    return [
        bk.button(
            action_id,
            catalog.t(f"button.{action_id}"),
            str(alert_id),
            style="danger" if action_id in _DANGER else None,
        )
        for action_id in wanted
    ]
