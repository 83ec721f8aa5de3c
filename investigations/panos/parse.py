"""Safe parsing of PAN-OS XML API answers into typed values.

Every answer goes through `parse_xml`, or `LogPageParser` for log pages: lxml with
entity resolution, network access and DTD loading off, and any document carrying a DTD
refused outright (FACTS.md, "Parsing cost": as safe as defusedxml at a quarter of its
cost). Log entries are mapped by `investigations.panos.entries`, re-exported here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Container
from datetime import tzinfo
from itertools import islice

from lxml import etree

from investigations.panos.entries import EntryMapper, SeenKey, last_utc_offset, parse_log_entries
from investigations.panos.errors import (
    PanosApiError,
    PanosAuthError,
    PanosJobError,
    PanosResponseError,
)
from investigations.panos.events import Event, LogType
from investigations.panos.models import JobStatus, LogAnswer, SystemInfo, ThreatSignature

__all__ = [
    "LogPageParser",
    "error_message",
    "last_utc_offset",
    "parse_job_id",
    "parse_job_status",
    "parse_key",
    "parse_log_entries",
    "parse_registered_ips",
    "parse_response",
    "parse_system_info",
    "parse_threat_signature",
    "parse_userid_response",
    "parse_xml",
    "raise_for_error",
]

_MAX_MESSAGE = 500
_AUTH_MESSAGES = ("invalid credential",)  # also matches the older "Invalid credentials."
_CVE = re.compile(r"CVE-\d{4}-\d{4,7}")
_local = threading.local()
# The one set of parser options, for whole answers and streamed pages alike.
_SAFE_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "dtd_validation": False,
    # Not collect_ids=False: that option makes libxml2 read external DTD files.
}
# libxml2 refuses a single fed chunk of over 10 MB without huge_tree; HTTP chunks are far
# smaller, a whole answer given at once is cut into these.
_FEED_PIECE = 1 << 20


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one per thread is cheap.
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(**_SAFE_OPTIONS)  # type: ignore[arg-type]
        _local.parser = parser
    return parser


def _empty() -> PanosResponseError:
    return PanosResponseError("the firewall sent an empty answer")


def _not_well_formed(exc: etree.XMLSyntaxError) -> PanosResponseError:
    return PanosResponseError(f"the firewall's answer is not well-formed XML: {exc}")


def _has_dtd(root: etree._Element) -> bool:
    docinfo = root.getroottree().docinfo
    return bool(
        docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype
    )


def _refuse_dtd(root: etree._Element) -> None:
    if _has_dtd(root):
        raise PanosResponseError("the firewall's answer carries a DTD; refused")


def parse_xml(body: bytes) -> etree._Element:
    """Parse an XML document, refusing malformed ones and any that carry a DTD."""
    if not body or not body.strip():
        raise _empty()
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise _not_well_formed(exc) from None
    _refuse_dtd(root)
    return root


def _texts(node: etree._Element) -> list[str]:
    """Return the stripped, non-empty text pieces under `node`."""
    return [text.strip() for text in node.itertext() if isinstance(text, str) and text.strip()]


def _code(root: etree._Element) -> int | None:
    code = (root.get("code") or "").strip()
    return int(code) if code.isdigit() else None


def error_message(root: etree._Element) -> str:
    """Return the human message of an error response, wherever PAN-OS put it."""
    parts: list[str] = []
    for node in (root.find("msg"), root.find("result/msg"), root.find("result")):
        if node is None:
            continue
        parts.extend(_texts(node))
        # User-ID errors put the per-entry reason in an attribute of <entry>.
        parts.extend(
            el.get("message", "")
            for el in node.iter()
            if isinstance(el.tag, str) and el.get("message")
        )
        if parts:
            break
    message = " ".join(parts) or "no message given"
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"


def raise_for_error(root: etree._Element) -> None:
    """Raise the typed error of a status="error" response."""
    code = _code(root)
    message = error_message(root)
    if code == 403 or message.lower().startswith(_AUTH_MESSAGES):
        raise PanosAuthError(f"the firewall refused the credentials: {message}")
    raise PanosApiError(code, message)


def parse_response(body: bytes) -> etree._Element:
    """Return the root of a status="success" response; raise the typed error otherwise."""
    return _successful(parse_xml(body))


def _successful(root: etree._Element) -> etree._Element:
    """Return `root` if it is a status="success" response; raise the typed error otherwise."""
    if root.tag != "response":
        raise PanosResponseError(
            f"not a PAN-OS XML API response (root element <{str(root.tag)[:40]}>)"
        )
    status = (root.get("status") or "").strip()
    if status == "success":
        return root
    if status == "error":
        raise_for_error(root)
    raise PanosResponseError(f"unexpected response status {status[:40]!r}")


def _text(root: etree._Element, path: str) -> str | None:
    node = root.find(path)
    if node is None or node.text is None:
        return None
    text = node.text.strip()
    return text or None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def parse_job_id(root: etree._Element) -> int:
    """Return the job id of a log query's answer (`code="19"`, `<result><job>N</job>`)."""
    job = _text(root, "result/job")
    if job is None or not job.isdigit():
        raise PanosResponseError("the answer to a log query carries no job id")
    return int(job)


def parse_job_status(root: etree._Element) -> JobStatus:
    """Return where a log job stands, raising PanosJobError when the job failed."""
    job = root.find("result/job")
    if job is None:
        raise PanosResponseError("the answer about a log job carries no <job>")
    status = _text(job, "status")
    if status is None:
        raise PanosResponseError("the answer about a log job carries no job status")
    if (_text(job, "result") or "").upper() == "FAIL":
        details = " ".join(text for node in job.iterfind("details") for text in _texts(node))
        raise PanosJobError(None, f"log job failed: {details or 'no details given'}")
    logs = root.find("result/log/logs")
    progress = _int(logs.get("progress")) if logs is not None else _int(_text(job, "progress"))
    count = _int(logs.get("count")) if logs is not None else None
    return JobStatus(status=status, progress=progress, count=count)


def parse_key(root: etree._Element) -> str:
    """Return the API key of a `type=keygen` answer."""
    key = _text(root, "result/key")
    if key is None:
        raise PanosResponseError("the keygen answer carries no key")
    return key


def parse_system_info(root: etree._Element) -> SystemInfo:
    """Return the device facts of a `show system info` answer."""
    system = root.find("result/system")
    if system is None:
        raise PanosResponseError("the answer to 'show system info' carries no <system>")
    return SystemInfo(
        hostname=_text(system, "hostname"),
        serial=_text(system, "serial"),
        model=_text(system, "model"),
        sw_version=_text(system, "sw-version"),
    )


def parse_registered_ips(root: etree._Element) -> dict[str, tuple[str, ...]]:
    """Return IP → tags from a `show object registered-ip` answer."""
    result = root.find("result")
    if result is None:
        raise PanosResponseError("the registered-ip answer carries no <result>")
    if result.find("msg/line/outfile") is not None:
        raise PanosResponseError("the firewall wrote registered IPs to a file (PAN-OS < 8.0)")
    mapping: dict[str, tuple[str, ...]] = {}
    for entry in result.iterchildren("entry"):
        ip = entry.get("ip")
        if not ip:
            continue
        tags = tuple(
            m.text.strip() for m in entry.iterfind("tag/member") if m.text and m.text.strip()
        )
        mapping[ip] = mapping.get(ip, ()) + tags
    return mapping


def parse_userid_response(root: etree._Element) -> None:
    """Check a `type=user-id` answer (errors already raised by parse_response)."""
    if root.find("result") is None and root.find("msg") is None:
        raise PanosResponseError("the User-ID answer carries no result")


def parse_threat_signature(root: etree._Element, threat_id: int) -> ThreatSignature | None:
    """Return the signature of a `show threat id` answer; None when the firewall has none."""
    entry = root.find("result/entry")
    if entry is None:
        return None
    cves: dict[str, None] = {}  # ordered and de-duplicated
    for text in _texts(entry):
        for cve in _CVE.findall(text):
            cves.setdefault(cve, None)
    description = _text(entry, "description")
    return ThreatSignature(
        id=threat_id,
        name=_text(entry, "threatname") or _text(entry, "name"),
        description=" ".join(description.split()) if description else None,
        cves=tuple(cves),
        severity=_text(entry, "severity"),
    )


class LogPageParser:
    """Parse a log job's `action=get` answer as it arrives: `feed` the bytes, then `close`.

    Each `result/log/logs/entry` becomes an Event once a later sibling has begun (so it
    is complete), and is then dropped from the tree: a 5,000-entry page never exists as
    a whole tree, only the entries of the last chunk or so, and the last one (kept for
    `last_utc_offset`). The answer is judged at `close` exactly as `parse_response` +
    `parse_job_status` + `parse_log_entries` judge a whole one, in the same order: not
    well-formed, DTD, not a success response, job failed or not finished, no
    result/log/logs, then an unusable entry. Entries are mapped only while the answer
    can still be a finished page; anything else costs no mapping and is kept whole.

    Entries whose (serial, seqno) is in `known` are counted but not built (see
    `EntryMapper.known_key`).
    """

    def __init__(
        self,
        log_type: LogType,
        zone: tzinfo | None = None,
        known: Container[SeenKey] | None = None,
    ) -> None:
        # One "start" event, the root's; the pruning below needs no per-element events
        # (iterparse-style "end" events for <entry> measured 40-60 ms more per 16 MB page,
        # a third of the bare parse).
        self._parser = etree.XMLPullParser(
            events=("start",),
            tag="response",
            **_SAFE_OPTIONS,  # type: ignore[arg-type]
        )
        self._mapper = EntryMapper(log_type, zone, known)
        self._events: list[Event] = []
        self._entries = 0
        self._skipped: list[SeenKey] = []
        self._root: etree._Element | None = None
        self._logs: etree._Element | None = None
        self._mapping = True
        self._unfinished_at_start = False
        self._failure: PanosResponseError | None = None
        self._data = False

    def feed(self, data: bytes) -> None:
        """Parse the next bytes of the answer; raise PanosResponseError if not XML."""
        if not self._data and data and not data.isspace():
            self._data = True
        for start in range(0, len(data), _FEED_PIECE):
            piece = data if len(data) <= _FEED_PIECE else data[start : start + _FEED_PIECE]
            try:
                self._parser.feed(piece)
            except etree.XMLSyntaxError as exc:
                raise _not_well_formed(exc) from None
            self._take(final=False)

    def close(self) -> LogAnswer:
        """Return the job's status and, when FIN, its Events; raise the typed error otherwise."""
        if not self._data:
            raise _empty()
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise _not_well_formed(exc) from None
        self._take(final=True)
        _refuse_dtd(root)
        _successful(root)
        status = parse_job_status(root)
        if not status.finished:
            return LogAnswer(status, [], 0, [], None)
        if self._logs is None and root.find("result/log/logs") is None:
            raise PanosResponseError("the log job's answer carries no result/log/logs")
        if self._failure is not None:
            raise self._failure
        if self._unfinished_at_start:
            # Cannot happen (both looks read the same first <job>); never return a page
            # whose entries were not mapped.
            raise PanosResponseError("the log job's answer contradicts itself about its status")
        return LogAnswer(status, self._events, self._entries, self._skipped, last_utc_offset(root))

    def _take(self, *, final: bool) -> None:
        """Map the complete entries parsed so far and drop them from the tree."""
        logs = self._logs if self._logs is not None else self._find_logs()
        if logs is None:
            return
        # While feeding, every child of <logs> but the last is complete (libxml2 has
        # begun a later sibling); at close all are.
        children = len(logs)
        done = children if final else children - 1
        if done <= 0:
            return
        # Not comments, nor elements PAN-OS never sends.
        entries = [e for e in islice(logs.iterchildren(), done) if e.tag == "entry"]
        self._entries += len(entries)
        if self._mapping and entries:
            self._map(entries)
        # The last child stays, for last_utc_offset.
        del logs[: min(done, children - 1)]

    def _map(self, entries: list[etree._Element]) -> None:
        mapper = self._mapper
        # Measured and not kept: one tag-filtered walk under <logs> per batch instead of
        # one per entry (lxml builds its 50-tag filter per iterator): the walk alone is
        # faster, the whole page was no faster (within noise, sometimes slower).
        try:
            if mapper.known:
                for entry in entries:
                    key = mapper.known_key(entry)
                    if key is not None:
                        self._skipped.append(key)
                    else:
                        self._events.append(mapper.map(entry))
            else:
                self._events.extend(mapper.map(entry) for entry in entries)
        except PanosResponseError as exc:
            # Raised at close, after the checks that come first.
            self._failure = exc
            self._mapping = False

    def _find_logs(self) -> etree._Element | None:
        """Once the page's <logs> has begun, judge what is known of the answer; return it."""
        if self._root is None:
            for _, element in self._parser.read_events():
                if isinstance(element, etree._Element) and element.getparent() is None:
                    self._root = element
            if self._root is None:
                return None  # not begun, or not a <response>: close() says why
            # The prolog is behind us: a DTD is refused now, before any more is parsed.
            _refuse_dtd(self._root)
        if not self._mapping:
            return None
        root = self._root
        # The first <logs> in document order is complete or still open, so it is found.
        logs = root.find("result/log/logs")
        if logs is None:
            return None
        # The prolog, the root's attributes and whatever precedes <log> are parsed: decide
        # whether mapping can serve (close() gives the verdict and the error).
        status_ok = (root.get("status") or "").strip() == "success"
        job = root.find("result/job")
        if job is not None:
            job_status = _text(job, "status")
            failed = (_text(job, "result") or "").upper() == "FAIL"
            if job_status is not None and (job_status != "FIN" or failed):
                self._unfinished_at_start = job_status != "FIN"
                status_ok = False
        if not status_ok:
            # Nothing is mapped, nor dropped: close() needs the whole answer.
            self._mapping = False
            return None
        self._logs = logs
        return logs
