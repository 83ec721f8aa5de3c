"""SQLAlchemy 2 typed models: panbot's whole state.

Every datetime is stored as UTC. SQLite hands timezone-aware columns back naive;
`UtcDateTime` normalises that on read so the rest of the code only sees aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


class EventRow(Base):
    """A firewall log entry panbot has read, once per (serial, log type, seqno)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("serial", "log_type", "seqno"),
        Index("ix_events_receive_time", "receive_time"),
        Index("ix_events_alert_id", "alert_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    serial: Mapped[str] = mapped_column(String(64))
    log_type: Mapped[str] = mapped_column(String(16))
    seqno: Mapped[int] = mapped_column(BigInteger)
    rule: Mapped[str] = mapped_column(String(64))
    receive_time: Mapped[datetime]
    src: Mapped[str | None] = mapped_column(String(64))
    dst: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    stored_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRow(Base):
    """One alert: a group of events, one Slack parent message and its thread."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_group_key_last_seen", "group_key", "last_seen"),
        Index("ix_alerts_state", "state"),
        Index("ix_alerts_host", "host"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(64))
    group_key: Mapped[str] = mapped_column(String(512))
    host: Mapped[str | None] = mapped_column(String(64))
    other: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32), default="open")
    severity: Mapped[str | None] = mapped_column(String(32))
    threat_name: Mapped[str | None] = mapped_column(Text)
    threat_id: Mapped[str | None] = mapped_column(String(64))
    firewall: Mapped[str | None] = mapped_column(String(128))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    count: Mapped[int] = mapped_column(default=1)
    facts: Mapped[dict[str, Any]]  # the first event, as the parent message shows it
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    acked_by: Mapped[str | None] = mapped_column(String(32))
    acked_at: Mapped[datetime | None]
    assignee: Mapped[str | None] = mapped_column(String(32))
    verdict: Mapped[str | None] = mapped_column(String(32))
    closed_by: Mapped[str | None] = mapped_column(String(32))
    closed_at: Mapped[datetime | None]
    last_reminded_at: Mapped[datetime | None]
    investigated_at: Mapped[datetime | None]  # the automatic investigation's result is queued
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PollCursor(Base):
    """Where a rule's polling of one firewall has got to."""

    __tablename__ = "poll_cursors"

    rule: Mapped[str] = mapped_column(String(64), primary_key=True)
    firewall: Mapped[str] = mapped_column(String(256), primary_key=True)
    watermark: Mapped[datetime]  # newest receive_time stored

    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxRow(Base):
    """A Slack message to send: a row first, sent second, marked sent on Slack's word."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    kind: Mapped[str] = mapped_column(String(16))  # parent / reply / update / ephemeral
    dedupe_key: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending/sent/failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AuditRow(Base):
    """Append-only: who did what, when. Never updated, never deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_host", "host"),
        Index("ix_audit_log_alert_id", "alert_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # Slack user ID, or "panbot"
    action: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    host: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]


class Lease(Base):
    """A named lease: the replica holding it does that job (polling, draining)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class HostRow(Base):
    """What panbot knows of one of our hosts."""

    __tablename__ = "hosts"

    ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    names: Mapped[dict[str, Any]]  # {"hosts": [...], "users": [...]}
    monitored_until: Mapped[datetime | None]
    monitored_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    isolated_since: Mapped[datetime | None]
    isolated_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class HostPatch(Base):
    """Host H recorded as patched for CVE or signature C."""

    __tablename__ = "host_patches"
    __table_args__ = (UniqueConstraint("ip", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(ForeignKey("hosts.ip"))
    subject: Mapped[str] = mapped_column(String(64))  # "CVE-2015-0036" or "threat:30001"
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))


class IsolationRequest(Base):
    """A request to isolate a host, its approval and whether the firewall applied it."""

    __tablename__ = "isolation_requests"
    __table_args__ = (Index("ix_isolation_requests_ip", "ip"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    ip: Mapped[str] = mapped_column(String(64))
    # requested / approved / applied / apply_failed / rejected / released
    state: Mapped[str] = mapped_column(String(32), default="requested")
    reason: Mapped[str] = mapped_column(Text)
    duration_hours: Mapped[int | None]
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class EnrichmentCache(Base):
    """An enrichment answer, shared across alerts and replicas until it expires."""

    __tablename__ = "enrichment_cache"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, Any]]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
