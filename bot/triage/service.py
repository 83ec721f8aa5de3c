"""The triage service: what a press or a job needs, and the one way a change is recorded.

A change is one transaction: the conditional update, an audit row (with the host,
so `/pan host` shows it), a refresh of the parent and a note in the thread. The
notifier is woken after the commit, never before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.clock import Clock
from bot.config import Settings
from bot.context import BotContext
from bot.i18n import Catalog
from bot.rendering import note_payload
from bot.triage.permissions import Permission, Permissions, slack_group_reader
from bot.views.commands import already_done, error_message, refusal
from bot.views.model import SlackMessage
from investigations.finding import Message
from investigations.panos.client import PanosClient
from storage import Database, Session, audit, outbox

Submit = Callable[[Callable[[], Any]], Any]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the presser sees: an ephemeral message, a modal to open, or nothing."""

    ephemeral: SlackMessage | None = None
    modal: dict[str, Any] | None = None


DONE = Answer()


@dataclass
class Triage:
    """Everything triage steps and jobs use; built from the BotContext."""

    settings: Settings
    db: Database
    catalog: Catalog
    panos: PanosClient
    clock: Clock
    permissions: Permissions
    wake_notifier: Callable[[], None]
    submit: Submit
    slack: WebClient
    investigator: Any = None
    firewall: str = ""

    @classmethod
    def from_context(cls, ctx: BotContext) -> Triage:
        settings = ctx.settings
        return cls(
            settings=settings,
            db=ctx.db,
            catalog=ctx.catalog,
            panos=ctx.panos,
            clock=ctx.clock,
            permissions=Permissions(
                responders=settings.responders,
                approvers=settings.approvers,
                read_group=slack_group_reader(ctx.slack),
                clock=ctx.clock,
            ),
            wake_notifier=ctx.wake_notifier,
            submit=ctx.executor.submit,
            slack=ctx.slack,
            # The investigations issue adds `investigator` to the context; until then, None.
            investigator=getattr(ctx, "investigator", None),
            firewall=settings.firewall_url or "",
        )

    @property
    def watch_period(self) -> timedelta:
        return timedelta(days=self.settings.watch_days)

    # -- answers ---------------------------------------------------------------------

    def refused(self, action_id: str, permission: Permission) -> Answer:
        if permission is Permission.RESPONDER:
            return Answer(refusal(action_id, self.catalog, "not_responder"))
        return Answer(refusal(action_id, self.catalog, "not_approver"))

    def own_request(self, action_id: str) -> Answer:
        return Answer(refusal(action_id, self.catalog, "own_request"))

    def already(self, action_id: str, by: str | None = None, at: datetime | None = None) -> Answer:
        return Answer(already_done(action_id, self.catalog, by=by, at=at))

    def error(self, key: str, **params: str | int) -> Answer:
        return Answer(error_message(Message(key=key, params=params), self.catalog))

    # -- recording a change ----------------------------------------------------------

    @contextmanager
    def change(self) -> Iterator[Session]:
        """One transaction for a change; wakes the notifier after it commits."""
        with self.db.session() as session:
            yield session
        self.wake_notifier()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    alert_id: int,
    host: str | None,
    at: datetime,
    note: dict[str, Any] | None = None,
    note_key: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit the change, refresh the alert's parent, and post a note in its thread.

    `note_key` names the note in the outbox, for a note that is edited later.
    """
    audit.record(
        session, actor=actor, action=action, alert_id=alert_id, host=host, detail=detail, at=at
    )
    refresh(session, alert_id)
    if note is not None:
        outbox.enqueue_reply(session, alert_id, note, dedupe_key=note_key)


def refresh(session: Session, alert_id: int) -> None:
    """Queue a chat.update of the alert's parent, always as a row of its own.

    Not `outbox.enqueue_update`: it skips when it sees a pending update, and that row
    can be rendered by the notifier after the check but before this transaction
    commits, showing the old state. Triage changes come at human pace; a spare
    chat.update is cheap, a parent stuck on a stale state is not.
    """
    outbox.enqueue(session, outbox.UPDATE, alert_id=alert_id, payload={})


def note(key: str, **params: str | int | float) -> dict[str, Any]:
    """A thread note's outbox payload."""
    return note_payload(key, **params)
