"""A synchronous client for the PAN-OS XML API: log jobs, system info, IP tags.

Every request is a POST to `<base_url>/api/` with form data, and the key travels only
in the `X-PAN-KEY` header: neither the key nor a log query ever lands in a URL that a
proxy or the firewall's web server would log.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Callable, Container, Generator
from datetime import datetime, timezone, tzinfo
from types import TracebackType
from typing import NoReturn, Self, TypeVar

import httpx
from lxml import etree
from pydantic import SecretStr

from investigations.panos import commands
from investigations.panos.entries import SeenKey
from investigations.panos.errors import (
    PanosApiError,
    PanosAuthError,
    PanosConnectionError,
    PanosError,
    PanosJobError,
    PanosResponseError,
    PanosTimeout,
)
from investigations.panos.events import Event, LogType
from investigations.panos.models import LogAnswer, LogPage, SystemInfo, ThreatSignature
from investigations.panos.parse import (
    LogPageParser,
    error_message,
    parse_job_id,
    parse_key,
    parse_registered_ips,
    parse_response,
    parse_system_info,
    parse_threat_signature,
    parse_userid_response,
    parse_xml,
)
from investigations.panos.timeparse import format_panos_time

log = logging.getLogger(__name__)

MAX_PAGE_SIZE = 5000  # PAN-OS's own maximum for nlogs
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
_REGISTERED_IP_PAGE = 500
# Answers to an idempotent User-ID update that mean "already so" (pan-os-python ignores
# the same two): registering a tag twice, or removing one that is not there.
_BENIGN_UID_ERRORS = ("already exists, ignore", "does not exist, ignore unreg")
# A log page is parsed as it arrives, in pieces of this size: big enough that libxml2's
# per-chunk work is amortised (measured: 256 KiB beats 64 KiB), small enough to be noise
# beside the page.
PAGE_PIECE_BYTES = 256 * 1024
_T = TypeVar("_T")


def _verify_setting(verify: bool | str | os.PathLike[str]) -> bool | ssl.SSLContext:
    if isinstance(verify, bool):
        return verify
    # httpx 0.28 deprecates a CA path in `verify`; a context is the supported form.
    return ssl.create_default_context(cafile=os.fspath(verify))


class PanosClient:
    """The PAN-OS XML API of one firewall or Panorama."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        verify: bool | str | os.PathLike[str] = True,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        zone: tzinfo | None = None,
        job_deadline: float = 60.0,
        job_poll_interval: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        vsys: str | None = None,
    ) -> None:
        if not api_key and not (username and password):
            raise ValueError("PanosClient needs an API key, or a username and a password")
        url = httpx.URL(base_url.rstrip("/") + "/api/")
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("the firewall URL must be http(s)://host[:port]")
        if url.userinfo or url.query:
            raise ValueError("the firewall URL must carry no credentials and no query")
        self._url = url
        self._api_key = SecretStr(api_key) if api_key else None
        self._username = username
        self._password = SecretStr(password) if password else None
        self._key_is_generated = not api_key
        self._key_lock = threading.Lock()
        self._zone = zone
        self._learned_offset: timezone | None = None
        self._timeout = timeout
        self._job_deadline = job_deadline
        self._poll_interval = job_poll_interval
        self._max_bytes = max_response_bytes
        self._vsys = vsys
        self._http = httpx.Client(
            verify=_verify_setting(verify),
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        auth = "api-key" if not self._key_is_generated else "keygen"
        return f"PanosClient(url={str(self._url)!r}, auth={auth!r})"

    @property
    def host(self) -> str:
        """Return the firewall's host name, for messages."""
        return self._url.host

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------

    def _post(
        self,
        form: dict[str, str],
        headers: dict[str, str],
        sink: Callable[[bytes], None] | None = None,
    ) -> tuple[int, bytes]:
        """POST; return the status and body, or, for a 2xx answer, feed the body to `sink`.

        With a sink the body is never held whole (a log page is 16 MB): the returned
        body is then empty. Error answers (not 2xx) are always returned whole.
        """
        try:
            with self._http.stream("POST", self._url, data=form, headers=headers) as response:
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > self._max_bytes:
                    raise self._too_large()
                if sink is not None and not 200 <= response.status_code < 300:
                    sink = None
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes(PAGE_PIECE_BYTES if sink is not None else None):
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise self._too_large()
                    if sink is not None:
                        sink(chunk)
                    else:
                        chunks.append(chunk)
                return response.status_code, b"".join(chunks)
        # `from None` everywhere: httpx's exceptions hold the request, headers (key) included.
        except httpx.TimeoutException as exc:
            raise PanosTimeout(
                f"the firewall {self.host} did not answer in time "
                f"({type(exc).__name__}, limit {self._timeout:g} s)"
            ) from None
        except httpx.TransportError as exc:
            reason = str(exc)[:200] or type(exc).__name__
            raise PanosConnectionError(f"cannot reach the firewall {self.host}: {reason}") from None

    def _too_large(self) -> PanosResponseError:
        return PanosResponseError(
            f"the firewall's answer exceeds the {self._max_bytes // (1024 * 1024)} MiB limit"
        )

    def _checked(self, status: int, body: bytes) -> etree._Element:
        if not 200 <= status < 300:
            self._refuse_status(status, body)
        return parse_response(body)

    def _refuse_status(self, status: int, body: bytes) -> NoReturn:
        """Raise the error an answer that is not 2xx means."""
        if status == 403:
            raise PanosAuthError(
                f"the firewall {self.host} refused the API key or credentials "
                f"(HTTP 403: {_error_text(body)})"
            )
        if status >= 400:
            try:
                parse_response(body)
            except (PanosApiError, PanosAuthError):
                raise
            except PanosError:
                pass
            raise PanosResponseError(f"the firewall {self.host} answered HTTP {status}")
        raise PanosResponseError(f"the firewall {self.host} answered HTTP {status}")

    def _key(self) -> str:
        with self._key_lock:
            if self._api_key is None:
                self._api_key = SecretStr(self._keygen())
            return self._api_key.get_secret_value()

    def _keygen(self) -> str:
        if not (self._username and self._password):
            raise PanosAuthError("the API key was refused and there are no credentials")
        form = {
            "type": "keygen",
            "user": self._username,
            "password": self._password.get_secret_value(),
        }
        status, body = self._post(form, {})
        log.info("generated an API key for the firewall %s", self.host)
        return parse_key(self._checked(status, body))

    def _call(self, form: dict[str, str]) -> etree._Element:
        """POST one authenticated request; retry once with a fresh key if ours expired."""
        return self._authenticated(lambda key: self._checked(*self._post(form, {"X-PAN-KEY": key})))

    def _call_page(
        self, form: dict[str, str], log_type: LogType, known: Container[SeenKey] | None
    ) -> LogAnswer:
        """Like `_call`, for a log job's `action=get`: the answer is parsed as it arrives."""

        def attempt(key: str) -> LogAnswer:
            parser = LogPageParser(log_type, self._zone, known)
            status, body = self._post(form, {"X-PAN-KEY": key}, parser.feed)
            if not 200 <= status < 300:
                self._refuse_status(status, body)
            return parser.close()

        return self._authenticated(attempt)

    def _authenticated(self, attempt: Callable[[str], _T]) -> _T:
        key = self._key()
        try:
            return attempt(key)
        except PanosAuthError:
            if not self._key_is_generated:
                raise
            with self._key_lock:
                if self._api_key is not None and self._api_key.get_secret_value() == key:
                    self._api_key = None
        return attempt(self._key())

    def _op(self, cmd: str) -> etree._Element:
        form = {"type": "op", "cmd": cmd}
        if self._vsys:
            form["vsys"] = self._vsys
        return self._call(form)

    # -- device ----------------------------------------------------------------------

    def system_info(self) -> SystemInfo:
        """Return the device's host name, serial, model and software version."""
        return parse_system_info(self._op(commands.SYSTEM_INFO_CMD))

    def threat_signature(self, threat_id: int) -> ThreatSignature | None:
        """Return a threat signature from the firewall's content; None if it has none."""
        checked = commands.checked_threat_id(threat_id)
        return parse_threat_signature(self._op(commands.threat_cmd(checked)), checked)

    # -- time ------------------------------------------------------------------------

    def format_time(self, dt_utc: datetime) -> str:
        """Return an instant as the firewall's device-local time, for log queries."""
        return format_panos_time(dt_utc, self._zone or self._learned_offset)

    # -- logs ------------------------------------------------------------------------

    def iter_log_pages(
        self,
        log_type: LogType,
        query: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        direction: str = "forward",
        max_pages: int | None = None,
        known: Container[SeenKey] | None = None,
    ) -> Generator[LogPage, None, None]:
        """Yield pages of matching logs, one log job per page, while pages come back full.

        Entries whose (serial, seqno) is in `known` are left out of the pages (counted in
        `LogPage.skipped`): the caller vouches it already holds them.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if direction not in ("forward", "backward"):
            raise ValueError("direction must be 'forward' or 'backward'")
        if max_pages is not None and max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        return self._pages(
            LogType(log_type), query, page_size, direction, max_pages=max_pages, known=known
        )

    def _pages(
        self,
        log_type: LogType,
        query: str,
        page_size: int,
        direction: str,
        *,
        max_pages: int | None,
        known: Container[SeenKey] | None,
    ) -> Generator[LogPage, None, None]:
        skip = 0
        pages = 0
        while max_pages is None or pages < max_pages:
            answer = self._log_job(log_type, query, page_size, skip, direction, known=known)
            pages += 1
            yield LogPage(answer.events, skipped=answer.skipped)
            # Paging counts the answer's entries, skipped ones included. The answer is
            # let go before the next job: two pages of Events at once would double the
            # poll's peak memory.
            entries = answer.entries
            del answer
            if entries < page_size:
                return
            skip += entries

    def query_logs(
        self,
        log_type: LogType,
        query: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        direction: str = "forward",
        max_pages: int | None = None,
    ) -> list[Event]:
        """Return every matching log (all pages, up to `max_pages`)."""
        events: list[Event] = []
        for page in self.iter_log_pages(
            log_type, query, page_size=page_size, direction=direction, max_pages=max_pages
        ):
            events.extend(page)
        return events

    def _log_job(
        self,
        log_type: LogType,
        query: str,
        nlogs: int,
        skip: int,
        direction: str,
        *,
        known: Container[SeenKey] | None = None,
    ) -> LogAnswer:
        submitted = self._call(
            {
                "type": "log",
                "log-type": log_type.value,
                "query": query,
                "nlogs": str(nlogs),
                "skip": str(skip),
                "dir": direction,
            }
        )
        job_id = parse_job_id(submitted)
        deadline = time.monotonic() + self._job_deadline
        # Most jobs finish within a few tens of milliseconds; start polling fast and back off
        # to the configured interval so a slow job does not get hammered.
        wait = min(0.05, self._poll_interval)
        try:
            while True:
                answer = self._job_get(job_id, log_type, known)
                if answer.status.finished:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PanosTimeout(
                        f"log job {job_id} on {self.host} did not finish within "
                        f"{self._job_deadline:g} s"
                    )
                time.sleep(min(wait, remaining))
                wait = min(wait * 2, self._poll_interval)
        except BaseException:
            self._finish_job(job_id)
            raise
        if answer.offset is not None:
            self._learned_offset = answer.offset
        return answer

    def _job_get(
        self, job_id: int, log_type: LogType, known: Container[SeenKey] | None
    ) -> LogAnswer:
        form = {"type": "log", "action": "get", "job-id": str(job_id)}
        try:
            return self._call_page(form, log_type, known)
        except PanosJobError:
            raise
        except PanosApiError as exc:
            raise PanosJobError(exc.code, f"log job {job_id}: {exc.message}") from None

    def _finish_job(self, job_id: int) -> None:
        """Tell the firewall to drop an abandoned job; failing to is not an error."""
        try:
            self._call({"type": "log", "action": "finish", "job-id": str(job_id)})
        except PanosError as exc:
            log.debug("could not finish log job %s on %s: %s", job_id, self.host, exc)

    # -- IP tags (User-ID) -----------------------------------------------------------

    def _user_id(self, cmd: str) -> None:
        form = {"type": "user-id", "cmd": cmd}
        if self._vsys:
            form["vsys"] = self._vsys
        try:
            parse_userid_response(self._call(form))
        except PanosAuthError:
            raise
        except PanosApiError as exc:
            if exc.message.rstrip(". ").endswith(_BENIGN_UID_ERRORS):
                return
            raise

    def register_ip_tag(self, ip: str, tag: str, timeout_seconds: int) -> None:
        """Register `ip` to `tag` (0 = no timeout); registering twice is not an error."""
        self._user_id(commands.register_cmd(ip, tag, timeout_seconds))

    def unregister_ip_tag(self, ip: str, tag: str) -> None:
        """Remove `tag` from `ip`; removing an absent tag is not an error."""
        self._user_id(commands.unregister_cmd(ip, tag))

    def registered_ips(self, tag: str | None = None) -> dict[str, tuple[str, ...]]:
        """Return registered IP → tags, of every tag or only of `tag`."""
        if tag is not None:
            commands.checked_tag(tag)
        found: dict[str, tuple[str, ...]] = {}
        start = 1
        while True:
            page = parse_registered_ips(
                self._op(commands.registered_ip_cmd(tag, start=start, limit=_REGISTERED_IP_PAGE))
            )
            new = {ip: tags for ip, tags in page.items() if ip not in found}
            found.update(page)
            # A firewall without paging sends everything every time: stop when nothing is new.
            if len(page) < _REGISTERED_IP_PAGE or not new:
                return found
            start += len(page)


def _error_text(body: bytes) -> str:
    """Return the message of an error body, or a placeholder when it is not XML."""
    try:
        root = parse_xml(body)
    except PanosResponseError:
        return "no readable message"
    return error_message(root) if root.tag == "response" else "no readable message"
