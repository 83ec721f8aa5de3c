"""The poll job: read a rule's new matches from the firewall and store them page by page."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.config import Network
from bot.ingest import IngestResult, ingest_page
from bot.metrics import Metrics
from investigations.panos.client import PanosClient
from investigations.panos.entries import SeenKey
from investigations.panos.errors import PanosError
from investigations.rules import Rule
from storage import Database, Session, cursors

log = logging.getLogger(__name__)

# PAN-OS stamps receive_time when the management plane receives a log; logs forwarded
# late (Panorama, log collectors) can land a little before the newest one we stored.
DEFAULT_OVERLAP = timedelta(minutes=2)

# Asked inside each page's transaction: may this replica still store this rule's logs?
Fence = Callable[[Session, Rule], bool]


class PollAbandoned(Exception):
    """The poll stopped between pages: shutting down, or another replica took the rule."""


@dataclass
class PollOutcome:
    """One poll's totals, for metrics and tests."""

    rule: str
    read: int = 0
    stored: int = 0
    alerts_opened: list[int] = field(default_factory=list)
    alerts_joined: list[int] = field(default_factory=list)
    error: str | None = None


@dataclass
class _RuleHealth:
    failing: bool = False
    last_error: str | None = None


class Poller:
    """Polls each rule; logs a failure once when it starts and once when it ends."""

    def __init__(
        self,
        *,
        db: Database,
        client: PanosClient,
        firewall: str,
        rules: Sequence[Rule],
        networks: Sequence[Network],
        channel: str | None,
        lookback: timedelta,
        clock: Clock,
        metrics: Metrics,
        overlap: timedelta = DEFAULT_OVERLAP,
        page_size: int = 5000,
        fence: Fence | None = None,
    ) -> None:
        self._db = db
        self._client = client
        self._firewall = firewall
        self.rules = tuple(rules)
        self._networks = tuple(networks)
        self._channel = channel
        self._lookback = lookback
        self._clock = clock
        self._metrics = metrics
        self._overlap = overlap
        self._page_size = page_size
        self._health: dict[str, _RuleHealth] = {rule.id: _RuleHealth() for rule in rules}
        self._lock = threading.Lock()
        # Renewing the rule's lease in the page's own transaction makes the lease a fence:
        # a replica that lost it (a long poll, a pause) cannot store a page beside the new
        # holder, and the lease row's lock serialises two replicas' pages of one rule.
        self._fence = fence
        self._stopping = threading.Event()
        # Per rule, the (serial, seqno) of every log its last poll read, kept only when
        # that poll succeeded as a whole: see poll().
        self._seen: dict[str, frozenset[SeenKey]] = {}
        self.last_poll_at: datetime | None = None
        self.firewall_ok: bool | None = None

    def poll_all(self) -> list[PollOutcome]:
        """Poll every rule once (the demo and tests; the scheduler runs rules separately)."""
        return [self.poll(rule) for rule in self.rules]

    def poll(self, rule: Rule) -> PollOutcome:
        """Poll one rule; a failure is recorded and retried at the next interval."""
        started = self._clock()
        begun = time.perf_counter()
        outcome = PollOutcome(rule.id)
        # The overlap makes every poll re-read the last DEFAULT_OVERLAP of logs: after a
        # burst, thousands of entries each time. Those the rule's previous poll read are
        # not built again (the parser reads their serial and seqno and moves on). That is
        # safe because such a key is only remembered once the page holding it committed,
        # and only from a poll that succeeded as a whole (popped here, so a failed or
        # abandoned poll leaves none): its event is stored, and re-reading it could only
        # hit the unique key in ingest_page and change nothing (the cursor is already
        # past it). A key never seen is never in the set, so a new log is always built.
        # (This leans on ingest_page storing every event of a page it is given.)
        with self._lock:
            known = self._seen.pop(rule.id, frozenset())
        seen: set[SeenKey] = set()
        try:
            query = self._query(rule, started)
            for page in self._client.iter_log_pages(
                rule.log_type,
                query,
                page_size=self._page_size,
                direction="forward",
                known=known or None,
            ):
                with self._db.session() as session:
                    if self._stopping.is_set():
                        raise PollAbandoned("shutting down")
                    if self._fence is not None and not self._fence(session, rule):
                        raise PollAbandoned("another replica holds the rule")
                    result = ingest_page(
                        session,
                        rule=rule,
                        firewall=self._firewall,
                        page=page,
                        networks=self._networks,
                        channel=self._channel,
                    )
                # Committed: the page's events are stored (or were already).
                seen.update((event.serial, event.seqno) for event in page)
                seen.update(page.skipped)
                self._count(rule, outcome, result, skipped=len(page.skipped))
                # Let the page go before the next one is read, not after (peak memory).
                del page
        except PanosError as exc:
            outcome.error = str(exc)
        except PollAbandoned as exc:
            # Nothing of the page in hand was stored: the next holder reads it again.
            log.info("poll of rule %s abandoned: %s", rule.id, exc)
            return outcome
        finally:
            self._metrics.poll_duration.labels(rule.id).observe(time.perf_counter() - begun)
        if outcome.error is None:
            with self._lock:
                self._seen[rule.id] = frozenset(seen)
        self._finish(rule, started, outcome)
        return outcome

    def stop(self) -> None:
        """Make running polls stop before storing another page."""
        self._stopping.set()

    def _query(self, rule: Rule, now: datetime) -> str:
        with self._db.session() as session:
            cursor = cursors.get(session, rule.id, self._firewall)
            if cursor is None:
                since = now - self._lookback
                # The first poll pins its start, so a restart before any log arrives
                # does not slide the look-back window forward and skip logs.
                cursors.ensure(session, rule.id, self._firewall, since)
            else:
                assert cursor.watermark is not None
                since = cursor.watermark - self._overlap
        return f"( {rule.query} ) and ( receive_time geq '{self._client.format_time(since)}' )"

    def _count(
        self, rule: Rule, outcome: PollOutcome, result: IngestResult, *, skipped: int
    ) -> None:
        # Skipped logs were read from the firewall all the same.
        outcome.read += result.read + skipped
        outcome.stored += result.stored
        outcome.alerts_opened += result.alerts_opened
        outcome.alerts_joined += result.alerts_joined
        self._metrics.logs_read.labels(rule.id).inc(result.read + skipped)
        self._metrics.events_stored.labels(rule.id).inc(result.stored)
        self._metrics.alerts_opened.labels(rule.id).inc(len(result.alerts_opened))

    def _finish(self, rule: Rule, at: datetime, outcome: PollOutcome) -> None:
        with self._db.session() as session:
            cursors.record_poll(session, rule.id, self._firewall, at, outcome.error)
        self._metrics.polls.labels(rule.id, "error" if outcome.error else "ok").inc()
        with self._lock:
            self.last_poll_at = at
            self.firewall_ok = outcome.error is None
            health = self._health[rule.id]
            if outcome.error is not None and not health.failing:
                log.warning("poll of rule %s failing: %s", rule.id, outcome.error)
            elif outcome.error is None and health.failing:
                log.info("poll of rule %s recovered", rule.id)
            health.failing = outcome.error is not None
            health.last_error = outcome.error
        if outcome.alerts_opened or outcome.stored:
            log.info(
                "rule %s: %d logs read, %d new, %d alerts opened, %d joined",
                rule.id,
                outcome.read,
                outcome.stored,
                len(outcome.alerts_opened),
                len(outcome.alerts_joined),
            )

    def failing_rules(self) -> dict[str, str]:
        """Rules whose last poll failed, with the reason."""
        with self._lock:
            return {rule: h.last_error or "" for rule, h in self._health.items() if h.failing}
