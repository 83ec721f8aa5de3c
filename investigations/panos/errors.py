"""Errors raised by the PAN-OS XML API client and parsers.

    PanosError
    ├── PanosConnectionError   cannot reach the firewall (DNS, refused, TLS, reset)
    ├── PanosTimeout           a request timed out, or a log job ran past its deadline
    ├── PanosAuthError         the key or the credentials were refused (HTTP 403)
    ├── PanosApiError          the firewall answered status="error" (code, message)
    │   └── PanosJobError      a log job is unknown, expired or failed ("query timed out")
    └── PanosResponseError     the answer is not usable: not XML, truncated, a DTD or
                               entities, too large, or not the shape expected

Messages are written for an operator and never carry the API key, the password or a
request URL with parameters.
"""

from __future__ import annotations


class PanosError(Exception):
    """Base of every PAN-OS client error."""


class PanosConnectionError(PanosError):
    """The firewall could not be reached."""


class PanosTimeout(PanosError):
    """A request, or a log job, took longer than allowed."""


class PanosAuthError(PanosError):
    """The firewall refused the API key or the username and password."""


class PanosApiError(PanosError):
    """The firewall answered with status="error"."""

    def __init__(self, code: int | None, message: str) -> None:
        self.code = code
        self.message = message
        where = f" (code {code})" if code is not None else ""
        super().__init__(f"firewall error{where}: {message}")


class PanosJobError(PanosApiError):
    """A log job is unknown to the firewall, expired, or failed."""


class PanosResponseError(PanosError):
    """The firewall's answer could not be used."""
