"""Every Slack message and view panbot sends, built in one place (Block Kit, en + ja).

Builders are pure: plain data and a `Catalog` in, a `SlackMessage` or a view dict
out, always within Slack's limits (`limits.fit_message` / `fit_view`), every
firewall- or intel-supplied string escaped.
"""

from bot.views.alert import ACTION_IDS, actions_block_id, alert_parent
from bot.views.commands import (
    already_done,
    error_message,
    help_text,
    host_view,
    not_available_yet,
    refusal,
    status_view,
)
from bot.views.digest import digest
from bot.views.escape import escape, format_time, mention, truncate
from bot.views.finding import finding_block_id, finding_reply
from bot.views.home import home_view
from bot.views.modals import close_modal, isolation_modal
from bot.views.model import (
    AlertCard,
    AlertLine,
    AuditEntry,
    DigestSummary,
    HostHistory,
    HostMark,
    PollStatus,
    SlackMessage,
    StatusSummary,
)
from bot.views.terminal import render_to_console
from bot.views.thread import (
    isolation_approval_prompt,
    isolation_block_id,
    isolation_retry,
    parse_isolation_block_id,
    thread_note,
)

__all__ = [
    "ACTION_IDS",
    "AlertCard",
    "AlertLine",
    "AuditEntry",
    "DigestSummary",
    "HostHistory",
    "HostMark",
    "PollStatus",
    "SlackMessage",
    "StatusSummary",
    "actions_block_id",
    "alert_parent",
    "already_done",
    "close_modal",
    "digest",
    "error_message",
    "escape",
    "finding_block_id",
    "finding_reply",
    "format_time",
    "help_text",
    "home_view",
    "host_view",
    "isolation_approval_prompt",
    "isolation_block_id",
    "isolation_modal",
    "isolation_retry",
    "mention",
    "not_available_yet",
    "parse_isolation_block_id",
    "refusal",
    "render_to_console",
    "status_view",
    "thread_note",
    "truncate",
]
