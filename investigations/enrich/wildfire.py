"""WildFire: a file's verdict, and the network activity its analysis recorded."""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar, Unpack

from lxml import etree
from pydantic import BaseModel, ConfigDict, SecretStr

from investigations.enrich._http import Reply, raise_for_auth, unexpected
from investigations.enrich._service import Options, Service
from investigations.enrich._xml import child_text, localname, parse_xml
from investigations.enrich.errors import InvalidQuery, MalformedResponse, QuotaExceeded
from investigations.enrich.indicators import is_md5, is_sha256
from investigations.enrich.limits import default_windows

NAME = "wildfire"
REPORT_MAX_BYTES = 8 * 1024 * 1024
_WEEK = 7 * 86_400
_DAY = 86_400
_HOUR = 3_600
_T = TypeVar("_T")


class VerdictCode(IntEnum):
    """The codes of `/get/verdict`."""

    BENIGN = 0
    MALWARE = 1
    GRAYWARE = 2
    PHISHING = 4
    C2 = 5
    PENDING = -100
    ERROR = -101
    UNKNOWN = -102  # WildFire has no record of the sample
    INVALID_HASH = -103
    FLAWED_SUBMISSION = -104

    @property
    def is_final(self) -> bool:
        """True for an analysis outcome, False for pending, unknown and the error codes."""
        return self.value >= 0

    @property
    def is_malicious(self) -> bool:
        """True for malware, phishing and command-and-control."""
        return self in (VerdictCode.MALWARE, VerdictCode.PHISHING, VerdictCode.C2)


class Verdict(BaseModel):
    """WildFire's verdict on one file."""

    model_config = ConfigDict(frozen=True)

    sha256: str | None = None
    md5: str | None = None
    code: VerdictCode


class Connection(BaseModel):
    """A TCP or UDP destination the sample contacted."""

    model_config = ConfigDict(frozen=True)

    protocol: str  # tcp / udp
    ip: str
    port: int | None = None
    country: str | None = None


class DnsQuery(BaseModel):
    """A DNS lookup the sample made."""

    model_config = ConfigDict(frozen=True)

    query: str
    type: str | None = None
    response: str | None = None


class HttpRequest(BaseModel):
    """An HTTP request the sample sent."""

    model_config = ConfigDict(frozen=True)

    host: str
    uri: str = ""
    method: str | None = None
    user_agent: str | None = None

    @property
    def url(self) -> str:
        """Host and path as WildFire shows them (the scheme is not recorded)."""
        return f"{self.host}{self.uri}"


class Report(BaseModel):
    """A WildFire analysis report; `pending` while no analysis section exists yet."""

    model_config = ConfigDict(frozen=True)

    sha256: str | None = None
    md5: str | None = None
    sha1: str | None = None
    filetype: str | None = None
    size: int | None = None
    malware: bool | None = None
    pending: bool = False
    environments: tuple[str, ...] = ()  # the analysers and sandboxes that ran
    connections: tuple[Connection, ...] = ()
    dns: tuple[DnsQuery, ...] = ()
    http: tuple[HttpRequest, ...] = ()
    extracted_urls: tuple[str, ...] = ()  # URLs found inside the file, not contacted

    @property
    def has_network_activity(self) -> bool:
        """True when the sample contacted anything."""
        return bool(self.connections or self.dns or self.http)


def parse_verdict(body: bytes) -> Verdict:
    """Read a `/get/verdict` answer."""
    info = parse_xml(NAME, body).find("{*}get-verdict-info")
    if info is None:
        raise MalformedResponse(NAME, "no get-verdict-info in the answer")
    raw = child_text(info, "verdict")
    try:
        code = VerdictCode(int(raw or ""))
    except ValueError:
        raise MalformedResponse(NAME, "unrecognised verdict code") from None
    return Verdict(sha256=child_text(info, "sha256"), md5=child_text(info, "md5"), code=code)


def _unique(items: list[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


def _port(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and int(value) < 65_536 else None


def _network(report: etree._Element) -> tuple[list[Connection], list[DnsQuery], list[HttpRequest]]:
    connections: list[Connection] = []
    dns: list[DnsQuery] = []
    http: list[HttpRequest] = []
    for network in report.iterfind("{*}network"):
        for item in network:
            kind = localname(item).lower()
            attrs = item.attrib
            if kind in ("tcp", "udp") and attrs.get("ip"):
                connections.append(
                    Connection(
                        protocol=kind,
                        ip=attrs["ip"],
                        port=_port(attrs.get("port")),
                        country=attrs.get("country") or None,
                    )
                )
            elif kind == "dns" and attrs.get("query"):
                dns.append(
                    DnsQuery(
                        query=attrs["query"],
                        type=attrs.get("type") or None,
                        response=attrs.get("response") or None,
                    )
                )
            elif kind == "url" and attrs.get("host"):
                http.append(
                    HttpRequest(
                        host=attrs["host"],
                        uri=attrs.get("uri", ""),
                        method=attrs.get("method") or None,
                        user_agent=attrs.get("user_agent") or None,
                    )
                )
    return connections, dns, http


def parse_report(body: bytes) -> Report:
    """Read a `/get/report` answer in XML; one report per analysis environment is merged."""
    root = parse_xml(NAME, body)
    if localname(root) != "wildfire":
        raise MalformedResponse(NAME, "the report's root is not <wildfire>")
    info = root.find("{*}file_info")
    reports = root.findall("{*}task_info/{*}report")
    connections: list[Connection] = []
    dns: list[DnsQuery] = []
    http: list[HttpRequest] = []
    environments: list[str] = []
    extracted: list[str] = []
    for report in reports:
        software = child_text(report, "software")
        if software:
            environments.append(software)
        c, d, h = _network(report)
        connections += c
        dns += d
        http += h
        extracted += [
            str(e.get("url")) for e in report.iterfind("{*}extracted_urls/{*}entry") if e.get("url")
        ]
    malware = child_text(info, "malware") if info is not None else None
    size = child_text(info, "size") if info is not None else None
    return Report(
        sha256=child_text(info, "sha256") if info is not None else None,
        md5=child_text(info, "md5") if info is not None else None,
        sha1=child_text(info, "sha1") if info is not None else None,
        filetype=child_text(info, "filetype") if info is not None else None,
        size=int(size) if size and size.isdigit() else None,
        malware=None if malware is None else malware.lower() == "yes",
        pending=not reports,
        environments=_unique(environments),
        connections=_unique(connections),
        dns=_unique(dns),
        http=_unique(http),
        extracted_urls=_unique(extracted),
    )


class WildFire(Service):
    """Client of the WildFire public API; the key travels as the `apikey` form field."""

    def __init__(self, base_url: str, api_key: str, **options: Unpack[Options]) -> None:
        super().__init__(
            NAME, base_url, windows=default_windows(NAME), max_bytes=REPORT_MAX_BYTES, **options
        )
        self._key = SecretStr(api_key)

    def verdict(self, digest: str) -> Verdict:
        """Return WildFire's verdict on a SHA-256 (or MD5); UNKNOWN when it never saw the file."""
        value = _check_hash(digest)

        def fetch() -> Verdict:
            reply = self._post("/get/verdict", value)
            if reply.status != 200:
                raise unexpected(reply)
            verdict = parse_verdict(reply.body)
            if verdict.code is VerdictCode.INVALID_HASH:
                raise InvalidQuery(NAME, "WildFire calls the hash invalid")
            return verdict

        # Only a finished analysis is worth remembering: pending and unknown change soon.
        return self._cached.one(
            f"verdict:{value}",
            fetch,
            Verdict,
            ttl=_DAY,
            negative_ttl=_HOUR,
            keep=lambda v: v.code.is_final,
        ) or Verdict(code=VerdictCode.UNKNOWN)

    def report(self, digest: str) -> Report | None:
        """Return the analysis report (pending=True while analysing), or None when there is none."""
        value = _check_hash(digest)

        def fetch() -> Report | None:
            reply = self._post("/get/report", value, format="xml")
            if reply.status == 404:
                return None
            if reply.status != 200:
                raise unexpected(reply)
            return parse_report(reply.body)

        return self._cached.one(
            f"report:{value}",
            fetch,
            Report,
            ttl=_WEEK,
            negative_ttl=_HOUR,
            keep=lambda r: not r.pending,
        )

    def _post(self, path: str, digest: str, **extra: str) -> Reply:
        form = {"apikey": self._key.get_secret_value(), "hash": digest, **extra}
        reply = self._http.post_form(f"{self.base_url}{path}", form)
        raise_for_auth(reply)
        if reply.status == 419:
            raise QuotaExceeded(NAME, "daily quota used up (HTTP 419)")
        if reply.status == 421:
            raise InvalidQuery(NAME, "WildFire calls the hash invalid (HTTP 421)")
        if reply.status in (418, 420):
            raise InvalidQuery(NAME, f"WildFire refused the query (HTTP {reply.status})")
        return reply


def _check_hash(digest: str) -> str:
    value = digest.strip().lower()
    if not (is_sha256(value) or is_md5(value)):
        raise InvalidQuery(NAME, "not a SHA-256 or MD5 hash")
    return value
