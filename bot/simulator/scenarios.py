"""Scenarios: the guide's five urgent alerts, follow-up logs and noise, loaded into a LogStore.

Every address is only a string in a log entry, never contacted: inside hosts are
RFC 1918, outside hosts are documentation ranges (203.0.113.0/24, 198.51.100.0/24).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import count

from bot.fakeintel import dataset as intel
from bot.simulator.signatures import (
    DIRECTORY_TRAVERSAL,
    IE_MEMORY_CORRUPTION,
    LOG4J_RCE,
    MAIL_VIRUS,
    SMTP_VIRUS,
    SUSPICIOUS_DNS,
    WILDFIRE_SCRIPT,
    WIRELURKER_C2,
    Signature,
)
from bot.simulator.store import FieldValue, LogStore

Fields = dict[str, FieldValue]
Record = tuple[str, Fields]  # (log type, fields)

# The guide's hosts and artefacts, for tests and the demo to refer to; files and
# destinations are the fake intel dataset's, so every enrichment finds them.
VULN_VICTIM = "192.168.10.21"
VULN_ATTACKER = "203.0.113.80"
AV_HOST = "192.168.10.34"
AV_MAIL_SERVER = "198.51.100.25"
AV_SHA256 = intel.ANTIVIRUS_FILE_SHA256
AV_FILE = intel.ANTIVIRUS_FILE_NAME
WILDFIRE_HOST = "192.168.10.57"
WILDFIRE_MAIL_SERVER = "198.51.100.40"
WILDFIRE_SHA256 = intel.WILDFIRE_FILE_SHA256
WILDFIRE_FILE = intel.WILDFIRE_FILE_NAME
WILDFIRE_REPORT_ID = "30012345678"
WILDFIRE_C2_IP = intel.WILDFIRE_C2_IP  # what the sample contacts, per its WildFire report
WILDFIRE_C2_PORT = intel.WILDFIRE_C2_PORT
WILDFIRE_C2_DOMAIN = intel.WILDFIRE_DNS_QUERY
WILDFIRE_URL = intel.WILDFIRE_URL.removeprefix("http://")  # URL logs carry no scheme
SPYWARE_HOST = "192.168.10.88"
SPYWARE_C2 = "203.0.113.50"
CORR_HOST = "192.168.10.102"
CORR_OBJECT_NAME = "Host visited known malware URL"
CORR_OBJECT_ID = "6005"
CORR_MATCH_OID = "3612"
CORR_EVIDENCE_COUNT = 100
NAT_ADDRESS = "198.51.100.10"  # the firewall's outside address
NO_NAT = "0.0.0.0"  # noqa: S104 - how PAN-OS logs "no translation", never bound
NOISE_SHA256 = "4d3559695b89f313a98ee8aa67c9bb361660735f19afe42717f99dcc02258c06"
NOISE_WILDFIRE_SHA256 = "92cb973591125e6459ffd01e0ad34f77d56e528365d41c13da97d0679109206d"

_MALWARE_URLS = (
    "dl.malware.example.com/load/a.bin",
    "cdn7.example.org/gate/p.php",
    "203.0.113.99/beacon",
    "track.example.net/c/ping",
)


class UnknownScenarioError(ValueError):
    """No scenario has this name."""


class _Builder:
    """Build entries relative to one moment, with distinct session ids."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._sessions = count(41_000)

    def at(self, minutes: float) -> datetime:
        return self.now - timedelta(minutes=minutes)

    def session(
        self,
        src: str,
        dst: str,
        sport: int,
        dport: int,
        app: str,
        *,
        outbound: bool = True,
        srcuser: str = "",
    ) -> Fields:
        """Return the session fields; outbound means the inside host sent the SYN."""
        zones = ("trust", "untrust") if outbound else ("untrust", "trust")
        return {
            "src": src,
            "dst": dst,
            "natsrc": NAT_ADDRESS if outbound else NO_NAT,
            "natdst": dst if outbound else NO_NAT,
            "rule": "Allow-Outbound" if outbound else "Allow-Published-Services",
            "srcuser": srcuser,
            "dstuser": "",
            "srcloc": "192.168.0.0-192.168.255.255" if outbound else "US",
            "dstloc": "US" if outbound else "10.0.0.0-10.255.255.255",
            "app": app,
            "vsys": "vsys1",
            "from": zones[0],
            "to": zones[1],
            "inbound_if": "ethernet1/2" if outbound else "ethernet1/1",
            "outbound_if": "ethernet1/1" if outbound else "ethernet1/2",
            "sessionid": next(self._sessions),
            "repeatcnt": 1,
            "sport": sport,
            "dport": dport,
            "proto": "tcp" if app != "dns" else "udp",
        }

    def threat(
        self,
        minutes: float,
        sig: Signature,
        session: Fields,
        *,
        action: str,
        direction: str,
        severity: str | None = None,
        misc: str = "",
        **extra: FieldValue,
    ) -> Fields:
        """Return a threat (or WildFire) entry's fields."""
        fields: Fields = {
            "receive_time": self.at(minutes),
            "subtype": sig.subtype,
            **session,
            "action": action,
            "misc": misc,
            "threatid": sig.threatid,
            "tid": sig.tid,
            "thr_category": sig.category,
            "severity": severity or sig.severity,
            "direction": direction,
        }
        fields.update(extra)
        return fields

    def url(self, minutes: float, src: str, dst: str, url: str, category: str) -> Fields:
        """Return a URL filtering entry's fields."""
        return {
            "receive_time": self.at(minutes),
            **self.session(src, dst, 50_000 + int(minutes * 10), 80, "web-browsing"),
            "action": "alert",
            "misc": url,
            "category": category,
            "severity": "informational",
            "direction": "client-to-server",
        }

    def traffic(self, minutes: float, src: str, dst: str, dport: int, app: str) -> Fields:
        """Return a traffic (session end) entry's fields."""
        return {
            "receive_time": self.at(minutes),
            **self.session(src, dst, 50_500 + int(minutes * 10), dport, app),
            "action": "allow",
            "bytes": 4210,
            "bytes_sent": 1320,
            "bytes_received": 2890,
            "packets": 18,
            "session_end_reason": "tcp-fin",
        }


def guide_five(b: _Builder) -> list[Record]:
    """Return the guide's five alerts, one per default rule, with their follow-up logs."""
    mail = b.session(AV_HOST, AV_MAIL_SERVER, 53_120, 110, "pop3", srcuser="corp\\suzuki")
    wf_session = b.session(
        WILDFIRE_HOST, WILDFIRE_MAIL_SERVER, 53_877, 25, "smtp", srcuser="corp\\yamada"
    )
    records: list[Record] = [
        (
            "threat",
            b.threat(
                9,
                IE_MEMORY_CORRUPTION,
                b.session(
                    VULN_VICTIM, VULN_ATTACKER, 51_514, 80, "web-browsing", srcuser="corp\\tanaka"
                ),
                action="alert",
                direction="server-to-client",
                misc="news.example.net/landing/index.html",
            ),
        ),
        (
            "threat",
            b.threat(
                8,
                MAIL_VIRUS,
                mail,
                action="alert",
                direction="server-to-client",
                misc=AV_FILE,
                filedigest=AV_SHA256,
                filetype="ms-office",
                sender="billing@example.org",
                subject="Invoice for November 2026",
                recipient="suzuki@corp.example.com",
            ),
        ),
        (
            "wildfire",
            b.threat(
                7,
                WILDFIRE_SCRIPT,
                wf_session,
                action="allow",
                direction="client-to-server",
                misc=WILDFIRE_FILE,
                category="malicious",
                filedigest=WILDFIRE_SHA256,
                filetype="script",
                sender="yamada@corp.example.com",
                subject="RE: quotation",
                recipient="orders@example.org",
                reportid=WILDFIRE_REPORT_ID,
                cloud="wildfire.paloaltonetworks.com",
            ),
        ),
        # The WildFire host contacts the sample's destination afterwards.
        (
            "threat",
            b.threat(
                5,
                SUSPICIOUS_DNS,
                b.session(WILDFIRE_HOST, "198.51.100.53", 61_001, 53, "dns"),
                action="sinkhole",
                direction="client-to-server",
                misc=WILDFIRE_C2_DOMAIN,
            ),
        ),
        (
            "url",
            b.url(4.5, WILDFIRE_HOST, WILDFIRE_C2_IP, WILDFIRE_URL, "malware"),
        ),
        ("traffic", b.traffic(4, WILDFIRE_HOST, WILDFIRE_C2_IP, WILDFIRE_C2_PORT, "ssl")),
        (
            "threat",
            b.threat(
                6,
                WIRELURKER_C2,
                b.session(
                    SPYWARE_HOST, SPYWARE_C2, 49_822, 80, "web-browsing", srcuser="corp\\kato"
                ),
                action="alert",
                direction="client-to-server",
                misc="c2.example.com/mac/getversion.php",
            ),
        ),
    ]
    # The correlation's match evidence: the host visits known malware URLs 100 times.
    for i in range(CORR_EVIDENCE_COUNT):
        url = _MALWARE_URLS[i % len(_MALWARE_URLS)]
        records.append(("url", b.url(30 - i * 0.25, CORR_HOST, "203.0.113.99", url, "malware")))
    records.append(
        (
            "corr",
            {
                "receive_time": b.at(2),
                "src": CORR_HOST,
                "srcuser": "corp\\ito",
                "vsys": "vsys1",
                "category": "compromised-host",
                "severity": "critical",
                "object_name": CORR_OBJECT_NAME,
                "object_id": CORR_OBJECT_ID,
                "evidence": f"{CORR_OBJECT_NAME} ({CORR_EVIDENCE_COUNT} times).",
                "match_oid": CORR_MATCH_OID,
            },
        )
    )
    return records


def noise(b: _Builder) -> list[Record]:
    """Return logs that look urgent but that none of the five default rules may match."""
    return [
        (  # critical, but blocked
            "threat",
            b.threat(
                10,
                LOG4J_RCE,
                b.session(
                    "203.0.113.200", "10.1.20.15", 40_112, 443, "web-browsing", outbound=False
                ),
                action="reset-both",
                direction="client-to-server",
                misc="www.corp.example.com/",
            ),
        ),
        (  # alert only, but high rather than critical
            "threat",
            b.threat(
                9.5,
                DIRECTORY_TRAVERSAL,
                b.session(
                    "198.51.100.180", "10.1.20.15", 40_500, 80, "web-browsing", outbound=False
                ),
                action="alert",
                direction="client-to-server",
                misc="www.corp.example.com/../../etc/passwd",
            ),
        ),
        (  # a virus in mail, but over SMTP to the mail server
            "threat",
            b.threat(
                8.5,
                SMTP_VIRUS,
                b.session("198.51.100.60", "10.1.20.25", 41_220, 25, "smtp", outbound=False),
                action="alert",
                direction="client-to-server",
                misc="statement.doc.exe",
                filedigest=NOISE_SHA256,
                filetype="pe",
                sender="noreply@example.net",
                subject="Your statement",
                recipient="info@corp.example.com",
            ),
        ),
        (  # malicious, but informational: an AV-blocked file forwarded to WildFire
            "wildfire",
            b.threat(
                7.5,
                WILDFIRE_SCRIPT,
                b.session("192.168.10.66", "203.0.113.120", 52_310, 80, "web-browsing"),
                action="block",
                direction="server-to-client",
                severity="informational",
                misc="setup_helper.exe",
                category="malicious",
                filedigest=NOISE_WILDFIRE_SHA256,
                filetype="pe",
                reportid="30012345999",
            ),
        ),
        (  # critical C2, but blocked
            "threat",
            b.threat(
                6.5,
                WIRELURKER_C2,
                b.session("192.168.10.90", SPYWARE_C2, 49_901, 80, "web-browsing"),
                action="reset-both",
                direction="client-to-server",
                misc="c2.example.com/mac/getversion.php",
            ),
        ),
        (  # a correlation, but high rather than critical
            "corr",
            {
                "receive_time": b.at(3),
                "src": "192.168.10.77",
                "srcuser": "corp\\mori",
                "category": "compromised-host",
                "severity": "high",
                "object_name": "Host visited known malware URL",
                "object_id": CORR_OBJECT_ID,
                "evidence": "Host visited known malware URL (5 times).",
                "match_oid": "3613",
            },
        ),
        ("traffic", b.traffic(5.5, "192.168.10.21", "203.0.113.15", 443, "ssl")),
        ("url", b.url(5.2, "192.168.10.34", "203.0.113.16", "www.example.com/", "news")),
    ]


SCENARIOS: dict[str, Callable[[_Builder], list[Record]]] = {
    "guide": lambda b: guide_five(b) + noise(b),
    "noise": noise,
    "empty": lambda b: [],
}


def _received(record: Record) -> datetime:
    moment = record[1]["receive_time"]
    if not isinstance(moment, datetime):
        raise TypeError("scenario entries carry their receive_time as a datetime")
    return moment


def load_scenario(store: LogStore, name: str = "guide") -> list[dict[str, str]]:
    """Append a scenario's entries to the store, times a few minutes before its clock's now."""
    try:
        build = SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise UnknownScenarioError(f"unknown scenario {name!r} (known: {known})") from None
    records = build(_Builder(store.now()))
    # Appending in time order keeps each log type's seqno increasing with receive time.
    records.sort(key=_received)
    return [store.append(log_type, fields) for log_type, fields in records]
