"""The investigation job: each new alert's playbook runs once, its finding goes into the thread.

Database work happens in short transactions before and after a playbook; the playbook
itself (firewall and intel HTTP calls) runs outside any transaction. A WildFire finding
still pending is looked at again later; when it is ready, from the re-check or from an
investigation someone asked for, it replaces the pending findings in place (edits of
those replies), so the thread never keeps a stale "pending" verdict. A re-check's
finding with no pending reply to replace is posted as a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clock import Clock
from bot.config import Network
from bot.rendering import FINDING, finding_payload, note_payload
from investigations.enrich.clients import EnrichmentClients
from investigations.finding import Finding
from investigations.followup import LogSource
from investigations.playbooks import (
    RECHECKED_RULES,
    AlertFacts,
    EarlierAlert,
    HostContext,
    Tools,
    finding_cves,
    run_playbook,
)
from investigations.playbooks import indicator as bare
from storage import Database, Session, alerts, hosts, investigation, outbox
from storage.cache import DbEnrichmentCache

if TYPE_CHECKING:  # bot.slack imports this module; the parser's kinds are plain strings
    from bot.slack.parse import Indicator

log = logging.getLogger(__name__)

EARLIER_ALERTS = 10


def asked_key_base(alert_id: int) -> str:
    """The numbered outbox keys of findings someone asked for start with this."""
    return f"finding:{alert_id}:asked"


def is_pending_finding(payload: dict[str, Any]) -> bool:
    """Whether an outbox payload is a finding still waiting for an analysis."""
    if payload.get("type") != FINDING:
        return False
    finding = payload.get("finding")
    return isinstance(finding, dict) and bool(finding.get("pending"))


class AlertNotFound(LookupError):
    """No alert has this id."""

    def __init__(self, alert_id: int) -> None:
        super().__init__(f"no alert {alert_id}")
        self.alert_id = alert_id


@dataclass(frozen=True)
class InvestigatorConfig:
    """How often and how much the job does."""

    batch: int = 5  # alerts per run
    stale_after: timedelta = timedelta(minutes=15)  # a claim without a finding is retried
    recheck_every: timedelta = timedelta(minutes=5)  # WildFire analyses take minutes
    recheck_limit: int = 24  # two hours of re-checks, then the pending finding stands
    purge_every: timedelta = timedelta(hours=1)


def host_context(session: Session, ip: str | None, alert_id: int | None = None) -> HostContext:
    """Return what panbot knows of a host, for a playbook."""
    if not ip:
        return HostContext()
    state = hosts.state(session, ip, alert_id)
    names = hosts.names(session, ip)
    earlier = [
        EarlierAlert(
            alert_id=row.id,
            rule=row.rule,
            threat=row.threat_name,
            state=row.state,
            first_seen=row.first_seen,
        )
        for row in alerts.for_host(session, ip, limit=EARLIER_ALERTS + 1)
        if row.id != alert_id
    ]
    return HostContext(
        names=names.hosts,
        users=names.users,
        patched_for=state.patched_for,
        monitored_until=state.monitored_until,
        isolated=state.isolated_since is not None and state.isolated_until is None,
        earlier_alerts=tuple(earlier[:EARLIER_ALERTS]),
    )


class Investigator:
    """Runs playbooks on new alerts, on request, and on bare values."""

    def __init__(
        self,
        *,
        db: Database,
        clients: EnrichmentClients,
        panos: LogSource | None,
        av_engines: Sequence[str],
        networks: Sequence[Network],
        clock: Clock,
        wake: Callable[[], None],
        cache: DbEnrichmentCache | None = None,
        config: InvestigatorConfig | None = None,
    ) -> None:
        self._db = db
        self._clients = clients
        self._panos = panos
        self._av_engines = tuple(av_engines)
        self._networks = tuple(networks)
        self._clock = clock
        self._wake = wake
        self._cache = cache
        self._config = config or InvestigatorConfig()
        self._last_purge: datetime | None = None

    # -- the job --------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Investigate new alerts and due re-checks once; True when there was any."""
        worked = self._investigate_new()
        worked = self._recheck() or worked
        self._purge()
        if worked:
            self._wake()
        return worked

    def _investigate_new(self) -> bool:
        with self._db.session() as session:
            claimed = investigation.claim(
                session,
                self._clock(),
                limit=self._config.batch,
                stale_after=self._config.stale_after,
            )
        for alert_id in claimed:
            self._auto(alert_id)
        return bool(claimed)

    def _auto(self, alert_id: int) -> None:
        key = investigation.auto_finding_key(alert_id)
        try:
            loaded = self._load(alert_id)
            if loaded is None:
                return
            finding = self._run(loaded)
        except Exception as exc:  # a bug in one playbook must not stop the others
            log.exception("investigation of alert %d crashed", alert_id)
            with self._db.session() as session:
                payload = note_payload("error.investigation_failed", reason=type(exc).__name__)
                outbox.enqueue_reply(session, alert_id, payload, dedupe_key=key)
            return
        self._queue(loaded, finding, key, attempts=0)

    def _recheck(self) -> bool:
        with self._db.session() as session:
            due = investigation.due_rechecks(
                session, RECHECKED_RULES, self._clock(), limit=self._config.batch
            )
        for alert_id, attempts, token in due:
            try:
                loaded = self._load(alert_id)
                finding = self._run(loaded) if loaded is not None else None
            except Exception:
                log.exception("re-check of alert %d crashed", alert_id)
                finding = None
            if loaded is None or finding is None or finding.pending:
                self._postpone(alert_id, attempts + 1)
                continue
            self._queue_ready(loaded, finding, token)
        return bool(due)

    def _postpone(self, alert_id: int, attempts: int) -> None:
        with self._db.session() as session:
            if attempts >= self._config.recheck_limit:
                log.info("alert %d: WildFire still pending after %d re-checks", alert_id, attempts)
                investigation.clear_recheck(session, alert_id)
            else:
                next_at = self._clock() + self._config.recheck_every
                investigation.set_recheck(session, alert_id, next_at, attempts)

    def _purge(self) -> None:
        now = self._clock()
        if self._cache is None:
            return
        if self._last_purge is not None and now - self._last_purge < self._config.purge_every:
            return
        self._last_purge = now
        try:
            self._cache.purge_expired()
        except Exception:  # housekeeping only: the next hour tries again
            log.exception("purging the enrichment cache failed")

    # -- on request -----------------------------------------------------------------------

    def investigate_alert(self, alert_id: int, actor: str) -> Finding:
        """Run the alert's playbook again (enrich button, `/pan investigate #N`) and post it."""
        loaded = self._load(alert_id)
        if loaded is None:
            raise AlertNotFound(alert_id)
        finding = self._run(loaded)
        log.info("alert %d investigated again, as asked by %s", alert_id, actor)
        self._queue(loaded, finding, None, attempts=0)
        self._wake()
        return finding

    def investigate_indicator(self, indicator: Indicator) -> Finding:
        """Investigate a bare IP, hash, CVE or threat id (nothing is posted)."""
        tools = self._tools()
        kind = str(indicator.kind)
        if kind == "ip":
            with self._db.session() as session:
                context = host_context(session, indicator.value)
            return bare.ip(indicator.value, tools, context)
        if kind in ("sha256", "md5"):
            return bare.file(indicator.value, tools)
        if kind == "cve":
            return bare.cve(indicator.value, tools)
        if kind == "threat":
            return bare.threat(indicator.value, tools)
        raise ValueError(f"use investigate_alert for {kind}")

    # -- plumbing -------------------------------------------------------------------------

    def _tools(self) -> Tools:
        return Tools(
            clients=self._clients,
            panos=self._panos,
            av_engines=self._av_engines,
            networks=self._networks,
            now=self._clock,
        )

    def _load(self, alert_id: int) -> AlertFacts | None:
        with self._db.session() as session:
            row = alerts.get(session, alert_id)
            if row is None:
                return None
            return AlertFacts.from_stored(
                alert_id=row.id,
                rule=row.rule,
                facts=row.facts,
                host=row.host,
                other=row.other,
                first_seen=row.first_seen,
                count=row.count,
                host_context=host_context(session, row.host, row.id),
            )

    def _run(self, alert: AlertFacts) -> Finding:
        return run_playbook(
            alert.rule,
            alert,
            self._clients,
            self._panos,
            av_engines=self._av_engines,
            networks=self._networks,
            now=self._clock,
        )

    def _queue(self, alert: AlertFacts, finding: Finding, key: str | None, attempts: int) -> None:
        """Queue the finding, record the CVEs it found, and plan a re-check if it is pending.

        A finding asked for (no `key`) gets a numbered key, so that a re-check can find
        it again if it is pending. A ready one also replaces those still pending above
        it: asked for before the re-check fell due, it ends the re-checks.
        """
        with self._db.session() as session:
            payload = finding_payload(finding)
            if key is None:
                key = outbox.enqueue_numbered_reply(
                    session, alert.alert_id, payload, asked_key_base(alert.alert_id)
                )
            else:
                outbox.enqueue_reply(session, alert.alert_id, payload, dedupe_key=key)
            if not finding.pending and alert.rule in RECHECKED_RULES:  # none pend elsewhere
                replace_pending(session, alert.alert_id, payload, by=key)
            self._after_finding(session, alert, finding, attempts)

    def _queue_ready(self, alert: AlertFacts, finding: Finding, token: str) -> None:
        """Put a re-check's finding in place of every pending one in the thread.

        Each edit's key is made from the re-check's due time, which two workers on one
        re-check share: the result is queued once.
        """
        alert_id = alert.alert_id
        payload = finding_payload(finding)
        with self._db.session() as session:
            key = f"finding:{alert_id}:ready:{token}"
            if not replace_pending(session, alert_id, payload, by=key):
                # Nothing to edit: say it in a reply of its own, as before.
                outbox.enqueue_reply(session, alert_id, payload, dedupe_key=key)
            self._after_finding(session, alert, finding, attempts=0)

    def _after_finding(
        self, session: Session, alert: AlertFacts, finding: Finding, attempts: int
    ) -> None:
        if investigation.add_cves(session, alert.alert_id, finding_cves(finding)):
            outbox.enqueue_update(session, alert.alert_id)
        if finding.pending and alert.rule in RECHECKED_RULES:
            next_at = self._clock() + self._config.recheck_every
            investigation.set_recheck(session, alert.alert_id, next_at, attempts)
        else:
            investigation.clear_recheck(session, alert.alert_id)


def replace_pending(session: Session, alert_id: int, payload: dict[str, Any], *, by: str) -> int:
    """Queue an edit of each of the alert's pending finding replies into `payload`.

    `by` names what the edits come from (a re-check, a finding asked for); with the
    reply's own key it makes each edit's dedupe key, so the edits are queued once.
    Return how many replies will be edited.
    """
    pending = pending_finding_keys(session, alert_id)
    for target in pending:
        outbox.enqueue_edit(session, alert_id, target, payload, dedupe_key=f"{target}:by:{by}")
    return len(pending)


def pending_finding_keys(session: Session, alert_id: int) -> list[str]:
    """The outbox keys of the alert's finding replies that were posted as pending.

    The automatic finding and those asked for; a reply edited since (to an earlier
    re-check's result) is edited again, to the newest.
    """
    rows = [outbox.by_key(session, investigation.auto_finding_key(alert_id))]
    rows += outbox.numbered(session, asked_key_base(alert_id))
    return [
        row.dedupe_key
        for row in rows
        if row is not None and row.dedupe_key is not None and is_pending_finding(row.payload)
    ]
