"""Parse `/pan` text strictly: a value is an IP, a hash, a CVE, an alert or threat id, or refused.

Nothing a user types reaches a firewall query or an outside service before it has
been recognised here as exactly one of these forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from investigations.panos.commands import checked_ip

MAX_TEXT = 200

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
_CVE = re.compile(r"^CVE-([0-9]{4})-([0-9]{4,7})$", re.IGNORECASE)
_ALERT = re.compile(r"^(?:#|alert[:#-]?)([0-9]{1,12})$", re.IGNORECASE)
_THREAT = re.compile(r"^(?:threat[:#-]?|tid[:#-]?)?([0-9]{1,12})$", re.IGNORECASE)


class Subject(StrEnum):
    """What an `/pan investigate` argument is."""

    ALERT = "alert"
    IP = "ip"
    SHA256 = "sha256"
    MD5 = "md5"
    CVE = "cve"
    THREAT = "threat"


@dataclass(frozen=True, slots=True)
class Indicator:
    """A validated investigation target, normalised (CVE upper case, hash lower case)."""

    kind: Subject
    value: str


@dataclass(frozen=True, slots=True)
class Command:
    """A recognised `/pan` subcommand and its validated argument."""

    name: str  # help / status / host / investigate
    indicator: Indicator | None = None


class CommandError(ValueError):
    """The text is not a valid `/pan` command; `key` and `params` name what was wrong."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def parse_indicator(value: str) -> Indicator:
    """Recognise one investigation target, or raise CommandError."""
    token = value.strip()
    if _SHA256.match(token):
        return Indicator(Subject.SHA256, token.lower())
    if _MD5.match(token):
        return Indicator(Subject.MD5, token.lower())
    cve = _CVE.match(token)
    if cve:
        return Indicator(Subject.CVE, f"CVE-{cve.group(1)}-{cve.group(2)}")
    alert = _ALERT.match(token)
    if alert:
        return Indicator(Subject.ALERT, str(int(alert.group(1))))
    try:
        return Indicator(Subject.IP, checked_ip(token))
    except ValueError:
        pass
    threat = _THREAT.match(token)
    if threat:
        return Indicator(Subject.THREAT, str(int(threat.group(1))))
    raise CommandError("command.error.bad_indicator", value=_shown(token))


def parse_ip(value: str) -> str:
    """A host address, normalised, or CommandError."""
    try:
        return checked_ip(value)
    except ValueError:
        raise CommandError("command.error.bad_ip", value=_shown(value)) from None


def parse_command(text: str) -> Command:
    """Parse the whole `/pan` text."""
    if len(text) > MAX_TEXT:
        raise CommandError("command.error.too_long", limit=str(MAX_TEXT))
    words = text.split()
    if not words:
        return Command("help")
    name, args = words[0].lower(), words[1:]
    if name in {"help", "status"}:
        if args:
            raise CommandError("command.error.no_arguments", command=name)
        return Command(name)
    if name in {"host", "investigate"}:
        if len(args) != 1:
            raise CommandError("command.error.one_argument", command=name)
        if name == "host":
            return Command("host", Indicator(Subject.IP, parse_ip(args[0])))
        return Command("investigate", parse_indicator(args[0]))
    raise CommandError("command.error.unknown", command=_shown(name))


def _shown(value: str, limit: int = 40) -> str:
    """User text as echoed back: short, on one line (the views escape it)."""
    # Control characters never go back to Slack; the views escape the rest.
    flat = " ".join("".join(c if c.isprintable() else " " for c in value).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
