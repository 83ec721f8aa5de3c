"""The composition root: builds every part from Settings and wires them together.

Nothing is created at import time; tests and the demo build a `PanBot` with their
own settings, clock and endpoints.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.clock import Clock, system_clock
from bot.config import Settings
from bot.context import BotContext
from bot.i18n import Catalog
from bot.investigator import Investigator
from bot.metrics import Metrics
from bot.notifier import Notifier
from bot.poller import Poller
from bot.rendering import AlertRenderer
from bot.slack import register_listeners
from bot.triage.jobs import run_triage_jobs_once, schedule_triage_jobs
from bot.web import WebServer, build_web_app
from investigations.enrich.clients import EnrichmentClients
from investigations.panos.client import PanosClient
from investigations.rules import Rule
from storage import Database, leases
from storage.cache import DbEnrichmentCache
from storage.migrate import upgrade

log = logging.getLogger(__name__)


def instance_id() -> str:
    """A name for this replica, unique even across restarts on one host."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def build_slack_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient for the configured API URL, retrying network and 5xx errors briefly.

    429s are not retried here: the notifier defers the row for Retry-After instead of
    sleeping in a scheduler thread.
    """
    secret = settings.slack_bot_token
    return WebClient(
        token=token or (secret.get_secret_value() if secret else None),
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


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
        zone=settings.firewall_zone,
    )


def build_enrichment(
    settings: Settings, cache: DbEnrichmentCache, per_minute: int | None = None
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
        self.settings = settings
        self.clock = clock
        self.instance = instance_id()
        self.metrics = Metrics()
        self.db = Database(settings.database_url)
        if migrate:
            upgrade(settings.database_url)
        # A forgotten key must never stop an alert from being posted: shown as the key.
        self.catalog = Catalog(settings.language, strict=False)
        self.panos = build_panos_client(settings)
        self.slack = build_slack_client(settings)
        self.rules = rules or settings.rules()
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="panbot-work")
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
        )
        self.renderer = AlertRenderer(self.catalog, self.db)
        notifier_kwargs: dict[str, Any] = {"sleep": sleep} if sleep else {}
        self.notifier = Notifier(
            db=self.db,
            client=self.slack,
            channel=settings.slack_channel,
            renderer=self.renderer,
            clock=clock,
            metrics=self.metrics,
            min_interval=slack_min_interval,
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
        register_listeners(self.bolt, self.context)
        self.scheduler = BackgroundScheduler(timezone=UTC)
        self.socket_handler: SocketModeHandler | None = None
        self.web: WebServer | None = None
        self._enable_http = enable_http
        self._drain_lock = threading.Lock()
        self._stopped = threading.Event()

    def _build_bolt(self) -> App:
        secret = self.settings.slack_signing_secret
        return App(
            signing_secret=secret.get_secret_value() if secret else None,
            client=build_slack_client(self.settings),
            token_verification_enabled=False,
            request_verification_enabled=self.settings.effective_mode == "http",
            logger=logging.getLogger("panbot.slack"),
        )

    # -- jobs ---------------------------------------------------------------------------

    def _holds(self, name: str, ttl: timedelta) -> bool:
        """Take or renew a lease; only the holder among replicas runs the job."""
        with self.db.session() as session:
            return leases.acquire(session, name, self.instance, self.clock(), ttl)

    def poll_job(self, rule: Rule) -> None:
        interval = self.settings.poll_interval
        if not self._holds(f"poll:{rule.id}", timedelta(seconds=max(3 * interval, 30))):
            return
        try:
            self.poller.poll(rule)
        except Exception:  # the scheduler must keep running; the next interval retries
            log.exception("poll of rule %s crashed", rule.id)
        self.wake_notifier()

    def drain_job(self) -> None:
        if not self._drain_lock.acquire(blocking=False):
            return
        try:
            if self._holds("notifier", timedelta(seconds=30)):
                self.notifier.drain(budget=20)
        except Exception:
            log.exception("outbox drain crashed")
        finally:
            self._drain_lock.release()

    def investigator_job(self) -> None:
        if not self._holds("investigator", timedelta(seconds=120)):
            return
        try:
            self.investigator.run_once()
        except Exception:  # the scheduler must keep running; the next tick retries
            log.exception("investigation job crashed")

    def run_pending_work(self) -> bool:
        """Run queued background work once, synchronously; True if there was any."""
        busy = self.investigator.run_once()
        busy = run_triage_jobs_once(self) or busy
        return busy

    def wake_notifier(self) -> None:
        """Drain soon, not at the next tick: a new alert should reach Slack within a second."""
        if not self._stopped.is_set():
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

    def _start_listeners(self) -> None:
        mode = self.settings.effective_mode
        bolt = self.bolt if mode == "http" else None
        if self._enable_http:
            self.web = WebServer(
                build_web_app(bolt=bolt, health=self.health, metrics=self.metrics.render),
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

    def stop(self) -> None:
        """Stop cleanly: running jobs finish, leases are given up, connections close."""
        self._stopped.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        if self.socket_handler is not None:
            # Without this the built-in client reconnects while closing, and waits out
            # its receive timeout.
            self.socket_handler.client.auto_reconnect_enabled = False
            self.socket_handler.close()  # type: ignore[no-untyped-call]
        if self.web is not None:
            self.web.stop()
        self.executor.shutdown(wait=True, cancel_futures=True)
        with self.db.session() as session:
            for rule in self.rules:
                leases.release(session, f"poll:{rule.id}", self.instance)
            leases.release(session, "notifier", self.instance)
            leases.release(session, "investigator", self.instance)
        self.enrichment.close()
        self.panos.close()
        self.db.dispose()
        log.info("panbot stopped")
