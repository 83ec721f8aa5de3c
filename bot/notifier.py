"""Drain the outbox into Slack: parents, thread replies, parent updates and reply edits.

A row is marked sent only after Slack confirms it, and the parent's `ts` is stored in
the same transaction; a crash between Slack's answer and that commit is the one
window in which a message can be posted twice (Slack has no idempotency key). A
database that fails in that window does not widen it: the `ts` is kept in memory
and recorded at the next attempt instead of posting again.

Each row is claimed before it is sent (RELIABILITY.md), and `hold` renews the
replica's lease before every row, so two replicas never send one row.

Posts are paced per channel by `ChannelBudget` (bot/pacing.py): one a second sustained,
short bursts allowed, and a new alert's parent may take the last token while a thread
reply may not. A reply short of tokens is held back, not waited on: the drain goes on
with other rows and, when only held replies are left, naps in short slices, looking for
a new parent between them, so the next alert never waits behind the last one's findings.

Parent updates and reply edits are chat.update calls: Slack counts those per workspace
(Web API Tier 3, 50+ a minute), not under the one-post-a-second rule of a channel, so
they take no channel token. Both are claimed before they are rendered, so a change
committed after the rendering has a row of its own still to come. A reply edit waits
until the reply it rewrites has its `ts`; an edit of a reply Slack never took, or one
deleted since, becomes a reply of its own (`outbox.become_reply`), so nothing it says
is lost.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.clock import Clock
from bot.metrics import Metrics
from bot.pacing import ChannelBudget
from bot.views.model import SlackMessage
from storage import Database, Session, alerts, outbox
from storage.models import AlertRow, OutboxRow

log = logging.getLogger(__name__)

# Longest nap while only held replies are due: a parent queued meanwhile is seen within it.
HELD_NAP = 0.1

# Errors Slack will give again however often we retry: the row is kept as failed.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "cant_update_message",
        "message_not_found",
        "edit_window_closed",
        "invalid_arguments",
    }
)
# Longest wait before an edit looks again at the reply it rewrites, still unsent.
EDIT_WAIT = timedelta(seconds=2)
# chat.update errors that mean the reply to edit is not there (deleted in Slack).
REPLY_GONE = frozenset({"message_not_found"})
# Errors that mean the configuration is wrong: retried with backoff, and shown in health.
CONFIG_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "restricted_action",
    }
)


class Renderer(Protocol):
    """Turns stored state into Slack messages at send time (so they show the latest state)."""

    def parent(self, alert: AlertRow) -> SlackMessage: ...

    def reply(self, alert: AlertRow, payload: dict[str, Any]) -> SlackMessage: ...


EditRoute = Literal["wait", "update", "post"]


def edit_route(edit: OutboxRow, target: OutboxRow | None) -> EditRoute:
    """How to send a reply edit, given the row of the reply it rewrites.

    "wait" while the reply is still to be sent (an edit must not overtake it), "update"
    once Slack gave it a `ts`, "post" when there is no reply to edit (never queued,
    another alert's, refused by Slack for good): the edit says what it says as a new reply.
    """
    if target is None or target.alert_id != edit.alert_id or target.state == outbox.FAILED:
        return "post"
    if target.state == outbox.PENDING:
        return "wait"
    return "update" if target.slack_ts else "post"


def edit_retry_at(target: OutboxRow, now: datetime) -> datetime:
    """When to look again at an edit whose reply is still to be sent.

    A reply due now (held back for a token in this drain, say) may go in the next pass,
    and its edit right after it; one waiting out a backoff or another sender's claim is
    looked at again in a moment, as a reply waiting for its parent is.
    """
    if target.next_attempt_at <= now:
        return now
    return min(target.next_attempt_at, now + EDIT_WAIT)


@dataclass(frozen=True)
class ChannelProblem:
    channel: str
    error: str


class Notifier:
    """Sends due outbox rows, paced to Slack's one message per second per channel."""

    def __init__(
        self,
        *,
        db: Database,
        client: WebClient,
        channel: str,
        renderer: Renderer,
        clock: Clock,
        metrics: Metrics,
        min_interval: float = 1.0,
        burst: int = 1,
        sleep: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        claim_for: timedelta = timedelta(seconds=60),
        claimant: str | None = None,
    ) -> None:
        self._db = db
        self._client = client
        self._channel = channel
        self._renderer = renderer
        self._clock = clock
        self._metrics = metrics
        self._min_interval = min_interval
        self._burst = burst
        self._sleep = sleep or self._pause
        self._monotonic = monotonic
        self._budgets: dict[str, ChannelBudget] = {}
        # Channels whose replies were held back in the current pass over due rows, and
        # each alert's channel as seen in this drain: later replies to a held channel are
        # passed over without reading their alert or renewing the lease for them.
        self._held: set[str] = set()
        self._channel_of: dict[int, str] = {}
        self._joined: set[str] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._claim_for = claim_for
        self._claimant = claimant or uuid.uuid4().hex
        # Rows Slack accepted whose ts the database did not take yet: row id -> ts.
        self._unrecorded: dict[int, str] = {}
        self._posted_channel: dict[int, str] = {}
        # Their database writes, retried first thing at the next drain.
        self._pending_writes: dict[int, Callable[[Session], None]] = {}
        self.channel_problem: ChannelProblem | None = None

    def stop(self) -> None:
        """Make a running drain return after the row in hand (pacing waits end at once)."""
        self._stopping.set()

    def _pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def drain(self, budget: float = 20.0, hold: Callable[[], bool] | None = None) -> int:
        """Send due rows until none is left, Slack asks us to wait, or `budget` seconds pass.

        `hold` is asked before every row; False (this replica lost its lease) stops the drain.
        """
        deadline = self._monotonic() + budget
        sent = 0
        with self._lock:
            self._channel_of.clear()
            sent += self._flush_pending_writes()
            with self._db.session() as session:
                # Nothing of ours is in flight between drains: a claim left over is one an
                # error cut short (database gone mid-send), not one to wait out.
                outbox.release_claims(session, self._claimant, self._clock())
            while self._monotonic() < deadline and not self._stopping.is_set():
                with self._db.session() as session:
                    rows = outbox.due(session, self._clock(), limit=20)
                    session.expunge_all()
                if not rows:
                    break
                progressed = False
                self._held.clear()
                # An alert with a row held back sends nothing more in this pass: its
                # messages keep their order (parent, then its replies as queued).
                held_alerts: set[int | None] = set()
                for row in rows:
                    if row.alert_id in held_alerts or self._waits_on_held_channel(row):
                        held_alerts.add(row.alert_id)
                        continue
                    if self._stopping.is_set() or (hold is not None and not hold()):
                        return sent
                    status = self._send(row)
                    if status == "sent":
                        sent += 1
                        progressed = True
                    elif status == "ratelimited":
                        return sent
                    elif status == "held":
                        held_alerts.add(row.alert_id)
                    if self._monotonic() >= deadline:
                        break
                if not progressed:
                    if not self._held:
                        break
                    self._nap(min(deadline - self._monotonic(), self._held_wait()))
            with self._db.session() as session:
                self._metrics.outbox_pending.set(outbox.counts(session).get(outbox.PENDING, 0))
        return sent

    def _claim(self, row: OutboxRow) -> bool:
        now = self._clock()
        with self._db.session() as session:
            return outbox.claim(session, row.id, now, now + self._claim_for, self._claimant)

    def _send(self, row: OutboxRow) -> str:
        with self._db.session() as session:
            alert = alerts.get(session, row.alert_id) if row.alert_id is not None else None
            if alert is not None:
                session.expunge(alert)
        if alert is None:
            with self._db.session() as session:
                outbox.mark_failed(session, row.id, "alert not found")
            return "failed"
        channel = alert.slack_channel or self._channel
        self._channel_of[alert.id] = channel
        if row.kind == outbox.PARENT:
            return self._send_parent(row, alert, channel)
        if alert.slack_ts is None:
            # The parent is not posted yet: a reply (or a reply's edit) waits; an update
            # is moot, because the parent renders the alert's state when it is sent.
            with self._db.session() as session:
                if row.kind == outbox.UPDATE:
                    outbox.mark_sent(session, row.id, None, self._clock())
                    return "sent"
                outbox.defer(session, row.id, self._clock() + timedelta(seconds=2))
            return "deferred"
        if row.kind == outbox.EDIT:
            return self._send_edit(row, alert, channel)
        if row.kind == outbox.UPDATE:
            return self._send_update(row, alert, channel)
        return self._send_reply(row, alert, channel)

    def _send_update(self, row: OutboxRow, alert: AlertRow, channel: str) -> str:
        # Claim first, then read the alert: a change committed after this read queues
        # its own update (a claimed row is in flight), so the parent is never left stale.
        if not self._claim(row):
            return "skipped"
        with self._db.session() as session:
            fresh = alerts.get(session, alert.id)
            if fresh is not None:
                session.expunge(fresh)
                alert = fresh
        message = self._renderer.parent(alert)
        status = self._attempt(
            row, channel, "chat_update", ts=alert.slack_ts, text=message.text, blocks=message.blocks
        )
        return self._sent(row, status, alert.slack_ts)

    def _send_reply(self, row: OutboxRow, alert: AlertRow, channel: str) -> str:
        status = self._post(
            row, channel, lambda: self._renderer.reply(alert, row.payload), thread_ts=alert.slack_ts
        )
        return self._sent(row, status, self._unrecorded.get(row.id))

    def _send_edit(self, row: OutboxRow, alert: AlertRow, channel: str) -> str:
        """Rewrite an earlier reply in place; an edit with no reply to rewrite becomes one."""
        with self._db.session() as session:
            key = outbox.edit_target(row)
            target = outbox.by_key(session, key) if key else None
            route = edit_route(row, target)
            if route == "wait" and target is not None:
                outbox.defer(session, row.id, edit_retry_at(target, self._clock()))
                return "deferred"
            if route == "post":
                outbox.become_reply(session, row.id, self._clock(), "no reply to edit")
        if route == "post" or target is None or target.slack_ts is None:
            return self._send_reply(_as_reply(row), alert, channel)
        # Claim first, then render: a change committed after the rendering queued an edit
        # of its own, which comes after this one.
        if not self._claim(row):
            return "skipped"
        message = self._renderer.reply(alert, row.payload)
        ts = target.slack_ts
        status = self._attempt(
            row, channel, "chat_update", ts=ts, text=message.text, blocks=message.blocks
        )
        if status == "gone":  # deleted in Slack since: say it in a new reply instead
            return self._send_reply(_as_reply(row), alert, channel)
        return self._sent(row, status, ts)

    def _sent(self, row: OutboxRow, status: str, ts: str | None) -> str:
        """Record a row Slack confirmed (with the ts it stands for); pass on any other status."""
        if status != "sent":
            return status
        self._record(row, lambda session: outbox.mark_sent(session, row.id, ts, self._clock()))
        self._metrics.messages_sent.labels(row.kind).inc()
        return "sent"

    def _send_parent(self, row: OutboxRow, alert: AlertRow, channel: str) -> str:
        if alert.slack_ts is not None:  # posted before a crash lost the row's own update
            with self._db.session() as session:
                outbox.mark_sent(session, row.id, alert.slack_ts, self._clock())
            return "sent"
        status = self._post(row, channel, lambda: self._renderer.parent(alert))
        if status != "sent":
            return status
        ts = self._unrecorded[row.id]
        where = self._posted_channel.get(row.id, channel)

        def record(session: Session) -> None:
            alerts.set_slack_ts(session, alert.id, where, ts)
            outbox.mark_sent(session, row.id, ts, self._clock())

        self._record(row, record)
        self._metrics.messages_sent.labels(row.kind).inc()
        return "sent"

    def _post(
        self, row: OutboxRow, channel: str, render: Callable[[], SlackMessage], **extra: Any
    ) -> str:
        """Claim a row and post its message, paced; or only claim it if it is posted already.

        A parent waits for its token here; anything else short of a spare one is "held".
        """
        if row.id in self._unrecorded:  # Slack has it; only the database write is missing
            return "sent" if self._claim(row) else "skipped"
        parent = row.kind == outbox.PARENT
        if not parent and self._budget(channel).wait(self._monotonic(), parent=False) > 0:
            self._held.add(channel)
            return "held"
        message = render()  # before the claim: rendering reads the database, which may fail
        self._pace(channel, parent=parent)
        if not self._claim(row):
            return "skipped"
        return self._attempt(
            row,
            channel,
            "chat_postMessage",
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
            **extra,
        )

    def _attempt(self, row: OutboxRow, channel: str, method: str, **kwargs: Any) -> str:
        """Call Slack for a claimed row; "sent" keeps the answer's ts for `_record`."""
        try:
            try:
                response = self._call(channel, method, **kwargs)
            finally:
                if method == "chat_postMessage":
                    # Whatever the outcome: Slack may have taken the post all the same.
                    self._budget(channel).spend(self._monotonic())
        except SlackApiError as exc:
            if _is_ratelimit(exc):
                self._budget(channel).exhaust(self._monotonic())
            return self._on_api_error(row, exc)
        except (SlackClientError, OSError, ValueError) as exc:
            # Dropped connections, timeouts, unreadable answers: Slack may or may not have
            # the message; sending again is the at-least-once side of the trade.
            self._retry(row, f"network error: {type(exc).__name__}")
            return "error"
        if method == "chat_update":
            return "sent"
        self._unrecorded[row.id] = str(response.get("ts"))
        self._posted_channel[row.id] = str(response.get("channel") or channel)
        return "sent"

    def _record(self, row: OutboxRow, write: Callable[[Session], None]) -> None:
        """Store what Slack confirmed; a database error keeps it for the next drain."""
        try:
            with self._db.session() as session:
                write(session)
        except Exception:
            # The row stays claimed; the next drain records it rather than posting it again
            # (unless this process dies first: the window RELIABILITY.md names).
            self._pending_writes[row.id] = write
            log.warning("could not record Slack's answer for outbox row %d; will retry", row.id)
            raise
        self._forget(row.id)

    def _forget(self, row_id: int) -> None:
        self._unrecorded.pop(row_id, None)
        self._posted_channel.pop(row_id, None)
        self._pending_writes.pop(row_id, None)

    def _flush_pending_writes(self) -> int:
        """Record what Slack confirmed while the database was away; raise if it still is."""
        done = 0
        for row_id, write in list(self._pending_writes.items()):
            with self._db.session() as session:
                write(session)
            self._forget(row_id)
            done += 1
        if done:
            log.info("recorded %d Slack answer(s) kept while the database was unavailable", done)
        return done

    def _call(self, channel: str, method: str, **kwargs: Any) -> Any:
        try:
            response = getattr(self._client, method)(channel=channel, **kwargs)
        except SlackApiError as exc:
            if exc.response.get("error") == "not_in_channel" and channel not in self._joined:
                try:
                    self._join(channel)
                except SlackApiError as join_error:
                    log.error(
                        "cannot join channel %s (%s): invite the bot",
                        channel,
                        join_error.response.get("error"),
                    )
                    raise exc from None
                response = getattr(self._client, method)(channel=channel, **kwargs)
            else:
                raise
        self.channel_problem = None
        return response

    def _join(self, channel: str) -> None:
        """Join a public channel the bot is not in; a private one needs an invitation."""
        self._client.conversations_join(channel=channel)
        self._joined.add(channel)
        log.info("joined channel %s to post alerts", channel)

    def _budget(self, channel: str) -> ChannelBudget:
        budget = self._budgets.get(channel)
        if budget is None:
            budget = self._budgets[channel] = ChannelBudget(self._min_interval, self._burst)
        return budget

    def _pace(self, channel: str, *, parent: bool) -> None:
        """Wait until the channel has a token for this post (a spare one unless a parent).

        Tokens are spent when a post *returned*: counting from the answer, not the
        request, keeps the gaps Slack sees at least as long as the ones counted here
        however the network's delay varies from one post to the next.
        """
        wait = self._budget(channel).wait(self._monotonic(), parent=parent)
        if wait > 0:
            self._sleep(wait)

    def _waits_on_held_channel(self, row: OutboxRow) -> bool:
        # Edits are let through: most are chat.update calls, which need no token; one
        # posted after all is held by `_post` like any reply.
        if row.kind != outbox.REPLY or row.alert_id is None:
            return False
        return self._channel_of.get(row.alert_id) in self._held

    def _held_wait(self) -> float:
        """Seconds until the first channel with held replies has a spare token."""
        now = self._monotonic()
        return min(self._budget(c).wait(now, parent=False) for c in self._held)

    def _nap(self, seconds: float) -> None:
        """Sleep while only held replies are due, ending early when a parent becomes due.

        The scheduler cannot wake a drain in progress, so it looks for itself.
        """
        end = self._monotonic() + seconds
        while not self._stopping.is_set():
            left = end - self._monotonic()
            if left <= 0:
                return
            self._sleep(min(left, HELD_NAP))
            if end - self._monotonic() > 0 and self._parent_due():
                return

    def _parent_due(self) -> bool:
        with self._db.session() as session:
            first = outbox.due(session, self._clock(), limit=1)
            return bool(first) and first[0].kind == outbox.PARENT

    def _on_api_error(self, row: OutboxRow, exc: SlackApiError) -> str:
        error = str(exc.response.get("error") or "unknown_error")
        if _is_ratelimit(exc):
            self._metrics.slack_429.inc()
            retry_after = _retry_after(exc)
            with self._db.session() as session:
                outbox.defer(
                    session, row.id, self._clock() + timedelta(seconds=retry_after), "ratelimited"
                )
            log.info("Slack rate limit: waiting %.0f s", retry_after)
            return "ratelimited"
        self._metrics.messages_failed.labels(row.kind, error).inc()
        if row.kind == outbox.EDIT and error in REPLY_GONE:
            with self._db.session() as session:
                outbox.become_reply(session, row.id, self._clock(), f"slack: {error}")
            log.info("the reply outbox row %d edits is gone (%s): posting it anew", row.id, error)
            return "gone"
        if error in PERMANENT_ERRORS:
            with self._db.session() as session:
                outbox.mark_failed(session, row.id, f"slack: {error}")
            log.error("Slack refused outbox row %d (%s) for good: %s", row.id, row.kind, error)
            return "failed"
        if error in CONFIG_ERRORS:
            channel = self._channel
            if self.channel_problem is None or self.channel_problem.error != error:
                log.error("cannot post to Slack channel %s: %s", channel, error)
            self.channel_problem = ChannelProblem(channel, error)
        self._retry(row, f"slack: {error}")
        return "error"

    def _retry(self, row: OutboxRow, error: str) -> None:
        self._metrics.messages_failed.labels(row.kind, error.split(":", maxsplit=1)[0]).inc()
        with self._db.session() as session:
            outbox.retry_later(
                session, row.id, self._clock() + outbox.backoff(row.attempts + 1), error
            )


def _as_reply(row: OutboxRow) -> OutboxRow:
    """The detached row as the reply it has just become (`outbox.become_reply`)."""
    row.kind = outbox.REPLY
    return row


def _is_ratelimit(exc: SlackApiError) -> bool:
    return bool(exc.response.status_code == 429 or exc.response.get("error") == "ratelimited")


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", {}) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            values = value if isinstance(value, list) else [value]
            try:
                return max(1.0, float(values[0]))
            except (TypeError, ValueError):
                break
    return 30.0
