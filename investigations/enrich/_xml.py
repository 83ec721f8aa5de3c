"""Parse untrusted XML: no DTD, no entities, no network (FACTS.md, "Parsing cost")."""

from __future__ import annotations

import threading

from lxml import etree

from investigations.enrich.errors import MalformedResponse

# lxml parsers are not thread-safe, and investigations run on several threads: one each.
_local = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
        )
        _local.parser = parser
    return parser


def parse_xml(source: str, body: bytes) -> etree._Element:
    """Return the root element, refusing any document that carries a DTD."""
    try:
        root = etree.fromstring(body, parser=_parser())
    except etree.XMLSyntaxError:
        raise MalformedResponse(source, "the answer is not well-formed XML") from None
    docinfo = root.getroottree().docinfo
    # A DTD is how entity bombs and external entities arrive; no service here sends one.
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise MalformedResponse(source, "the answer carries a DTD; refused")
    return root


def localname(element: etree._Element) -> str:
    """Return the tag without its namespace (JVN uses both http:// and https:// ones)."""
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def child_text(element: etree._Element, name: str) -> str | None:
    """Return the stripped text of the first child called `name` in any namespace."""
    found = element.find(f"{{*}}{name}")
    if found is None or found.text is None:
        return None
    text = found.text.strip()
    return text or None
