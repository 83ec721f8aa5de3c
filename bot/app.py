"""The composition root: builds every part from Settings and wires them together.

Nothing is created at import time; tests and the demo build a `PanBot` with their
own settings, clock and endpoints.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar

from apscheduler.executors.pool import BasePoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot import logs
from bot.clock import Clock, system_clock
from bot.config import ConfigError, Settings
from bot.context import BotContext
from bot.i18n import Catalog
from bot.investigator import Investigator
from bot.metrics import Metrics
from bot.notifier import Notifier
from bot.poller import Poller
from bot.rendering import AlertRenderer
from bot.slack import register_listeners
from bot.triage.jobs import LEASE as TRIAGE_LEASE
from bot.triage.jobs import run_triage_jobs_once, schedule_triage_jobs
from bot.web import PressLane, WebServer, build_web_app
from investigations.enrich.clients import EnrichmentClients
from investigations.panos.client import PanosClient
from investigations.rules import Rule
from storage import Database, Session, cursors, leases
from storage.cache import DbEnrichmentCache
from storage.migrate import upgrade

log = logging.getLogger(__name__)

# `stop()` waits this long for running jobs before abandoning them (INTERFACE.md: exit
# within 30 s); abandoning is safe: a poll re-reads, an unconfirmed message is resent.
STOP_GRACE_SECONDS = 10.0


def instance_id() -> str:
    """A name for this replica, unique even across restarts on one host."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_slack_client(
    settings: Settings, token: str | None = None, *, timeout: int = 15, retries: int = 2
) -> WebClient:
    """A WebClient for the configured API URL, retrying network and 5xx errors briefly.

    429s are not retried here: the notifier defers the row for Retry-After instead of
    sleeping in a scheduler thread.
    """
    secret = settings.slack_bot_token
    return WebClient(
        token=token or (secret.get_secret_value() if secret else None),
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=retries),
            ServerErrorRetryHandler(max_retry_count=retries),
        ],
    )


P = ParamSpec("P")
T = TypeVar("T")
_WorkItem = tuple["Future[Any]", Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonThreadPool(ThreadPoolExecutor):
    """A ThreadPoolExecutor whose workers are daemon threads.

    The standard pool's workers are joined when the interpreter exits, so one job stuck
    in a firewall read (up to PANBOT_FIREWALL_TIMEOUT) would hold `panbot run` open past
    its 30-second shutdown promise. `PanBot.stop()` waits a grace period and then
    abandons such work, which is safe (RELIABILITY.md); these workers let it.
    """

    def __init__(self, max_workers: int, thread_name_prefix: str) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=thread_name_prefix)
        self._daemon_max = max_workers
        self._daemon_prefix = thread_name_prefix
        self._daemon_queue: queue.SimpleQueue[_WorkItem | None] = queue.SimpleQueue()
        self._daemon_idle = threading.Semaphore(0)
        self._daemon_lock = threading.Lock()
        self._daemon_workers: list[threading.Thread] = []
        self._daemon_closed = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        with self._daemon_lock:
            if self._daemon_closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._daemon_queue.put((future, fn, args, kwargs))
            if self._daemon_idle.acquire(timeout=0):
                return future  # an idle worker takes it
            if len(self._daemon_workers) < self._daemon_max:
                worker = threading.Thread(
                    target=self._work,
                    name=f"{self._daemon_prefix}_{len(self._daemon_workers)}",
                    daemon=True,
                )
                self._daemon_workers.append(worker)
                worker.start()
        return future

    def _work(self) -> None:
        while True:
            item = self._daemon_queue.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del item, future
            self._daemon_idle.release()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._daemon_lock:
            self._daemon_closed = True
            workers = list(self._daemon_workers)
        if cancel_futures:
            while True:
                try:
                    item = self._daemon_queue.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in workers:
            self._daemon_queue.put(None)
        if wait:
            for worker in workers:
                worker.join()
        super().shutdown(wait=False)


class DaemonJobExecutor(BasePoolExecutor):  # type: ignore[misc]
    """APScheduler's thread-pool executor, on daemon workers."""

    def __init__(self, max_workers: int = 10) -> None:
        super().__init__(DaemonThreadPool(max_workers, "panbot-job"))


def secret_values(settings: Settings) -> list[str]:
    """Every secret in the settings, in clear, for the log redactor (the database's too)."""
    values = (getattr(settings, name) for name in type(settings).model_fields)
    secrets = [v.get_secret_value() for v in values if isinstance(v, SecretStr)]
    with contextlib.suppress(ArgumentError, ValueError):
        password = make_url(settings.database_url).password
        if password:
            secrets.append(str(password))
    return secrets


class JobFailures:
    """Log a job's failure once when it starts failing and once when it recovers.

    A database or Slack outage makes every tick fail the same way; one line with the
    traceback says so, the repeats go to debug.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failing: dict[str, str] = {}

    def failed(self, job: str, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        with self._lock:
            first = job not in self._failing
            self._failing[job] = reason
        if first:
            log.error("job %s failing: %s", job, reason, exc_info=exc)
        else:
            log.debug("job %s still failing: %s", job, reason)

    def ok(self, job: str) -> None:
        with self._lock:
            reason = self._failing.pop(job, None)
        if reason is not None:
            log.info("job %s recovered (was: %s)", job, reason)

    def failing(self) -> dict[str, str]:
        with self._lock:
            return dict(self._failing)


def build_panos_client(settings: Settings) -> PanosClient:
    assert settings.firewall_url is not None
    verify = settings.firewall_verify_tls
    return PanosClient(
        settings.firewall_url,
        api_key=settings.firewall_api_key.get_secret_value() if settings.firewall_api_key else None,
        username=settings.firewall_username,
        password=(
            settings.firewall_password.get_secret_value() if settings.firewall_password else None
        ),
        verify=str(verify) if not isinstance(verify, bool) else verify,
        timeout=settings.firewall_timeout,
        # A log job that never finishes is abandoned after two request timeouts (60 s by
        # default); the poll fails, is logged once, and the next interval asks again.
        job_deadline=2 * settings.firewall_timeout,
        zone=settings.firewall_zone,
    )


def build_enrichment(
    settings: Settings, cache: DbEnrichmentCache | None, per_minute: int | None = None
) -> EnrichmentClients:
    """The intel clients; `per_minute` overrides VirusTotal's public-API limit (demo, tests)."""

    def key(secret: SecretStr | None) -> str | None:
        return secret.get_secret_value() if secret else None

    extra: dict[str, Any] = {}
    if per_minute is not None:
        extra = {"virustotal_per_minute": per_minute, "virustotal_per_day": None}
    return EnrichmentClients.from_settings(
        threatvault_url=settings.threatvault_url,
        threatvault_api_key=key(settings.threatvault_api_key),
        wildfire_url=settings.wildfire_url,
        wildfire_api_key=key(settings.wildfire_api_key),
        virustotal_url=settings.virustotal_url,
        virustotal_api_key=key(settings.virustotal_api_key),
        nvd_url=settings.nvd_url,
        nvd_api_key=key(settings.nvd_api_key),
        jvn_url=settings.jvn_url,
        cache=cache,
        **extra,
    )


def open_database(url: str, *, migrate: bool) -> Database:
    """The database, migrated to head; a bad URL or an unreachable server is a ConfigError.

    The message names PANBOT_DATABASE_URL and the error's type, never the URL (it may
    hold a password).
    """
    try:
        db = Database(url)
    except (ArgumentError, ValueError):
        raise ConfigError("PANBOT_DATABASE_URL: not a database URL panbot can use") from None
    if not migrate:
        return db
    try:
        upgrade(url)
    except DBAPIError as exc:
        db.dispose()
        reason = type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__
        raise ConfigError(f"PANBOT_DATABASE_URL: cannot reach the database ({reason})") from None
    return db


class PanBot:
    """The whole bot: poller, notifier, Slack listener, scheduler, HTTP endpoints."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = system_clock,
        rules: tuple[Rule, ...] | None = None,
        migrate: bool = True,
        enable_http: bool = True,
        sleep: Callable[[float], None] | None = None,
        slack_min_interval: float = 1.0,
        enrichment_per_minute_override: int | None = None,
    ) -> None:
        settings.require_for_run()
        assert settings.slack_channel is not None
        logs.redact_secrets(secret_values(settings))
        self.settings = settings
        self.clock = clock
        self.instance = instance_id()
        self.lease_ttl = timedelta(seconds=settings.lease_seconds)
        # A poll lease outlives a few intervals, so the holder keeps its rules between polls.
        self.poll_lease_ttl = max(self.lease_ttl, timedelta(seconds=3 * settings.poll_interval))
        self.failures = JobFailures()
        self._stopped = threading.Event()
        self.metrics = Metrics()
        self.db = open_database(settings.database_url, migrate=migrate)
        # A forgotten key must never stop an alert from being posted: shown as the key.
        self.catalog = Catalog(settings.language, strict=False)
        self.panos = build_panos_client(settings)
        self.slack = build_slack_client(settings)
        # The notifier's own client: a short timeout and one retry bound a send well
        # inside the row's claim, so no other replica resends a message still in flight.
        self.notifier_slack = build_slack_client(settings, timeout=10, retries=1)
        self.rules = rules or settings.rules()
        self.executor: ThreadPoolExecutor = DaemonThreadPool(8, "panbot-work")
        # Runs presses answered early (bot/web.py), listener and all.
        self._press_pool: ThreadPoolExecutor = DaemonThreadPool(4, "panbot-press")
        self._presses: PressLane | None = None
        self.poller = Poller(
            db=self.db,
            client=self.panos,
            firewall=settings.firewall_url or "",
            rules=self.rules,
            networks=settings.internal_networks,
            channel=settings.slack_channel,
            lookback=timedelta(minutes=settings.lookback_minutes),
            clock=clock,
            metrics=self.metrics,
            fence=self._still_polls,
        )
        self.renderer = AlertRenderer(self.catalog, self.db)
        notifier_kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
        self.notifier = Notifier(
            db=self.db,
            client=self.notifier_slack,
            channel=settings.slack_channel,
            renderer=self.renderer,
            clock=clock,
            metrics=self.metrics,
            min_interval=slack_min_interval,
            burst=settings.slack_burst,
            claim_for=max(self.lease_ttl, timedelta(seconds=30)),
            claimant=self.instance,
            **notifier_kwargs,
        )
        self.cache = DbEnrichmentCache(self.db, clock)
        self.enrichment = build_enrichment(settings, self.cache, enrichment_per_minute_override)
        self.investigator = Investigator(
            db=self.db,
            clients=self.enrichment,
            panos=self.panos,
            av_engines=settings.av_engines,
            networks=settings.internal_networks,
            clock=clock,
            wake=self.wake_notifier,
            cache=self.cache,
        )
        self.context = BotContext(
            settings=settings,
            db=self.db,
            catalog=self.catalog,
            panos=self.panos,
            slack=self.slack,
            clock=clock,
            executor=self.executor,
            poller=self.poller,
            notifier=self.notifier,
            wake_notifier=self.wake_notifier,
            investigator=self.investigator,
            enrichment=self.enrichment,
        )
        self.bolt = self._build_bolt()
        # HTTP mode answers presses before dispatch (bot/web.py); they need no ack round
        # trip, so this app runs their listener straight in the press pool's thread.
        self._press_bolt = (
            self._build_bolt(process_before_response=True)
            if settings.effective_mode == "http"
            else None
        )
        register_listeners(
            self.context, *(app for app in (self.bolt, self._press_bolt) if app is not None)
        )
        self.scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": DaemonJobExecutor(10)}
        )
        self.socket_handler: SocketModeHandler | None = None
        self.web: WebServer | None = None
        self._enable_http = enable_http
        self._drain_lock = threading.Lock()

    def _build_bolt(self, *, process_before_response: bool = False) -> App:
        secret = self.settings.slack_signing_secret
        return App(
            signing_secret=secret.get_secret_value() if secret else None,
            client=build_slack_client(self.settings),
            token_verification_enabled=False,
            request_verification_enabled=self.settings.effective_mode == "http",
            process_before_response=process_before_response,
            logger=logging.getLogger("panbot.slack"),
            # Few threads on purpose: listeners are CPU work under one GIL, and every
            # extra runnable thread delays the event loop that answers presses.
            listener_executor=DaemonThreadPool(
                max_workers=4,
                thread_name_prefix="panbot-slack",
            ),
        )

    # -- jobs ---------------------------------------------------------------------------

    def _holds(self, name: str, ttl: timedelta) -> bool:
        """Take or renew a lease; only the holder among replicas runs the job."""
        if self._stopped.is_set():
            return False
        with self.db.session() as session:
            return leases.acquire(session, name, self.instance, self.clock(), ttl)

    def _still_polls(self, session: Session, rule: Rule) -> bool:
        """The poller's fence: renew the rule's lease in the page's own transaction."""
        if self._stopped.is_set():
            return False
        return leases.acquire(
            session, f"poll:{rule.id}", self.instance, self.clock(), self.poll_lease_ttl
        )

    def _still_drains(self) -> bool:
        return self._holds("notifier", self.lease_ttl)

    def poll_job(self, rule: Rule) -> None:
        name = f"poll:{rule.id}"
        try:
            if not self._holds(name, self.poll_lease_ttl):
                return
            self.poller.poll(rule)
        except Exception as exc:  # the scheduler must keep running; the next interval retries
            self.failures.failed(name, exc)
        else:
            self.failures.ok(name)
        self.wake_notifier()

    def drain_job(self) -> None:
        if not self._drain_lock.acquire(blocking=False):
            return
        try:
            if self._holds("notifier", self.lease_ttl):
                self.notifier.drain(budget=20, hold=self._still_drains)
        except Exception as exc:
            self.failures.failed("notifier", exc)
        else:
            self.failures.ok("notifier")
        finally:
            self._drain_lock.release()

    def investigator_job(self) -> None:
        try:
            if not self._holds("investigator", max(self.lease_ttl, timedelta(seconds=120))):
                return
            self.investigator.run_once()
        except Exception as exc:  # the scheduler must keep running; the next tick retries
            self.failures.failed("investigator", exc)
        else:
            self.failures.ok("investigator")

    def run_pending_work(self) -> bool:
        """Run queued background work once, synchronously; True if there was any."""
        busy = self.investigator.run_once()
        busy = run_triage_jobs_once(self) or busy
        return busy

    def wake_notifier(self) -> None:
        """Drain soon, not at the next tick: a new alert should reach Slack within a second."""
        if self._stopped.is_set():
            return
        # RuntimeError: shutting down, the executor takes no more work.
        with contextlib.suppress(RuntimeError):
            self.executor.submit(self.drain_job)

    # -- health -------------------------------------------------------------------------

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Dependencies' state for `/healthz`; not ok when one is down."""
        body: dict[str, Any] = {"status": "ok"}
        ok = True
        try:
            self.db.ping()
            body["database"] = "ok"
        except Exception as exc:
            ok = False
            body["database"] = f"error: {type(exc).__name__}"
        failing = self.poller.failing_rules()
        if self.poller.firewall_ok is False or (failing and len(failing) == len(self.rules)):
            ok = False
            body["firewall"] = "error: " + next(iter(failing.values()), "unreachable")
        else:
            body["firewall"] = "ok" if self.poller.firewall_ok else "unknown"
        last = self.poller.last_poll_at
        if last is None and body["database"] == "ok":
            # A standby replica polls nothing itself: the rules' shared cursors tell.
            with contextlib.suppress(Exception), self.db.session() as session:
                last = max(
                    (c.last_poll_at for c in cursors.all_cursors(session) if c.last_poll_at),
                    default=None,
                )
        body["last_poll"] = last.isoformat() if last else None
        problem = self.notifier.channel_problem
        body["slack"] = f"error: {problem.error}" if problem else "ok"
        if problem:
            ok = False
        if self.socket_handler is not None:
            connected = self.socket_handler.client.is_connected()
            body["socket_mode"] = "connected" if connected else "disconnected"
            ok = ok and connected
        body["status"] = "ok" if ok else "error"
        return ok, body

    # -- lifecycle ----------------------------------------------------------------------

    def start(self, *, jobs: bool = True) -> None:
        """Start jobs and listeners; returns at once (they run in background threads)."""
        if jobs:
            self._schedule_jobs()
        self._start_listeners()
        log.info(
            "panbot started (%s mode, %d rules)", self.settings.effective_mode, len(self.rules)
        )

    def _schedule_jobs(self) -> None:
        interval = self.settings.poll_interval
        for rule in self.rules:
            self.scheduler.add_job(
                self.poll_job,
                "interval",
                args=[rule],
                id=f"poll:{rule.id}",
                seconds=interval,
                next_run_time=datetime.now(UTC),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(interval)),
            )
        self.scheduler.add_job(
            self.investigator_job,
            "interval",
            id="investigator",
            seconds=2,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=10,
        )
        self.scheduler.add_job(
            self.drain_job,
            "interval",
            id="drain",
            seconds=1,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=5,
        )
        schedule_triage_jobs(self.scheduler, self)
        self.scheduler.start()

    def _press_lane(self, bolt: App | None) -> PressLane | None:
        secret = self.settings.slack_signing_secret
        if bolt is None or self._press_bolt is None or secret is None:
            return None
        self._presses = PressLane(
            self._press_bolt, secret.get_secret_value(), self._press_pool, self.metrics
        )
        return self._presses

    def _start_listeners(self) -> None:
        mode = self.settings.effective_mode
        bolt = self.bolt if mode == "http" else None
        if self._enable_http:
            self.web = WebServer(
                build_web_app(
                    bolt=bolt,
                    health=self.health,
                    metrics=self.metrics.render,
                    presses=self._press_lane(bolt),
                ),
                self.settings.http_host,
                self.settings.http_port,
            )
            self.web.start()
        if mode == "socket":
            token = self.settings.slack_app_token
            assert token is not None
            self.socket_handler = SocketModeHandler(
                self.bolt, token.get_secret_value(), web_client=build_slack_client(self.settings)
            )
            self.socket_handler.connect()  # type: ignore[no-untyped-call]

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop cleanly: jobs finish or are safely abandoned, leases go, connections close.

        Running jobs get `grace` seconds; a poll stops before its next page and a drain
        after the row in hand. Whatever still runs after that is abandoned: closing the
        firewall and Slack clients makes it fail fast, and its work is redone by the next
        holder (the cursor moves only with stored pages; an unconfirmed message is resent).
        """
        self._stopped.set()
        self.poller.stop()
        self.notifier.stop()
        deadline = time.monotonic() + grace
        if self.socket_handler is not None:
            # Without this the built-in client reconnects while closing, and waits out
            # its receive timeout.
            self.socket_handler.client.auto_reconnect_enabled = False
            self.socket_handler.close()  # type: ignore[no-untyped-call]
        if self.web is not None:
            self.web.stop()
        if self._presses is not None:
            self._presses.release()  # answered while the listener stopped: not dropped
        finished = _within(deadline, self._shutdown_scheduler, self._shutdown_executor)
        if not finished:
            log.warning("shutdown: abandoning work still running after %.0f s", grace)
        try:
            with self.db.session() as session:
                for name in self._lease_names():
                    leases.release(session, name, self.instance)
        except Exception as exc:  # the leases expire on their own
            log.warning("shutdown: could not release leases (%s)", type(exc).__name__)
        self.enrichment.close()
        self.panos.close()
        self.db.dispose()
        log.info("panbot stopped")

    def _lease_names(self) -> list[str]:
        return [
            *(f"poll:{rule.id}" for rule in self.rules),
            "notifier",
            "investigator",
            TRIAGE_LEASE,
        ]

    def _shutdown_scheduler(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def _shutdown_executor(self) -> None:
        # Presses already answered 200 are dispatched, not dropped: Slack will not resend.
        self._press_pool.shutdown(wait=True)
        self.executor.shutdown(wait=True, cancel_futures=True)


def _within(deadline: float, *steps: Callable[[], None]) -> bool:
    """Run blocking shutdown steps in order in a helper thread; False if time ran out."""

    def run() -> None:
        for step in steps:
            try:
                step()
            except Exception:
                log.exception("shutdown step failed")

    helper = threading.Thread(target=run, name="panbot-stop", daemon=True)
    helper.start()
    helper.join(max(0.0, deadline - time.monotonic()))
    return not helper.is_alive()
