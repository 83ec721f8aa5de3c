"""Safe parsing of PAN-OS XML API answers into typed values.

Every answer goes through `parse_xml`: lxml with entity resolution, network access and
DTD loading off, and any document carrying a DTD refused outright (FACTS.md, "Parsing
cost": as safe as defusedxml at a quarter of its cost). Log entries are mapped by
`investigations.panos.entries`, re-exported here.
"""

from __future__ import annotations

import re
import threading

from lxml import etree

from investigations.panos.entries import last_utc_offset, parse_log_entries
from investigations.panos.errors import (
    PanosApiError,
    PanosAuthError,
    PanosJobError,
    PanosResponseError,
)
from investigations.panos.models import JobStatus, SystemInfo, ThreatSignature

__all__ = [
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


def _parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads; one per thread is cheap.
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            dtd_validation=False,
            # Not collect_ids=False: that option makes libxml2 read external DTD files.
        )
        _local.parser = parser
    return parser


def parse_xml(body: bytes) -> etree._Element:
    """Parse an XML document, refusing malformed ones and any that carry a DTD."""
    if not body or not body.strip():
        raise PanosResponseError("the firewall sent an empty answer")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise PanosResponseError(f"the firewall's answer is not well-formed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise PanosResponseError("the firewall's answer carries a DTD; refused")
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
    root = parse_xml(body)
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
