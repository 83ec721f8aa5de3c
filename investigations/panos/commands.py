"""XML commands sent to the firewall, built from validated values only.

Every value that reaches a command is checked first (an IP parses as an IP, a tag
matches PAN-OS's tag syntax, a threat id is a positive number) and the XML is built
with lxml, which escapes it: nothing typed in Slack can change a command's shape.
"""

from __future__ import annotations

import ipaddress
import re

from lxml import etree

TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,126}")
MAX_TAG_TIMEOUT = 30 * 24 * 3600  # PAN-OS 9.0+ caps a registration at 30 days; 0 = never
MAX_THREAT_ID = 10**9


def checked_ip(ip: str) -> str:
    """Return `ip` in canonical form, or raise ValueError when it is not one plain address.

    `ipaddress` accepts an IPv6 zone (`fe80::1%eth0`) whose suffix is free text; a zone
    has no meaning to a firewall filter and would carry anything into one, so it is refused.
    """
    try:
        text = ip.strip()
        if not text.isascii() or "%" in text:
            raise ValueError(text)
        return str(ipaddress.ip_address(text))
    except (ValueError, AttributeError):
        raise ValueError(f"not an IP address: {str(ip)[:60]!r}") from None


def checked_tag(tag: str) -> str:
    """Return `tag`, or raise ValueError when it is not a plain PAN-OS tag name."""
    if not isinstance(tag, str) or not TAG_PATTERN.fullmatch(tag):
        raise ValueError(
            f"not a valid tag (letters, digits, '_', '.', '-'; up to 127): {str(tag)[:60]!r}"
        )
    return tag


def checked_timeout(timeout_seconds: int) -> int:
    """Return a registration timeout in seconds, or raise ValueError outside 0..30 days."""
    if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int):
        raise ValueError("the tag timeout must be a whole number of seconds")
    if not 0 <= timeout_seconds <= MAX_TAG_TIMEOUT:
        raise ValueError(f"the tag timeout must be between 0 and {MAX_TAG_TIMEOUT} seconds")
    return timeout_seconds


def checked_threat_id(threat_id: int | str) -> int:
    """Return a threat id as int, or raise ValueError when it is not a positive number."""
    if isinstance(threat_id, bool):
        raise ValueError("not a threat id")
    if isinstance(threat_id, str):
        if not threat_id.isascii() or not threat_id.isdigit():
            raise ValueError(f"not a threat id: {threat_id[:30]!r}")
        threat_id = int(threat_id)
    if not isinstance(threat_id, int) or not 0 < threat_id < MAX_THREAT_ID:
        raise ValueError(f"not a threat id: {threat_id!r}")
    return threat_id


def _xml(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")


def _uid_message(action: str, ip: str, tag: str, timeout_seconds: int | None) -> str:
    message = etree.Element("uid-message")
    etree.SubElement(message, "type").text = "update"
    payload = etree.SubElement(message, "payload")
    entry = etree.SubElement(etree.SubElement(payload, action), "entry", ip=ip)
    if timeout_seconds is not None:
        # persistent: the registration survives a firewall reboot (isolation must).
        entry.set("persistent", "1")
    member = etree.SubElement(etree.SubElement(entry, "tag"), "member")
    if timeout_seconds is not None:
        member.set("timeout", str(timeout_seconds))
    member.text = tag
    return _xml(message)


def register_cmd(ip: str, tag: str, timeout_seconds: int) -> str:
    """Return the User-ID message registering `ip` to `tag`."""
    return _uid_message(
        "register", checked_ip(ip), checked_tag(tag), checked_timeout(timeout_seconds)
    )


def unregister_cmd(ip: str, tag: str) -> str:
    """Return the User-ID message removing `tag` from `ip`."""
    return _uid_message("unregister", checked_ip(ip), checked_tag(tag), None)


def registered_ip_cmd(tag: str | None, *, start: int, limit: int) -> str:
    """Return the op command listing registered IPs (of one tag), one page of them."""
    show = etree.Element("show")
    registered = etree.SubElement(etree.SubElement(show, "object"), "registered-ip")
    if tag is not None:
        etree.SubElement(etree.SubElement(registered, "tag"), "entry", name=checked_tag(tag))
    etree.SubElement(registered, "limit").text = str(limit)
    etree.SubElement(registered, "start-point").text = str(start)
    return _xml(show)


def threat_cmd(threat_id: int | str) -> str:
    """Return the op command describing one threat signature."""
    show = etree.Element("show")
    etree.SubElement(etree.SubElement(show, "threat"), "id").text = str(
        checked_threat_id(threat_id)
    )
    return _xml(show)


SYSTEM_INFO_CMD = "<show><system><info></info></system></show>"
