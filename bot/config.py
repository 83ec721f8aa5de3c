"""Settings: every environment variable of INTERFACE.md, validated once at start-up.

Built once in the composition root and passed down; nothing reads the
environment anywhere else.
"""

from __future__ import annotations

import ipaddress
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from investigations.rules import RULE_IDS, Rule, rules_with_overrides

RFC1918 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class ConfigError(Exception):
    """A configuration value is missing or wrong; the message names the variable."""


class Settings(BaseSettings):
    """panbot's configuration, from the environment (and `.env`)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    # Slack
    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", validation_alias="PANBOT_SLACK_API_URL"
    )
    slack_channel: str | None = Field(default=None, validation_alias="PANBOT_SLACK_CHANNEL")
    # Posts a channel may take back to back; sustained, one a second (Slack's documented
    # "1 per second, short bursts >1 allowed"). 1 restores strict one-a-second pacing.
    slack_burst: int = Field(default=2, ge=1, le=10, validation_alias="PANBOT_SLACK_BURST")
    mode: Literal["socket", "http"] | None = Field(default=None, validation_alias="PANBOT_MODE")
    http_host: str = Field(default="0.0.0.0", validation_alias="PANBOT_HTTP_HOST")  # noqa: S104
    http_port: int = Field(default=3000, ge=0, le=65535, validation_alias="PANBOT_HTTP_PORT")

    # Storage
    database_url: str = Field(default="sqlite:///panbot.db", validation_alias="PANBOT_DATABASE_URL")

    # Firewall
    firewall_url: str | None = Field(default=None, validation_alias="PANBOT_FIREWALL_URL")
    firewall_api_key: SecretStr | None = Field(
        default=None, validation_alias="PANBOT_FIREWALL_API_KEY"
    )
    firewall_username: str | None = Field(default=None, validation_alias="PANBOT_FIREWALL_USERNAME")
    firewall_password: SecretStr | None = Field(
        default=None, validation_alias="PANBOT_FIREWALL_PASSWORD"
    )
    firewall_verify_tls: bool | Path = Field(
        default=True, validation_alias="PANBOT_FIREWALL_VERIFY_TLS"
    )
    firewall_timezone: str | None = Field(default=None, validation_alias="PANBOT_FIREWALL_TIMEZONE")
    firewall_timeout: float = Field(default=30.0, gt=0, validation_alias="PANBOT_FIREWALL_TIMEOUT")

    # Polling
    poll_interval: float = Field(default=60.0, gt=0, validation_alias="PANBOT_POLL_INTERVAL")
    lookback_minutes: int = Field(default=60, ge=0, validation_alias="PANBOT_LOOKBACK_MINUTES")
    # How long a replica's hold on a job (outbox draining; polling at least 3 intervals)
    # lasts without renewal: a replica that dies is replaced within this many seconds.
    lease_seconds: float = Field(
        default=30.0, ge=2, le=3600, validation_alias="PANBOT_LEASE_SECONDS"
    )

    # Behaviour
    language: Literal["en", "ja"] = Field(default="en", validation_alias="PANBOT_LANGUAGE")
    internal_networks: Annotated[list[Network], NoDecode] = Field(
        default_factory=lambda: [ipaddress.ip_network(n) for n in RFC1918],
        validation_alias="PANBOT_INTERNAL_NETWORKS",
    )
    responders: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="PANBOT_RESPONDERS"
    )
    approvers: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="PANBOT_APPROVERS"
    )
    isolation_mode: Literal["request-only", "firewall-tag"] = Field(
        default="request-only", validation_alias="PANBOT_ISOLATION_MODE"
    )
    quarantine_tag: str = Field(
        default="panbot-quarantine",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,126}$",
        validation_alias="PANBOT_QUARANTINE_TAG",
    )
    ack_reminder_minutes: int = Field(
        default=15, ge=0, validation_alias="PANBOT_ACK_REMINDER_MINUTES"
    )
    oncall: str | None = Field(default=None, validation_alias="PANBOT_ONCALL")
    watch_days: int = Field(default=7, ge=1, le=365, validation_alias="PANBOT_WATCH_DAYS")
    # "HH:MM" in UTC; unset means no daily digest.
    digest_time: time | None = Field(default=None, validation_alias="PANBOT_DIGEST_TIME")
    av_engines: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias="PANBOT_AV_ENGINES"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="PANBOT_LOG_LEVEL"
    )

    # Detection rules: each query overridable (the defaults are the guide's filters)
    rule_query_vulnerability: str | None = Field(
        default=None, validation_alias="PANBOT_RULE_VULNERABILITY_QUERY"
    )
    rule_query_antivirus: str | None = Field(
        default=None, validation_alias="PANBOT_RULE_ANTIVIRUS_QUERY"
    )
    rule_query_wildfire: str | None = Field(
        default=None, validation_alias="PANBOT_RULE_WILDFIRE_QUERY"
    )
    rule_query_spyware: str | None = Field(
        default=None, validation_alias="PANBOT_RULE_SPYWARE_QUERY"
    )
    rule_query_correlation: str | None = Field(
        default=None, validation_alias="PANBOT_RULE_CORRELATION_QUERY"
    )

    # Enrichment
    threatvault_api_key: SecretStr | None = Field(
        default=None, validation_alias="PANBOT_THREATVAULT_API_KEY"
    )
    wildfire_api_key: SecretStr | None = Field(
        default=None, validation_alias="PANBOT_WILDFIRE_API_KEY"
    )
    virustotal_api_key: SecretStr | None = Field(
        default=None, validation_alias="PANBOT_VIRUSTOTAL_API_KEY"
    )
    nvd_api_key: SecretStr | None = Field(default=None, validation_alias="PANBOT_NVD_API_KEY")
    threatvault_url: str = Field(
        default="https://api.threatvault.paloaltonetworks.com/service/v1",
        validation_alias="PANBOT_THREATVAULT_URL",
    )
    wildfire_url: str = Field(
        default="https://wildfire.paloaltonetworks.com/publicapi",
        validation_alias="PANBOT_WILDFIRE_URL",
    )
    virustotal_url: str = Field(
        default="https://www.virustotal.com/api/v3", validation_alias="PANBOT_VIRUSTOTAL_URL"
    )
    nvd_url: str = Field(
        default="https://services.nvd.nist.gov/rest/json/cves/2.0",
        validation_alias="PANBOT_NVD_URL",
    )
    jvn_url: str = Field(default="https://jvndb.jvn.jp/myjvn", validation_alias="PANBOT_JVN_URL")

    @field_validator("internal_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        parts = _split_csv(value)
        if isinstance(parts, list):
            return [ipaddress.ip_network(str(p), strict=False) for p in parts]
        return parts

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("responders", "approvers", "av_engines", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator("responders", "approvers")
    @classmethod
    def _slack_ids(cls, value: list[str]) -> list[str]:
        for item in value:
            if item[:1] not in {"U", "W", "S"} or not item.isalnum():
                raise ValueError(f"{item!r} is not a Slack user (U…/W…) or user-group (S…) ID")
        return value

    @field_validator("digest_time", mode="before")
    @classmethod
    def _hh_mm(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            hours, _, minutes = text.partition(":")
            if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
                raise ValueError("must be HH:MM (UTC), e.g. 09:00")
            if not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
                raise ValueError("must be HH:MM (UTC), e.g. 09:00")
            return time(int(hours), int(minutes))
        return value

    @field_validator("firewall_verify_tls", mode="before")
    @classmethod
    def _verify(cls, value: object) -> object:
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in {"true", "1", "yes", "on"}:
                return True
            if lowered in {"false", "0", "no", "off"}:
                return False
            path = Path(value)
            if not path.is_file():
                raise ValueError("must be true, false, or the path of an existing CA bundle")
            return path
        return value

    @field_validator("firewall_timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator(
        "firewall_url",
        "slack_api_url",
        "threatvault_url",
        "wildfire_url",
        "virustotal_url",
        "nvd_url",
        "jvn_url",
    )
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator(
        "rule_query_vulnerability",
        "rule_query_antivirus",
        "rule_query_wildfire",
        "rule_query_spyware",
        "rule_query_correlation",
    )
    @classmethod
    def _query(cls, value: str | None) -> str | None:
        if value is not None and (not value.strip() or len(value) > 2000):
            raise ValueError("must be a non-empty PAN-OS filter of at most 2000 characters")
        return value

    @model_validator(mode="after")
    def _firewall_credentials(self) -> Settings:
        if self.firewall_username and self.firewall_password is None:
            raise ValueError("PANBOT_FIREWALL_PASSWORD is required with PANBOT_FIREWALL_USERNAME")
        return self

    @property
    def effective_mode(self) -> Literal["socket", "http"]:
        if self.mode is not None:
            return self.mode
        return "socket" if self.slack_app_token is not None else "http"

    @property
    def firewall_zone(self) -> ZoneInfo | None:
        """The configured firewall zone, or None to trust `high_res_timestamp` then UTC."""
        return ZoneInfo(self.firewall_timezone) if self.firewall_timezone else None

    def rules(self) -> tuple[Rule, ...]:
        """The detection rules, with any configured query overrides."""
        overrides = {
            rule_id: query
            for rule_id in RULE_IDS
            if (query := getattr(self, f"rule_query_{rule_id}")) is not None
        }
        return rules_with_overrides(overrides)

    def require_for_run(self) -> None:
        """Check what `panbot run` needs beyond what every command needs."""
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                ("PANBOT_SLACK_CHANNEL", self.slack_channel),
                ("PANBOT_FIREWALL_URL", self.firewall_url),
            )
            if value is None
        ]
        if self.firewall_api_key is None and self.firewall_username is None:
            missing.append("PANBOT_FIREWALL_API_KEY (or PANBOT_FIREWALL_USERNAME)")
        if self.effective_mode == "http" and self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET (required in HTTP mode)")
        if self.effective_mode == "socket" and self.slack_app_token is None:
            missing.append("SLACK_APP_TOKEN (required in socket mode)")
        if missing:
            raise ConfigError(f"missing required setting: {missing[0]}")


def _alias_of(field_name: str) -> str:
    field = Settings.model_fields.get(field_name)
    alias = field.validation_alias if field else None
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return field_name.upper()


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one line that names the variable.

    The offending value is never echoed: it may be a secret.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = error.get("loc") or ("",)
        name = _alias_of(str(loc[0])) if loc and loc[0] else "configuration"
        message = str(error.get("msg", "invalid value"))
        message = message.removeprefix("Value error, ")
        raise ConfigError(f"{name}: {message}") from None


def env_variable_names() -> list[str]:
    """Every environment variable Settings reads, for docs and their tests."""
    return sorted(_alias_of(name) for name in Settings.model_fields)
