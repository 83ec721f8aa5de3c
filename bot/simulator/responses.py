"""PAN-OS XML API response documents, in the shapes of the reference samples."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from xml.sax.saxutils import escape, quoteattr

from bot.simulator.signatures import Signature
from bot.simulator.store import Registration

# Characters XML 1.0 cannot carry at all; they would make the whole response unparseable.
_INVALID_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_FIELDS = frozenset({"logid"})


def text(value: str) -> str:
    """Escape a value for XML character data."""
    return escape(_INVALID_XML.sub("\ufffd", value))


def attr(value: str) -> str:
    """Quote and escape a value for an XML attribute."""
    return quoteattr(_INVALID_XML.sub("\ufffd", value))


def element(name: str, value: str) -> str:
    """Return ``<name>value</name>``, or ``<name/>`` when empty."""
    return f"<{name}>{text(value)}</{name}>" if value else f"<{name}/>"


def success(result: str, *, code: str | None = None, cmd: str | None = None) -> str:
    """Wrap a result in a success response."""
    extra = (f" cmd={attr(cmd)}" if cmd else "") + (f" code={attr(code)}" if code else "")
    return f'<response status="success"{extra}><result>{result}</result></response>'


def error(message: str, *, code: str | None = None) -> str:
    """Return an error response carrying one message line."""
    extra = f" code={attr(code)}" if code else ""
    return f'<response status="error"{extra}><msg><line>{text(message)}</line></msg></response>'


def credential_error() -> str:
    """Return the body PAN-OS sends with HTTP 403 for a bad key or password."""
    return '<response status="error"><result><msg>Invalid Credential</msg></result></response>'


def keygen(key: str) -> str:
    """Return a keygen success response."""
    return success(element("key", key))


def job_enqueued(job_id: int) -> str:
    """Return the `type=log` submit response (code 19)."""
    line = f"<msg><line>query job enqueued with jobid {job_id}</line></msg>"
    return success(f"{line}<job>{job_id}</job>", code="19")


def job_status(
    job_id: int,
    *,
    finished: bool,
    enqueued: str,
    now: str,
    entries: Iterable[Mapping[str, str]] = (),
) -> str:
    """Return a `type=log&action=get` response: ACT with no logs, or FIN with entries."""
    if not finished:
        job = (
            f"<job><tenq>{enqueued}</tenq><tdeq>{enqueued}</tdeq><tlast>01:00:00</tlast>"
            f"<status>ACT</status><id>{job_id}</id></job>"
        )
        return success(f'{job}<log><logs count="0" progress="20"/></log>')
    rendered = [log_entry(entry) for entry in entries]
    job = (
        f"<job><tenq>{enqueued}</tenq><tdeq>{enqueued}</tdeq><tlast>{now}</tlast>"
        f"<status>FIN</status><id>{job_id}</id></job>"
    )
    logs = f'<logs count="{len(rendered)}" progress="100">{"".join(rendered)}</logs>'
    return success(f"{job}<log>{logs}</log>")


def log_entry(entry: Mapping[str, str]) -> str:
    """Render one log entry; its logid is an attribute, every other field an element."""
    fields = "".join(element(k, v) for k, v in entry.items() if k not in _ATTRIBUTE_FIELDS)
    return f"<entry logid={attr(entry.get('logid', '0'))}>{fields}</entry>"


def job_finished(job_id: int) -> str:
    """Return the `action=finish` response."""
    return success(f"<msg><line>Job {job_id} finished</line></msg>")


def registered_ips(registrations: Iterable[Registration]) -> str:
    """Return the `show object registered-ip` response."""
    parts = []
    for reg in registrations:
        members = "".join(element("member", tag) for tag in reg.tags)
        persistent = "1" if reg.persistent else "0"
        parts.append(
            f'<entry ip={attr(reg.ip)} from_agent="0" persistent="{persistent}">'
            f"<tag>{members}</tag></entry>"
        )
    return success("".join(parts) + element("count", str(len(parts))))


def uid_response(operations: Iterable[str]) -> str:
    """Return a `type=user-id` success response naming the operations done."""
    payload = "".join(f"<{op}></{op}>" for op in operations)
    return success(
        f"<uid-response><version>2.0</version><payload>{payload}</payload></uid-response>"
    )


def system_info(fields: Mapping[str, str]) -> str:
    """Return the `show system info` response."""
    body = "".join(element(k, v) for k, v in fields.items())
    return success(f"<system>{body}</system>")


def threat_info(sig: Signature) -> str:
    """Return a `show threat id` response for one signature."""
    cves = "".join(element("member", cve) for cve in sig.cves)
    vendors = "".join(element("member", v) for v in sig.vendor_ids)
    return success(
        f"<entry name={attr(sig.tid)} category={attr(sig.category)} "
        f"severity={attr(sig.severity)}>"
        f"{element('threatname', sig.name)}"
        f"<vulnerability><cve>{cves}</cve><vendor>{vendors}</vendor></vulnerability>"
        f"{element('default-action', sig.default_action)}"
        f"{element('description', sig.description)}"
        "</entry>"
    )


def clock(now: str) -> str:
    """Return the `show clock` response."""
    return success(text(now) + "\n")
