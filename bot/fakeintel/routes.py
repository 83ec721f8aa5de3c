"""The five services' request handling over FakeIntel's records (auth, routes, lookups)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from bot.fakeintel import render
from bot.fakeintel.records import Cve, JvnNote, Sample, Signature

_HEX = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_JSON = "application/json"
_XML = "application/xml; charset=utf-8"
_RANGES = {"w": timedelta(days=7), "m": timedelta(days=31)}


@dataclass(frozen=True)
class Answer:
    """A response to send."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Call:
    """One request, split for the service that handles it."""

    method: str
    sub: str  # the path under the service's prefix
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Store:
    """A snapshot of the records, taken per request."""

    signatures: dict[str, Signature] = field(default_factory=dict)
    samples: dict[str, Sample] = field(default_factory=dict)
    cves: dict[str, Cve] = field(default_factory=dict)
    notes: dict[str, JvnNote] = field(default_factory=dict)


def find_sample(store: Store, digest: str) -> Sample | None:
    """Return the sample with this SHA-256, MD5 or SHA-1."""
    value = digest.lower()
    return next((s for s in store.samples.values() if value in (s.sha256, s.md5, s.sha1)), None)


def threatvault(store: Store, call: Call, api_key: str) -> Answer:
    """Answer `/threats?id=|sha256=|md5=|cve=`; 404 `{"success": false}` when unknown."""
    if call.headers.get("x-api-key") != api_key:
        return Answer(401, render.tv_error("Invalid API key"), _JSON)
    if call.method != "GET" or call.sub != "/threats":
        return Answer(404, render.tv_error("Not Found"), _JSON)
    not_found = Answer(404, render.tv_error("Not Found"), _JSON)
    if "id" in call.query:
        if not call.query["id"].isdigit():
            return Answer(400, render.tv_error("id: Value is invalid."), _JSON)
        sig = store.signatures.get(call.query["id"])
        if sig is None:
            return not_found
        return Answer(200, render.tv_found({sig.kind: [render.tv_signature(sig)]}), _JSON)
    digest = call.query.get("sha256") or call.query.get("md5")
    if digest is not None:
        sample = find_sample(store, digest)
        if sample is None:
            return not_found
        sigs = [store.signatures[s] for s in sample.signature_ids if s in store.signatures]
        return Answer(200, render.tv_found({"fileinfo": [render.tv_fileinfo(sample, sigs)]}), _JSON)
    if "cve" in call.query:
        data: dict[str, list[dict[str, Any]]] = {}
        for sig in store.signatures.values():
            if call.query["cve"].upper() in sig.cves:
                data.setdefault(sig.kind, []).append(render.tv_signature(sig))
        return Answer(200, render.tv_found(data), _JSON) if data else not_found
    return Answer(400, render.tv_error("Missing query parameter."), _JSON)


def wildfire(store: Store, call: Call, api_key: str) -> Answer:
    """Answer `POST /get/verdict` and `/get/report` (form: apikey, hash, format)."""
    if call.method != "POST":
        return Answer(405, b"Method Not Allowed")
    form = {k: v[0] for k, v in parse_qs(call.body.decode("utf-8", "replace")).items()}
    if form.get("apikey") != api_key:
        return Answer(401, b"Unauthorized")
    digest = form.get("hash", "")
    if _HEX.fullmatch(digest) is None:
        return Answer(421, b"Invalid arguments")
    sample = find_sample(store, digest)
    if call.sub == "/get/verdict":
        return Answer(200, render.wf_verdict(digest.lower(), sample), _XML)
    if call.sub == "/get/report":
        if sample is None or sample.wildfire_verdict is None:
            return Answer(404, b"Not Found")
        return Answer(200, render.wf_report(sample), _XML)
    return Answer(404, b"Not Found")


def virustotal(store: Store, call: Call, api_key: str) -> Answer:
    """Answer `GET /files/{sha256|md5|sha1}`; 404 NotFoundError when never seen."""
    if call.headers.get("x-apikey") != api_key:
        return Answer(401, render.vt_error("WrongCredentialsError", "Wrong API key"), _JSON)
    digest = call.sub.removeprefix("/files/")
    if call.method != "GET" or not call.sub.startswith("/files/") or _HEX.fullmatch(digest) is None:
        return Answer(400, render.vt_error("InvalidArgumentError", "Invalid file id"), _JSON)
    sample = find_sample(store, digest)
    if sample is None or sample.malicious is None:
        message = f'File "{digest}" not found'
        return Answer(404, render.vt_error("NotFoundError", message), _JSON)
    return Answer(200, render.vt_file(sample), _JSON)


def nvd(store: Store, call: Call, api_key: str) -> Answer:
    """Answer `?cveId=`: no vulnerabilities when unknown (the key is optional, not checked)."""
    cve_id = call.query.get("cveId", "").upper()
    if not cve_id:
        return Answer(404, b"")
    return Answer(200, render.nvd_answer(store.cves.get(cve_id), datetime.now(UTC)), _JSON)


def jvn(store: Store, call: Call, api_key: str) -> Answer:
    """Answer MyJVN's getVulnOverviewList and getVulnDetailInfo; a bare <Result> for no hits."""
    method = call.query.get("method", "")
    if method == "getVulnOverviewList":
        keyword = call.query.get("keyword", "").lower()
        now = datetime.now(UTC)
        notes = []
        for note in store.notes.values():
            text = " ".join((*note.cves, note.title, note.overview)).lower()
            # Like MyJVN: a partial match, and only the last week unless each range is "n".
            recent = all(
                (span := _RANGES.get(call.query.get(key, "w"))) is None or now - moment <= span
                for key, moment in (
                    ("rangeDatePublic", note.published),
                    ("rangeDatePublished", note.last_updated),
                    ("rangeDateFirstPublished", note.published),
                )
            )
            if keyword in text and recent:
                notes.append(note)
        if not notes:
            return Answer(200, render.jvn_result(method), _XML)
        return Answer(200, render.jvn_overview(notes, len(notes)), _XML)
    if method == "getVulnDetailInfo":
        found = store.notes.get(call.query.get("vulnId", ""))
        if found is None:
            return Answer(200, render.jvn_result(method), _XML)
        return Answer(200, render.jvn_detail(found), _XML)
    return Answer(200, render.jvn_result(method or "unknown", error="invalid method"), _XML)
