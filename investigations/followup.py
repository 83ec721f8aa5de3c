"""Follow-up firewall queries: what our host did after an event, and a correlation's evidence.

The guide's WildFire step 4: did the host contact a destination from the sample's
analysis report, or any destination that hit a DNS or URL-filtering signature, after
the event? And its correlation step 2: the logs behind a correlated event.

Only values that parse as IP addresses go into a query (through `ipaddress`, so they
come out canonical), and times are formatted by the client; domains from a report are
checked against a strict pattern and matched here, never sent to the firewall. Nothing
a sample's report or a user says can change a query's shape.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from investigations.enrich.wildfire import Report
from investigations.panos.commands import checked_ip as strict_ip
from investigations.panos.events import Event, LogType
from investigations.panos.models import ThreatSignature

# A host name: dot-separated labels of letters, digits and inner hyphens, 253 at most.
_DOMAIN = re.compile(
    r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z"
)
# URL categories that mean "a URL-filtering signature thinks this is bad".
MALICIOUS_URL_CATEGORIES = frozenset(
    {"malware", "command-and-control", "phishing", "grayware", "ransomware"}
)
MAX_ADDRESSES_PER_QUERY = 20  # keeps a filter short; reports rarely list more
FOLLOW_UP_PAGE = 500
EVIDENCE_WINDOW = timedelta(hours=1)


class LogSource(Protocol):
    """What follow-up queries need of the firewall client (`PanosClient` is one)."""

    def query_logs(
        self,
        log_type: LogType,
        query: str,
        *,
        page_size: int = ...,
        direction: str = ...,
        max_pages: int | None = ...,
    ) -> list[Event]:
        """Return matching logs."""
        ...

    def format_time(self, dt_utc: datetime) -> str:
        """Return an instant as the firewall's local time, for queries."""
        ...

    def threat_signature(self, threat_id: int) -> ThreatSignature | None:
        """Return a signature from the firewall's content."""
        ...


def checked_ip(value: str | None) -> str | None:
    """Return the address in canonical form, or None when the value is not one address."""
    if not value:
        return None
    try:
        return strict_ip(value)
    except ValueError:
        return None


def checked_domain(value: str | None) -> str | None:
    """Return a host name in lower case without a trailing dot, or None when it is not one."""
    if not value:
        return None
    candidate = value.strip().lower().removesuffix(".")
    if checked_ip(candidate) is not None or _DOMAIN.fullmatch(candidate) is None:
        return None
    return candidate


def url_host(url: str | None) -> str | None:
    """Return the host of a URL as firewalls and WildFire write them (scheme optional)."""
    if not url:
        return None
    rest = url.strip().split("://", 1)[-1]
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    if host.startswith("["):  # [IPv6]:port
        return checked_ip(host[1:].split("]", 1)[0])
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return checked_ip(host) or checked_domain(host)


@dataclass(frozen=True, slots=True)
class Destinations:
    """Where an analysed sample went: addresses and host names, validated."""

    ips: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.ips or self.domains)


def destinations_of(report: Report | None) -> Destinations:
    """Return the validated destinations of a WildFire report's network activity."""
    if report is None:
        return Destinations()
    ips: list[str] = []
    domains: list[str] = []

    def add(value: str | None) -> None:
        ip = checked_ip(value)
        if ip is not None:
            ips.append(ip)
            return
        domain = checked_domain(value)
        if domain is not None:
            domains.append(domain)

    for connection in report.connections:
        add(connection.ip)
    for query in report.dns:
        add(query.query)
        add(query.response)  # the address the name resolved to, when recorded
    for request in report.http:
        add(url_host(request.host))
    return Destinations(tuple(dict.fromkeys(ips)), tuple(dict.fromkeys(domains)))


@dataclass(frozen=True, slots=True)
class Contact:
    """One later log of our host that matters, and why."""

    log_type: str
    at: datetime
    destination: str  # the address or host name contacted
    detail: str  # URL, queried name or threat name
    reason: str  # report_destination / dns_signature / url_category


def _is_dns_signature(event: Event) -> bool:
    # DNS Security and the anti-spyware DNS signatures log as spyware, category dns-*.
    category = (event.threat_category or "").lower()
    name = (event.threat_name or "").lower().split("(")[0]
    return category.startswith("dns") or (event.subtype == "spyware" and "dns" in name)


def classify(event: Event, wanted: Destinations) -> Contact | None:
    """Return why a later log of our host matters, or None when it does not (pure)."""
    dst = checked_ip(event.dst)
    ips, domains = set(wanted.ips), set(wanted.domains)
    named = url_host(event.misc) if event.misc else None
    destination = named if named in domains else dst if dst in ips else None
    reason = "report_destination" if destination else None
    if reason is None and event.log_type is LogType.THREAT and _is_dns_signature(event):
        reason, destination = "dns_signature", named or dst
    if (
        reason is None
        and event.log_type is LogType.URL
        and (event.category or "").lower() in MALICIOUS_URL_CATEGORIES
    ):
        reason, destination = "url_category", named or dst
    if reason is None or destination is None:
        return None
    detail = event.misc or event.threat_name or event.app or ""
    if event.log_type is LogType.THREAT and event.threat_name:
        detail = f"{event.threat_name}: {event.misc}" if event.misc else event.threat_name
    elif event.log_type is LogType.URL and event.category:
        detail = f"{event.misc} ({event.category})" if event.misc else event.category
    elif event.log_type is LogType.TRAFFIC:
        detail = f"{event.app or '?'} {event.proto or ''}/{event.dport or '?'}".strip()
    return Contact(event.log_type.value, event.receive_time, destination, detail, reason)


def contacts_in(events: Iterable[Event], wanted: Destinations) -> list[Contact]:
    """Return the contacts among later logs, oldest first, each (type, destination, detail) once."""
    found: dict[tuple[str, str, str], Contact] = {}
    for event in sorted(events, key=lambda e: e.receive_time):
        contact = classify(event, wanted)
        if contact is not None:
            found.setdefault((contact.log_type, contact.destination, contact.detail), contact)
    return list(found.values())


def _address_filter(field: str, ips: Sequence[str]) -> str:
    # Each value was canonicalised by `ipaddress`: only hex digits, dots and colons remain.
    parts = [f"( {field} in {ip} )" for ip in ips if checked_ip(ip) == ip]
    if not parts:
        raise ValueError("no valid address to query")
    return parts[0] if len(parts) == 1 else "( " + " or ".join(parts) + " )"


def host_query(
    host: str,
    since: str,
    *,
    until: str | None = None,
    destinations: Sequence[str] = (),
    field: str = "addr.src",
) -> str:
    """Return a log filter: logs of `host` (as `field`) from `since` on, optionally to some IPs."""
    canonical = checked_ip(host)
    if canonical is None:
        raise ValueError("the host is not an IP address")
    parts = [_address_filter(field, [canonical]), f"( receive_time geq '{since}' )"]
    if until is not None:
        parts.append(f"( receive_time leq '{until}' )")
    if destinations:
        parts.append(_address_filter("addr.dst", destinations[:MAX_ADDRESSES_PER_QUERY]))
    return " and ".join(parts)


def follow_up(source: LogSource, host: str, since: datetime, wanted: Destinations) -> list[Contact]:
    """Query the host's threat, URL and traffic logs after `since` and return the contacts.

    Threat and URL logs are read whole (a host's are few, and DNS or URL-filtering hits
    count whatever their destination); traffic logs only towards the report's addresses.
    Raises the client's errors (PanosError) for the caller to report.
    """
    start = source.format_time(since)
    events: list[Event] = []
    for log_type in (LogType.THREAT, LogType.URL):
        events += source.query_logs(
            log_type, host_query(host, start), page_size=FOLLOW_UP_PAGE, max_pages=2
        )
    if wanted.ips:
        events += source.query_logs(
            LogType.TRAFFIC,
            host_query(host, start, destinations=wanted.ips),
            page_size=FOLLOW_UP_PAGE,
            max_pages=2,
        )
    return contacts_in(events, wanted)


@dataclass(frozen=True, slots=True)
class Evidence:
    """The logs behind a correlated event, summarised."""

    count: int
    by_type: tuple[tuple[str, int], ...]  # (log type, count)
    destinations: tuple[tuple[str, int], ...]  # (URL or address, count), most frequent first
    directions: tuple[tuple[str, int], ...]  # (client-to-server / server-to-client, count)


def summarise_evidence(events: Sequence[Event]) -> Evidence:
    """Count the evidence logs by type, destination and direction (pure)."""
    by_type = Counter(e.log_type.value for e in events)
    destinations = Counter(e.misc or e.dst or "?" for e in events)
    directions = Counter(e.direction or "client-to-server" for e in events)
    return Evidence(
        count=len(events),
        by_type=tuple(by_type.most_common()),
        destinations=tuple(destinations.most_common()),
        directions=tuple(directions.most_common()),
    )


def correlation_evidence(
    source: LogSource, host: str, until: datetime, window: timedelta = EVIDENCE_WINDOW
) -> Evidence:
    """Return the host's URL and threat logs in the window before a correlated event."""
    start, end = source.format_time(until - window), source.format_time(until)
    events: list[Event] = []
    for log_type in (LogType.URL, LogType.THREAT):
        events += source.query_logs(
            log_type, host_query(host, start, until=end), page_size=FOLLOW_UP_PAGE, max_pages=2
        )
    return summarise_evidence(events)
