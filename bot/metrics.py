"""Prometheus metrics, one registry per bot instance (tests build many bots in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The counters `/metrics` exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.polls = Counter(
            "panbot_polls", "Polls of a detection rule", ["rule", "outcome"], registry=self.registry
        )
        self.logs_read = Counter(
            "panbot_logs_read",
            "Log entries read from the firewall",
            ["rule"],
            registry=self.registry,
        )
        self.events_stored = Counter(
            "panbot_events_stored", "New events stored", ["rule"], registry=self.registry
        )
        self.alerts_opened = Counter(
            "panbot_alerts_opened", "Alerts opened", ["rule"], registry=self.registry
        )
        self.messages_sent = Counter(
            "panbot_slack_messages_sent",
            "Slack messages confirmed",
            ["kind"],
            registry=self.registry,
        )
        self.messages_failed = Counter(
            "panbot_slack_messages_failed",
            "Slack send attempts that failed",
            ["kind", "error"],
            registry=self.registry,
        )
        self.slack_429 = Counter(
            "panbot_slack_ratelimited", "Slack 429 answers", registry=self.registry
        )
        self.poll_duration = Histogram(
            "panbot_poll_duration_seconds",
            "Duration of one poll",
            ["rule"],
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "panbot_outbox_pending", "Outbox rows waiting to be sent", registry=self.registry
        )
        self.presses_waiting = Gauge(
            "panbot_presses_waiting",
            "Button presses answered and not yet worked off",
            registry=self.registry,
        )
        self.presses_queue_full = Counter(
            "panbot_presses_queue_full",
            "Button presses answered only after Bolt, the press queue being full",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
