"""Sign requests as Slack does (v0 scheme), and re-export the request body builders."""

from __future__ import annotations

import hashlib
import hmac
import time

from bot.fakeslack.payloads import block_actions_body, slash_command_body, view_submission_body

__all__ = [
    "block_actions_body",
    "signed_request_headers",
    "slash_command_body",
    "view_submission_body",
]


def signed_request_headers(
    signing_secret: str, body: str, timestamp: int | None = None
) -> dict[str, str]:
    """Return the headers Slack sends with `body`: timestamp, v0 signature and content type."""
    ts = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{ts}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    content_type = (
        "application/json" if body.lstrip().startswith("{") else "application/x-www-form-urlencoded"
    )
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }
