"""The XML API's behaviour, independent of HTTP: one request's parameters in, a response out."""

from __future__ import annotations

import hmac
import threading
import xml.etree.ElementTree as ET  # only for Element and ParseError; parsing is defusedxml's
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.simulator import responses
from bot.simulator.filters import FilterSyntaxError, parse_filter
from bot.simulator.signatures import SIGNATURES
from bot.simulator.store import LogStore, StoreError, TagStore

# The simulator's documented credentials (INTERFACE.md): public by design, never a real secret.
DEFAULT_API_KEY = "panbot-simulator-key"
DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "admin"  # noqa: S105
MAX_NLOGS = 5000
DEFAULT_NLOGS = 20
MAX_JOBS = 500  # oldest unfinished jobs are dropped past this, as a firewall's job table is bounded


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """An HTTP status and body (XML unless a fault says otherwise)."""

    status: int
    body: str
    content_type: str = "application/xml; charset=UTF-8"


@dataclass
class _Job:
    entries: list[dict[str, str]]
    polls_left: int
    enqueued: datetime


class ApiError(Exception):
    """A request the firewall answers with a PAN-OS error response."""

    def __init__(self, message: str, code: str = "17", status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def request_kind(params: Mapping[str, str]) -> str:
    """Name a request for counters and fault matching: "op", "log", "log:get", ..."""
    kind = params.get("type", "")
    action = params.get("action", "")
    return f"{kind}:{action}" if kind == "log" and action else kind


class XmlApi:
    """Answers `/api/` requests from a log store and a tag store."""

    def __init__(
        self,
        *,
        store: LogStore,
        tags: TagStore,
        api_key: str,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        act_polls: int = 1,
    ) -> None:
        self.store = store
        self.tags = tags
        self._api_key = api_key
        self._username = username
        self._password = password
        self.act_polls = act_polls
        self.never_finish = False
        self._lock = threading.Lock()
        self._jobs: OrderedDict[int, _Job] = OrderedDict()
        self._next_job = 1

    def system_fields(self) -> dict[str, str]:
        """Return what `show system info` reports."""
        now = self.store.local(self.store.now())
        return {
            "hostname": self.store.device_name,
            "ip-address": "192.0.2.10",
            "netmask": "255.255.255.0",
            "model": "PA-VM",
            "family": "vm",
            "serial": self.store.serial,
            "sw-version": "11.1.4-h7",
            "app-version": "8912-9325",
            "threat-version": "8912-9325",
            "wildfire-version": "978214-981826",
            "time": now.strftime("%a %b %d %H:%M:%S %Y"),
            "uptime": "12 days, 3:04:05",
            "multi-vsys": "off",
            "operational-mode": "normal",
        }

    def handle(self, params: Mapping[str, str], header_key: str | None) -> ApiResponse:
        """Answer one request."""
        kind = params.get("type")
        if not kind:
            return ApiResponse(400, responses.error("Missing request type parameter.", code="400"))
        if kind == "keygen":
            return self._keygen(params)
        key = header_key if header_key is not None else params.get("key", "")
        if not hmac.compare_digest(key.encode(), self._api_key.encode()):
            return ApiResponse(403, responses.credential_error())
        try:
            if kind == "op":
                return ApiResponse(200, self._op(params.get("cmd", "")))
            if kind == "log":
                return ApiResponse(200, self._log(params))
            if kind == "user-id":
                return ApiResponse(200, self._user_id(params.get("cmd", "")))
            raise ApiError(f'Illegal value for parameter "type" [{kind}].', "400", 400)
        except ApiError as exc:
            return ApiResponse(exc.status, responses.error(str(exc), code=exc.code))

    def _keygen(self, params: Mapping[str, str]) -> ApiResponse:
        user_ok = hmac.compare_digest(params.get("user", "").encode(), self._username.encode())
        pass_ok = hmac.compare_digest(params.get("password", "").encode(), self._password.encode())
        if not (user_ok and pass_ok):
            return ApiResponse(403, responses.credential_error())
        return ApiResponse(200, responses.keygen(self._api_key))

    # ------------------------------------------------------------ op

    def _op(self, cmd: str) -> str:
        root = _parse_command(cmd)
        path = _path(root)
        if path[:3] == ["show", "system", "info"]:
            return responses.system_info(self.system_fields())
        if path[:2] == ["show", "clock"]:
            now = self.store.local(self.store.now())
            return responses.clock(now.strftime("%a %b %d %H:%M:%S %Z %Y"))
        if path[:3] == ["show", "object", "registered-ip"]:
            return self._registered(root)
        if path[:3] == ["show", "threat", "id"]:
            tid = (root.findtext("threat/id") or "").strip()
            if tid not in SIGNATURES:
                raise ApiError(f"threat id {tid} is not a known signature", "7")
            return responses.threat_info(SIGNATURES[tid])
        raise ApiError(f"{' -> '.join(path)} is unexpected", "17")

    def _registered(self, root: ET.Element) -> str:
        query = root.find("object/registered-ip")
        assert query is not None  # _op matched the path
        tag_entry = query.find("tag/entry")
        ip = query.findtext("ip")
        if tag_entry is not None:
            return responses.registered_ips(self.tags.registered(tag=tag_entry.get("name", "")))
        if ip is not None:
            return responses.registered_ips(self.tags.registered(ip=ip.strip()))
        if query.find("all") is not None:
            return responses.registered_ips(self.tags.registered())
        raise ApiError("show -> object -> registered-ip needs all, tag or ip", "17")

    # ------------------------------------------------------------ log

    def _log(self, params: Mapping[str, str]) -> str:
        action = params.get("action", "")
        if action in {"get", "finish"}:
            job_id = _int(params.get("job-id", ""), "job-id")
            return self._job_get(job_id) if action == "get" else self._job_finish(job_id)
        if action:
            raise ApiError(f'Illegal value for parameter "action" [{action}].', "18")
        return self._job_submit(params)

    def _job_submit(self, params: Mapping[str, str]) -> str:
        nlogs = _int(params.get("nlogs", str(DEFAULT_NLOGS)), "nlogs")
        if not 1 <= nlogs <= MAX_NLOGS:
            raise ApiError(f"nlogs must be between 1 and {MAX_NLOGS}", "18")
        skip = _int(params.get("skip", "0"), "skip")
        if skip < 0:
            raise ApiError("skip must not be negative", "18")
        direction = params.get("dir", "backward")
        if direction not in {"backward", "forward"}:
            raise ApiError(f"dir must be backward or forward, not {direction!r}", "18")
        try:
            flt = parse_filter(params.get("query", ""))
            entries = self.store.query(
                params.get("log-type", "traffic"),
                flt,
                nlogs=nlogs,
                skip=skip,
                newest_first=direction == "backward",
            )
        except FilterSyntaxError as exc:
            raise ApiError(f"Invalid query: {exc}", "18") from None
        except StoreError as exc:
            raise ApiError(str(exc), "18") from None
        with self._lock:
            job_id = self._next_job
            self._next_job += 1
            self._jobs[job_id] = _Job(entries, self.act_polls, self.store.now())
            while len(self._jobs) > MAX_JOBS:
                self._jobs.popitem(last=False)
        return responses.job_enqueued(job_id)

    def _job_get(self, job_id: int) -> str:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise ApiError(f"job {job_id} not found", "7")
            finished = not self.never_finish and job.polls_left <= 0
            if not finished:
                job.polls_left -= 1
        return responses.job_status(
            job_id,
            finished=finished,
            enqueued=self._clock(job.enqueued),
            now=self._clock(self.store.now()),
            entries=job.entries,
        )

    def _job_finish(self, job_id: int) -> str:
        with self._lock:
            if self._jobs.pop(job_id, None) is None:
                raise ApiError(f"job {job_id} not found", "7")
        return responses.job_finished(job_id)

    def open_jobs(self) -> int:
        """Return how many log jobs were submitted and not yet finished."""
        with self._lock:
            return len(self._jobs)

    def _clock(self, moment: datetime) -> str:
        return self.store.local(moment).strftime("%H:%M:%S")

    # ------------------------------------------------------------ user-id

    def _user_id(self, cmd: str) -> str:
        root = _parse_command(cmd)
        payload = root.find("payload")
        if root.tag != "uid-message" or payload is None:
            raise ApiError("cmd must be a uid-message with a payload", "18")
        operations: list[tuple[str, str, str | None, int, bool]] = []
        for section in payload:
            if section.tag not in {"register", "unregister"}:
                raise ApiError(f"uid-message payload element {section.tag!r} is not supported")
            for entry in section.findall("entry"):
                operations.extend(_tag_operations(section.tag, entry))
        try:
            self._apply(operations)
        except StoreError as exc:
            raise ApiError(str(exc), "18") from None
        return responses.uid_response(dict.fromkeys(section.tag for section in payload))

    def _apply(self, operations: list[tuple[str, str, str | None, int, bool]]) -> None:
        # Validate everything before changing anything, so a bad entry leaves no half-update.
        for op, ip, tag, timeout, _ in operations:
            if op == "register":
                self.tags.validate(ip, tag or "", timeout)
        for op, ip, tag, timeout, persistent in operations:
            if op == "register":
                self.tags.register(ip, tag or "", timeout=timeout, persistent=persistent)
            else:
                self.tags.unregister(ip, tag)


def _tag_operations(op: str, entry: ET.Element) -> list[tuple[str, str, str | None, int, bool]]:
    ip = entry.get("ip", "")
    persistent = entry.get("persistent", "0") == "1"
    members = entry.findall("tag/member")
    if op == "unregister" and not members:
        return [(op, ip, None, 0, False)]
    if not members:
        raise ApiError(f"register of {ip!r} names no tag", "18")
    return [
        (op, ip, (m.text or "").strip(), _int(m.get("timeout", "0"), "timeout"), persistent)
        for m in members
    ]


def _parse_command(cmd: str) -> ET.Element:
    if not cmd.strip():
        raise ApiError("Missing cmd parameter", "18")
    try:
        root: ET.Element = fromstring(cmd, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise ApiError(f"Malformed command: {exc}", "18") from None
    return root


def _path(root: ET.Element) -> list[str]:
    """Follow the first child at each level: `<show><system><info/>...` → show, system, info."""
    path, node = [root.tag], root
    while len(node) > 0:
        node = node[0]
        path.append(node.tag)
    return path


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(f"{name} must be a number, not {value!r}", "18") from None
